// pipeline.run throughput: N nested records (a nested object and a 3-item list each: 1 parent + 3 child rows)
// through extract → normalize → load into DuckDB, against a baseline in the same run that appends the same rows,
// already flattened, with DuckDB's Appender. Each side runs in its own process; peak RSS is its maxRSS.
// Targets: >= 0.5 of the baseline's rows/s; peak RSS < 300 MB. CPU seconds (all threads) are printed too: on a
// machine shared with other work they move less than wall time, so their ratio is the steadier comparison.
// Usage: node bench/pipeline.mjs [N, default 1000000]
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const N = Number(process.argv[2] ?? 1_000_000);
const here = (p) => new URL(p, import.meta.url).pathname;

function side(script) {
  const dir = mkdtempSync(join(tmpdir(), "bench-pipeline-"));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [here(script), String(N)], {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        DLT_DATA_DIR: join(dir, "data"),
        RUNTIME__DLTHUB_TELEMETRY: "false",
        NODE_PATH: here("../node_modules"),
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`${script} exited ${code}`))));
  }).finally(() => rmSync(dir, { recursive: true, force: true })); // its DuckDB file is ~100 MB
}

const base = await side("./fixtures/pipeline-baseline.mjs");
const run = await side("./fixtures/pipeline-run.mjs");
const rate = (r) => (r.rows / r.ms) * 1000;
const fmt = (x) => Math.round(x).toLocaleString("en-US");
console.log(`pipeline: ${fmt(N)} nested records = ${fmt(base.rows)} rows (1 parent + 3 child rows each)`);
console.log(
  `  baseline (Appender, pre-flattened): ${fmt(rate(base))} rows/s, ${(base.ms / 1000).toFixed(1)} s, CPU ${(base.cpuMs / 1000).toFixed(1)} s, peak RSS ${base.maxRssMb.toFixed(0)} MB`,
);
console.log(
  `  pipeline.run: ${fmt(rate(run))} rows/s, ${(run.ms / 1000).toFixed(1)} s (extract ${run.elapsed.extract.toFixed(1)} s, ` +
    `normalize ${run.elapsed.normalize.toFixed(1)} s, load ${run.elapsed.load.toFixed(1)} s), CPU ${(run.cpuMs / 1000).toFixed(1)} s, peak RSS ${run.maxRssMb.toFixed(0)} MB`,
);
const ratio = rate(run) / rate(base);
console.log(
  `  ratio ${ratio.toFixed(2)} (${ratio >= 0.5 ? "OK" : "NOT MET"} >= 0.5); CPU ratio ${(base.cpuMs / run.cpuMs).toFixed(2)}; peak RSS ${run.maxRssMb < 300 ? "OK" : "NOT MET"} < 300 MB`,
);
