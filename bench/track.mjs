// track() on the hot path: calls/s enqueued, against a baseline in the same run that pushes the same event
// object onto a plain array. Then the capped path: the queue never grows past its cap. Target: >= 1,000,000/s.
// Usage: node bench/track.mjs [calls, default 1000000]
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTelemetry } from "@dlt-ts/telemetry";

const N = Number(process.argv[2] ?? 1_000_000);
const home = mkdtempSync(join(tmpdir(), "bench-track-"));
const options = (queueCap) => ({
  library: { name: "bench", version: "0" },
  configDirName: ".bench",
  envPrefix: "BENCH",
  defaultEndpoint: "http://127.0.0.1:9",
  settings: { section: "runtime", enabled: "t", endpoint: "e", writeKey: "k" },
  env: { HOME: home },
  queueCap,
  flushAt: Number.MAX_SAFE_INTEGER,
  handOffLifetimeMs: 1000,
});
const props = { destination_name: "duckdb", elapsed: 0.5, success: true };

function rate(fn) {
  fn(1000); // warm up
  const t0 = process.hrtime.bigint();
  fn(N);
  return N / (Number(process.hrtime.bigint() - t0) / 1e9);
}

const baseline = rate((n) => {
  const a = [];
  for (let i = 0; i < n; i++) a.push({ category: "pipeline", name: "load", properties: { ...props }, at: Date.now() });
  return a.length;
});
const enqueue = createTelemetry(options(N + 1000));
const enqueued = rate((n) => {
  for (let i = 0; i < n; i++) enqueue.track("pipeline", "load", props);
});
const capped = createTelemetry(options(1000));
const cappedRate = rate((n) => {
  for (let i = 0; i < n; i++) capped.track("pipeline", "load", props);
});
const stats = capped.stats();
const fmt = (x) => Math.round(x).toLocaleString("en-US");
console.log(`track(): baseline array push ${fmt(baseline)}/s`);
console.log(`  enqueued ${fmt(enqueued)}/s (ratio ${(enqueued / baseline).toFixed(2)})  ${enqueued >= 1e6 ? "OK" : "UNDER TARGET"} (>= 1,000,000/s)`);
console.log(
  `  capped queue ${fmt(cappedRate)}/s, queue ${stats.queued} <= cap 1000: ${stats.queued <= 1000 ? "OK" : "BROKEN"}, dropped ${fmt(stats.dropped)}`,
);
