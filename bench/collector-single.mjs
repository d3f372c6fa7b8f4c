// Collector under Python dlt's own traffic: one event per POST to the base URL (no type, messageId or timestamp;
// Basic auth; `user-agent: dlt/1.26.0`), from a separate autocannon process with 256 connections, against (1) a
// bare node:http server that only parses the bodies (baseline, same run) and (2) dlt-collector storing durably in
// DuckDB, in PostgreSQL with one process and with --workers 2 (embedded PostgreSQL, durable defaults). dlt gives up on a request after 1 s (anon_tracker.py: 1 s connect, 1 s read, no retry), so p99 and the
// worst latency are what decide whether events are lost. Reports events/s, p50/p99/max and the collector's RSS.
// Usage: node bench/collector-single.mjs [seconds, default 20] [connections, default 256] [stores, default duckdb,pg1,pg2]
import { spawn } from "node:child_process";
import { rssTreeMb, collectorStores, startCollectorProcess as start } from "./fixtures/stores.mjs";

const SECONDS = Number(process.argv[2] ?? 20);
const CONNECTIONS = Number(process.argv[3] ?? 256);
const STORES = (process.argv[4] ?? "duckdb,pg1,pg2").split(",");
const KEY = "bench-key";
const here = (p) => new URL(p, import.meta.url).pathname;

const rssMb = rssTreeMb;

async function load(label, args) {
  const { child, url } = await start(args);
  const samples = [];
  const sampler = setInterval(() => samples.push(rssMb(child.pid)), 1000);
  const result = await new Promise((resolve) => {
    const l = spawn(process.execPath, [here("./fixtures/load.mjs"), url, String(SECONDS), String(CONNECTIONS), "single", KEY], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    l.stdout.on("data", (d) => (out += d));
    l.on("exit", () => resolve(JSON.parse(out)));
  });
  clearInterval(sampler);
  child.kill("SIGTERM");
  await new Promise((r) => child.on("exit", r));
  const eps = (result.requests - result.non2xx) / result.duration;
  console.log(
    `${label.padEnd(34)} ${Math.round(eps).toLocaleString("en-US")} events/s  p50 ${result.p50} ms  p99 ${result.p99} ms  max ${result.max} ms  ` +
      `non-2xx ${result.non2xx} errors ${result.errors} timeouts ${result.timeouts}  RSS max ${Math.max(...samples).toFixed(0)} MB`,
  );
  return { eps, ...result };
}

console.log(`collector, single events as dlt sends them: ${SECONDS} s per side, ${CONNECTIONS} connections`);
const base = await load("baseline (bare http + JSON.parse)", [here("./fixtures/bare-server.mjs")]);
const stores = await collectorStores(STORES);
try {
  for (const s of stores.list) {
    const col = await load(`dlt-collector (${s.label})`, [
      process.env["DLT_COLLECTOR_BIN"] ?? here("../packages/collector/bin/dlt-collector.js"),
      "--port",
      "0",
      ...(await s.args()),
      "--write-key",
      KEY,
    ]);
    console.log(
      `  ratio ${(col.eps / base.eps).toFixed(2)} of the baseline's events/s; p99 ${col.p99} ms against ${base.p99} ms ` +
        `(${col.p99 < 1000 ? "under" : "OVER"} dlt's 1 s timeout; worst ${col.max} ms)`,
    );
  }
} finally {
  await stores.close();
}
