// Collector throughput: a separate load process (autocannon) sends batches of 100 realistic dlt events for N
// seconds to (1) a bare node:http server that only parses the bodies (baseline) and (2) dlt-collector storing
// durably: in DuckDB, in PostgreSQL with one process, in PostgreSQL with --workers 2 (an embedded PostgreSQL on
// this machine, its durable defaults). Reports events/s, p50/p99 latency and the collector's RSS over the run
// (of all its processes).
// Targets (2 cores): >= 0.6 of the baseline's events/s, >= 100,000 events/s, p99 <= 50 ms, RSS flat.
// Usage: node bench/collector.mjs [seconds, default 20] [connections, default 8] [stores, default duckdb,pg1,pg2]
import { spawn } from "node:child_process";

const SECONDS = Number(process.argv[2] ?? 20);
const CONNECTIONS = Number(process.argv[3] ?? 8);
const STORES = (process.argv[4] ?? "duckdb,pg1,pg2").split(",");
const here = (p) => new URL(p, import.meta.url).pathname;

import { rssTreeMb, collectorStores, startCollectorProcess as start } from "./fixtures/stores.mjs";
const rssMb = rssTreeMb;

async function load(label, args) {
  const { child, url } = await start(args);
  const samples = [];
  const sampler = setInterval(() => samples.push(rssMb(child.pid)), 1000);
  const result = await new Promise((resolve) => {
    const l = spawn(process.execPath, [here("./fixtures/load.mjs"), url, String(SECONDS), String(CONNECTIONS)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    l.stdout.on("data", (d) => (out += d));
    l.on("exit", () => resolve(JSON.parse(out)));
  });
  clearInterval(sampler);
  child.kill("SIGTERM");
  await new Promise((r) => child.on("exit", r));
  const ok = result.requests - result.non2xx;
  const eps = (ok * 100) / result.duration;
  const third = Math.max(1, Math.floor(samples.length / 3));
  const early = samples.slice(0, third).reduce((a, b) => a + b, 0) / third;
  const late = samples.slice(-third).reduce((a, b) => a + b, 0) / third;
  console.log(
    `${label.padEnd(34)} ${Math.round(eps).toLocaleString("en-US")} events/s  p50 ${result.p50} ms  p99 ${result.p99} ms  ` +
      `non-2xx ${result.non2xx} errors ${result.errors}  RSS first third ${early.toFixed(0)} MB, last third ${late.toFixed(0)} MB, max ${Math.max(...samples).toFixed(0)} MB`,
  );
  return { eps, p99: result.p99, early, late };
}

console.log(`collector: ${SECONDS} s per side, ${CONNECTIONS} connections, 100 events per request`);
const base = await load("baseline (bare http + JSON.parse)", [here("./fixtures/bare-server.mjs")]);
const stores = await collectorStores(STORES);
try {
  for (const s of stores.list) {
    const col = await load(`dlt-collector (${s.label})`, [
      process.env["DLT_COLLECTOR_BIN"] ?? here("../packages/collector/bin/dlt-collector.js"),
      "--port",
      "0",
      ...(await s.args()),
    ]);
    const ratio = col.eps / base.eps;
    console.log(
      `  ratio ${ratio.toFixed(2)} (target >= 0.6: ${ratio >= 0.6 ? "OK" : "NOT MET"}); ` +
        `${col.eps >= 100_000 ? "OK" : "NOT MET"} >= 100,000 events/s; p99 ${col.p99 <= 50 ? "OK" : "NOT MET"} <= 50 ms; ` +
        `RSS ${col.late <= col.early * 1.2 + 20 ? "flat" : "GROWING"}`,
    );
  }
} finally {
  await stores.close();
}
