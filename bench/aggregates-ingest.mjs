// Ingest with the dashboard's aggregates against the collector without them, same run, same machine (issue 24:
// throughput may fall by at most 10 %): bench/collector.mjs (batches of 100) and bench/collector-single.mjs (one event
// per POST, as Python dlt sends) on DuckDB and PostgreSQL, alternating a build of the commit before the aggregates
// (`git archive` of BASE into a temp dir, this checkout's node_modules) and this checkout, ROUNDS times, so a
// neighbour's load on a shared machine falls on both sides alike. Prints each run and the ratio of the medians.
// The base is main just before the aggregates were merged (6a3bd7b, the first parent of be57c2b): the earlier default,
// f5b4a3d, predates issue 23's changes to the request path (plans, refused counts, validation), which then counted
// against the aggregates.
// Usage: node bench/aggregates-ingest.mjs [seconds, default 15] [rounds, default 2] [base commit, default 6a3bd7b]
import { execSync, spawn } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "./lib.mjs";

const SECONDS = process.argv[2] ?? "15";
const ROUNDS = Number(process.argv[3] ?? 2);
const BASE = process.argv[4] ?? "6a3bd7b";
const root = new URL("..", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "bench-base-"));
try {
  execSync(`git -C ${root} archive ${BASE} | tar -x -C ${dir}`, { stdio: "inherit", shell: "/bin/bash" });
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
  cpSync(join(root, "packages/telemetry/dist"), join(dir, "packages/telemetry/dist"), { recursive: true });
  execSync("npx tsc -b packages/collector packages/collector/public", { cwd: dir, stdio: "inherit" });
  const bins = { before: join(dir, "packages/collector/bin/dlt-collector.js"), aggregates: join(root, "packages/collector/bin/dlt-collector.js") };
  const run = (script, connections, bin) =>
    new Promise((resolve, reject) => {
      const c = spawn(process.execPath, [join(root, "bench", script), SECONDS, connections, "duckdb,pg1"], {
        env: { ...process.env, DLT_COLLECTOR_BIN: bin },
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      c.stdout.on("data", (d) => (out += d));
      c.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`${script} exited ${code}`))));
    });
  const results = {};
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [script, connections] of [
      ["collector.mjs", "8"],
      ["collector-single.mjs", "256"],
    ]) {
      for (const side of round % 2 ? ["before", "aggregates"] : ["aggregates", "before"]) {
        const out = await run(script, connections, bins[side]);
        for (const m of out.matchAll(/dlt-collector \(([^)]+)\)\s+([\d,]+) events\/s\s+p50 (\S+) ms\s+p99 (\S+) ms/g)) {
          const key = `${script} ${m[1]}`;
          (results[key] ??= { before: [], aggregates: [] })[side].push(Number(m[2].replaceAll(",", "")));
          console.log(`round ${round} ${key.padEnd(45)} ${side.padEnd(10)} ${m[2].padStart(8)} events/s  p50 ${m[3]} ms  p99 ${m[4]} ms`);
        }
      }
    }
  }
  console.log("\nmedian events/s, aggregates / before (target >= 0.90):");
  for (const [key, r] of Object.entries(results)) {
    const ratio = median(r.aggregates) / median(r.before);
    console.log(
      `  ${key.padEnd(45)} ${Math.round(median(r.before)).toLocaleString("en-US").padStart(8)} → ${Math.round(median(r.aggregates)).toLocaleString("en-US").padStart(8)}  ratio ${ratio.toFixed(2)} ${ratio >= 0.9 ? "OK" : "NOT MET"}`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
