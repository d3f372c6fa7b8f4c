// Runs every benchmark in turn (`npm run bench`). Each prints its figures and its ratio to a baseline measured
// in the same run; see bench/RESULTS.md for recorded figures.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const scripts = [
  ["track.mjs"],
  ["startup.mjs"],
  ["settings-read.mjs"],
  ["exit-cost.mjs"],
  ["first-run.mjs"],
  ["delivery.mjs"],
  ["pipeline.mjs"],
  ["collector.mjs"],
  ["collector-single.mjs"],
  ["collector-slow.mjs"],
  ["collector-metrics.mjs"],
  ["collector-plan.mjs"],
  ["collector-crowd.mjs"],
  ["dashboard.mjs"],
  ["dashboard.mjs", "1000000", "7", "postgres"],
  // Ingest with the aggregates against the commit before them (needs git): issue 24.
  ["aggregates-ingest.mjs"],
  ["postgres-write.mjs"],
  ["migrate.mjs"],
  ["spool.mjs"],
];
for (const [name, ...args] of scripts) {
  const file = new URL(`./${name}`, import.meta.url).pathname;
  if (!existsSync(file)) continue;
  console.log(`\n== bench/${name}`);
  const r = spawnSync(process.execPath, [file, ...args], { stdio: "inherit" });
  if (r.status !== 0) console.log(`bench/${name} exited with ${r.status}`);
}
