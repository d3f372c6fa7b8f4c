// What enforcing a plan costs at ingest (issue 23): the same load against dlt-collector on DuckDB with `--plan none`
// (the baseline: every message stored as sent) and with the default plan, in alternating rounds of the same run, for
// two shapes of traffic: dlt-ts's batches of 100 events to /v1/batch, and Python dlt 1.x's one event per POST to the
// base URL (its `run_context` is stripped by the plan). Every event of the load fits the plan, so both sides store
// the same number of events. Reports the median events/s of each side and their ratio, and the collector's CPU time
// per event (all its threads, from /proc), which a busy machine moves much less than events/s: at saturation,
// events/s is the machine's cores over it.
// Also, in this process, the CPU cost of the ingest path per message (validate, the plan, stamp) without and with
// the default plan: the end-to-end figures move with the machine's load, this one much less.
// Target: the default plan reaches >= 0.9x of --plan none.
// Usage: node bench/collector-plan.mjs [seconds per round, default 5] [pairs of rounds, default 6] [connections, default 8]
//        [the other side's plan, default "default"; "none" measures the harness against itself: its noise floor]
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { collectorStores, startCollectorProcess as start } from "./fixtures/stores.mjs";
import { enforce, loadPlan, validateMessage } from "../packages/collector/dist/src/index.js";
import { stamp } from "../packages/collector/dist/src/stamp.js";

const SECONDS = Number(process.argv[2] ?? 5);
const ROUNDS = Number(process.argv[3] ?? 6);
const CONNECTIONS = Number(process.argv[4] ?? 8);
const OTHER = process.argv[5] ?? "default";
const here = (p) => new URL(p, import.meta.url).pathname;

/** CPU seconds a process has used (user + system, all its threads: DuckDB's too), from /proc. */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

async function round(plan, mode, dbArgs) {
  const { child, url } = await start([
    here("../packages/collector/bin/dlt-collector.js"),
    "--port",
    "0",
    "--no-dashboard",
    "--plan",
    plan,
    ...dbArgs,
  ]);
  const cpuBefore = cpuSeconds(child.pid);
  const result = await new Promise((resolve) => {
    const l = spawn(process.execPath, [here("./fixtures/load.mjs"), url, String(SECONDS), String(CONNECTIONS), mode], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    l.stdout.on("data", (d) => (out += d));
    l.on("exit", () => resolve(JSON.parse(out)));
  });
  const cpu = cpuSeconds(child.pid) - cpuBefore;
  child.kill("SIGTERM");
  await new Promise((r) => child.on("exit", r));
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${plan} ${mode}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  const events = (result.requests - result.non2xx) * (mode === "batch" ? 100 : 1);
  return { eps: events / result.duration, cpuUs: (cpu * 1e6) / events };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n) => Math.round(n).toLocaleString("en-US");

/** Messages/s through the ingest path of one message (as ingest.ts runs it), with `plan` or without. */
function ingestPath(plan, n) {
  const ctx = {
    ci_run: false,
    python: "3.12.3",
    cpu: 8,
    exec_info: ["docker"],
    os: { name: "Linux", version: "6.8.0-45-generic" },
    library: { name: "dlt", version: "1.26.0" },
    run_context: "dlt",
  };
  const text = JSON.stringify({
    anonymousId: "6e7f1a3b9c2d4e5f8a7b6c5d4e3f2a1b",
    event: "pipeline_load",
    properties: {
      elapsed: 3.52,
      success: true,
      destination_name: "duckdb",
      destination_type: "dlt.destinations.duckdb",
      pipeline_name_hash: "Ks7fRl6ejTBPd2rtFkw9Qw",
      dataset_name_hash: "mYlFJ0UkLWhWxMUKsbvITg",
      transaction_id: "8b1f5e0f0a6b1a8f1d6d0e4a9c2b7e31",
      event_category: "pipeline",
      event_name: "load",
    },
    context: ctx,
  });
  const now = Date.now();
  const iso = new Date(now).toISOString();
  // CPU time rather than wall time: other work on the machine moves the one much less than the other.
  const started = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const v = validateMessage(JSON.parse(text), "", "track");
    let m = v.message;
    if (plan) m = enforce(plan, m, v.type).message;
    stamp(m, v.type, now, iso, null);
  }
  const used = process.cpuUsage(started);
  return n / ((used.user + used.system) / 1e6);
}

const defaultPlan = loadPlan("default");
const cpuNone = [];
const cpuPlan = [];
ingestPath(defaultPlan, 50_000); // warm both paths up
ingestPath(undefined, 50_000);
for (let i = 0; i < 9; i++) {
  cpuNone.push(ingestPath(undefined, 100_000));
  cpuPlan.push(ingestPath(defaultPlan, 100_000));
}
console.log(
  `ingest path, in process (parse, validate, plan, stamp; a dlt 1.x pipeline_load): --plan none ${fmt(median(cpuNone))} messages/s, ` +
    `default plan ${fmt(median(cpuPlan))} messages/s; ratio ${(median(cpuPlan) / median(cpuNone)).toFixed(2)} (median of 9 rounds each)`,
);

console.log(`collector-plan: DuckDB, --plan none against --plan ${OTHER}, ${ROUNDS} pairs of rounds of ${SECONDS} s, ${CONNECTIONS} connections`);
const stores = await collectorStores(["duckdb"]);
try {
  for (const mode of ["batch", "single"]) {
    const none = [];
    const plan = [];
    const ratios = [];
    const cpuRatios = [];
    for (let i = 0; i < ROUNDS; i++) {
      // Pairs of rounds, each on a fresh file, which side goes first alternating: a drift of the machine's load falls
      // on both sides alike, and each pair's ratio compares rounds run back to back.
      const order = i % 2 === 0 ? ["none", "default"] : ["default", "none"];
      const got = {};
      for (const side of order) got[side] = await round(side === "none" ? "none" : OTHER, mode, await stores.list[0].args());
      none.push(got.none);
      plan.push(got.default);
      ratios.push(got.default.eps / got.none.eps);
      cpuRatios.push(got.none.cpuUs / got.default.cpuUs);
    }
    const ratio = median(ratios);
    const cpuRatio = median(cpuRatios);
    console.log(
      `${mode === "batch" ? "batches of 100 (dlt-ts)" : "one per POST (dlt 1.x)"}:\n` +
        `  events/s: --plan none ${fmt(median(none.map((r) => r.eps)))} [${none.map((r) => fmt(r.eps)).join(", ")}], ` +
        `--plan ${OTHER} ${fmt(median(plan.map((r) => r.eps)))} [${plan.map((r) => fmt(r.eps)).join(", ")}]; ` +
        `ratio (median of the pairs' [${ratios.map((r) => r.toFixed(2)).join(", ")}]) ${ratio.toFixed(2)} (target >= 0.9: ${ratio >= 0.9 ? "OK" : "NOT MET"})\n` +
        `  collector CPU per event: --plan none ${median(none.map((r) => r.cpuUs)).toFixed(1)} µs, --plan ${OTHER} ${median(plan.map((r) => r.cpuUs)).toFixed(1)} µs; ` +
        `events per CPU second, ratio (median of the pairs' [${cpuRatios.map((r) => r.toFixed(2)).join(", ")}]) ${cpuRatio.toFixed(2)} (target >= 0.9: ${cpuRatio >= 0.9 ? "OK" : "NOT MET"})`,
    );
  }
} finally {
  await stores.close();
}
