// Start-up cost in CPU instructions, counted by valgrind's callgrind: a figure that holds on a machine shared with
// other work, where wall-time start-up (bench/startup.mjs) moves by more than the 5 ms it judges. Sides: `node -e 0`,
// a CommonJS host that requires @dlt-ts/telemetry and creates a client, an ES module host that imports it (each
// with a global config.toml present, as in bench/startup.mjs). Use it to compare two versions of the library (run
// it in each checkout): the instructions the library adds over `node -e 0`, and their ratio. Instructions are not
// milliseconds (V8's background threads count too, and overlap in wall time), so the 5 ms target itself is judged
// by bench/startup.mjs on a quiet machine.
// Usage: node bench/startup-instructions.mjs [runs per side, default 5]   (needs valgrind)
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "./lib.mjs";

const RUNS = Number(process.argv[2] ?? 5);
const home = mkdtempSync(join(tmpdir(), "bench-startup-instr-"));
mkdirSync(join(home, ".dlt"));
writeFileSync(join(home, ".dlt", "config.toml"), '[runtime]\ndlthub_telemetry = true\nlog_level = "INFO"\n');
const env = { PATH: process.env.PATH, HOME: home, TMPDIR: home, RUNTIME__DLTHUB_TELEMETRY_ENDPOINT: "http://127.0.0.1:9" };
const fixture = (f) => new URL(`./fixtures/${f}`, import.meta.url).pathname;
const sides = {
  "node -e 0": ["-e", "0"],
  "CommonJS host (require)": [fixture("startup-telemetry.cjs")],
  "ES module host (import)": [fixture("startup-telemetry.mjs")],
};

function instructions(args) {
  const r = spawnSync("valgrind", ["--tool=callgrind", "--callgrind-out-file=/dev/null", process.execPath, ...args], { env, encoding: "utf8" });
  const m = /Collected : (\d+)/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`valgrind ${args.join(" ")}: exit ${r.status}\n${r.stderr.slice(-500)}`);
  return Number(m[1]);
}

try {
  const counts = {};
  for (const [name, args] of Object.entries(sides)) {
    counts[name] = [];
    for (let i = 0; i < RUNS; i++) counts[name].push(instructions(args));
  }
  const bare = median(counts["node -e 0"]);
  console.log(`start-up in instructions (callgrind, median of ${RUNS}); node -e 0: ${(bare / 1e6).toFixed(1)} M instructions`);
  for (const [name, xs] of Object.entries(counts)) {
    if (name === "node -e 0") continue;
    const m = median(xs);
    console.log(
      `  ${name}: ${(m / 1e6).toFixed(1)} M (ratio ${(m / bare).toFixed(3)}), the library's cost ${((m - bare) / 1e6).toFixed(1)} M instructions; spread of its runs ${((Math.max(...xs) - Math.min(...xs)) / 1e6).toFixed(1)} M`,
    );
  }
} finally {
  rmSync(home, { recursive: true, force: true });
}
