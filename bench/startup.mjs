// Start-up cost: importing @dlt-ts/telemetry and resolving settings (with a global config.toml present),
// in ms over a bare `node -e 0` (the baseline). Also shown: the cost over an empty ES module, i.e.
// without Node's own ES-module loader start-up, which every ESM host pays anyway, and the cost for a CommonJS host
// (`require`, the package's CommonJS build). Target: <= 5 ms.
// Usage: node bench/startup.mjs [runs per side, default 40]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median, timeProcess } from "./lib.mjs";

const RUNS = Number(process.argv[2] ?? 40);
const home = mkdtempSync(join(tmpdir(), "bench-startup-"));
mkdirSync(join(home, ".dlt"));
writeFileSync(join(home, ".dlt", "config.toml"), '[runtime]\ndlthub_telemetry = true\nlog_level = "INFO"\n');
const empty = new URL("./fixtures/startup-empty.mjs", import.meta.url).pathname;
const lib = new URL("./fixtures/startup-telemetry.mjs", import.meta.url).pathname;
const host = new URL("./fixtures/startup-host.mjs", import.meta.url).pathname;
const libCjs = new URL("./fixtures/startup-telemetry.cjs", import.meta.url).pathname;
const env = { PATH: process.env.PATH, HOME: home, RUNTIME__DLTHUB_TELEMETRY_ENDPOINT: "http://127.0.0.1:9" };

const bare = [];
const esm = [];
const hostEsm = [];
const withLib = [];
const withLibCjs = [];
for (const args of [["-e", "0"], [empty], [host], [lib], [libCjs]]) await timeProcess(process.execPath, args, { env });
for (let i = 0; i < RUNS; i++) {
  bare.push((await timeProcess(process.execPath, ["-e", "0"], { env })).ms);
  esm.push((await timeProcess(process.execPath, [empty], { env })).ms);
  hostEsm.push((await timeProcess(process.execPath, [host], { env })).ms);
  withLib.push((await timeProcess(process.execPath, [lib], { env })).ms);
  withLibCjs.push((await timeProcess(process.execPath, [libCjs], { env })).ms);
}
const delta = median(withLib) - median(bare);
const deltaEsm = median(withLib) - median(esm);
console.log(
  `start-up (median of ${RUNS}): node -e 0 ${median(bare).toFixed(1)} ms, empty ES module ${median(esm).toFixed(1)} ms, ` +
    `import + resolve settings ${median(withLib).toFixed(1)} ms`,
);
console.log(
  `  cost over node -e 0: ${delta.toFixed(2)} ms (ratio ${(median(withLib) / median(bare)).toFixed(3)})  ${delta <= 5 ? "OK" : "OVER TARGET"} (<= 5 ms)`,
);
console.log(`  cost over an empty ES module: ${deltaEsm.toFixed(2)} ms`);
console.log(`  cost over an ES module host that already loads node:fs/os/path/url: ${(median(withLib) - median(hostEsm)).toFixed(2)} ms`);
const deltaCjs = median(withLibCjs) - median(bare);
console.log(
  `  CommonJS host (require): ${median(withLibCjs).toFixed(1)} ms, cost over node -e 0: ${deltaCjs.toFixed(2)} ms ` +
    `(ratio ${(median(withLibCjs) / median(bare)).toFixed(3)})  ${deltaCjs <= 5 ? "OK" : "OVER TARGET"} (<= 5 ms)`,
);
rmSync(home, { recursive: true, force: true });
