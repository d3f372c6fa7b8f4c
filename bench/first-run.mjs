// What `first_run_of_version` adds to the hand-off at exit (issue 26), in-process and without a spawn (the breaker is
// open, so `shutdown()` builds the message, decides the flag and writes the spool file, nothing else): a client
// without the option (the baseline), with it on a machine that already ran this version (one lstat), and on a fresh
// machine (the marker's folder and its exclusive create). Sides interleaved, a fresh data dir per run.
// Usage: node bench/first-run.mjs [runs per side, default 300]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTelemetry } from "@dlt-ts/telemetry";
import { median } from "./lib.mjs";

const RUNS = Number(process.argv[2] ?? 300);
// Each client registers its exit hook (the hand-off); hundreds of clients in one process are this script's doing.
process.setMaxListeners(0);
const root = mkdtempSync(join(tmpdir(), "bench-first-run-"));
const options = {
  library: { name: "dlt-ts", version: "0.1.0" },
  configDirName: ".dlt",
  envPrefix: "DLT",
  defaultEndpoint: "http://127.0.0.1:9",
  settings: {
    section: "runtime",
    enabled: "dlthub_telemetry",
    endpoint: "dlthub_telemetry_endpoint",
    writeKey: "dlthub_telemetry_segment_write_key",
  },
};
let n = 0;
/** A data dir with the breaker open; `ranBefore`: this version already sent its first event here. */
function machine(ranBefore) {
  const dataDir = join(root, String(n++));
  mkdirSync(join(dataDir, "telemetry", "first-run"), { recursive: true });
  writeFileSync(join(dataDir, "telemetry", "breaker.json"), JSON.stringify({ failures: 3, openUntil: Date.now() + 3600_000 }));
  if (ranBefore) writeFileSync(join(dataDir, "telemetry", "first-run", "dlt-ts@0.1.0"), "x\n");
  return { HOME: root, DLT_DATA_DIR: dataDir, RUNTIME__DLTHUB_TELEMETRY_ENDPOINT: "http://127.0.0.1:9" };
}

async function once(firstRunOfVersion, ranBefore) {
  const t = createTelemetry({ ...options, firstRunOfVersion, env: machine(ranBefore) });
  t.track("command", "telemetry", { elapsed: 0.1, success: true });
  const started = performance.now();
  await t.shutdown();
  return performance.now() - started;
}

const sides = {
  "without first_run_of_version (baseline)": [false, false],
  "with it, this version ran here before": [true, true],
  "with it, a fresh machine": [true, false],
};
const times = Object.fromEntries(Object.keys(sides).map((k) => [k, []]));
try {
  for (let i = 0; i < 20; i++) for (const [f, r] of Object.values(sides)) await once(f, r); // warm-up
  for (let i = 0; i < RUNS; i++) for (const [name, [f, r]] of Object.entries(sides)) times[name].push(await once(f, r));
  const base = median(times["without first_run_of_version (baseline)"]);
  console.log(`shutdown() with the breaker open (no spawn), median of ${RUNS} runs per side`);
  for (const [name, xs] of Object.entries(times)) {
    console.log(`  ${name.padEnd(42)} ${(median(xs) * 1000).toFixed(0)} µs  ratio ${(median(xs) / base).toFixed(3)}`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
