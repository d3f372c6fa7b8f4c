// Offline, then back: N runs of `dlt telemetry` while the endpoint refuses (one HOME, as one user's machine), then
// the endpoint comes back at the same address, the breaker's open period is over, and one more run starts a
// sender. Target: every event delivered, none twice (caps not reached), spool disk and sender RSS bounded.
// Usage: node bench/spool.mjs [runs, default 1000]
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { refusedUrl, startEndpoint, timeProcess } from "./lib.mjs";

const RUNS = Number(process.argv[2] ?? 1000);
const DLT = new URL("../packages/dlt/bin/dlt.js", import.meta.url).pathname;
const home = mkdtempSync(join(tmpdir(), "bench-spool-"));
const url = await refusedUrl();
const env = { PATH: process.env.PATH, HOME: home, TMPDIR: home, RUNTIME__DLTHUB_TELEMETRY_ENDPOINT: url };
const tdir = join(home, ".dlt", "telemetry");
const spool = join(tdir, "spool");
const spoolBytes = () => (existsSync(spool) ? readdirSync(spool).reduce((s, f) => s + statSync(join(spool, f)).size, 0) : 0);
const readJson = (f) => {
  try {
    return JSON.parse(readFileSync(f, "utf8"));
  } catch {
    return undefined;
  }
};

let maxBytes = 0;
const t0 = Date.now();
for (let i = 0; i < RUNS; i++) {
  await timeProcess(process.execPath, [DLT, "telemetry"], { env });
  if (i % 50 === 0) maxBytes = Math.max(maxBytes, spoolBytes());
}
maxBytes = Math.max(maxBytes, spoolBytes());
const breaker = readJson(join(tdir, "breaker.json")) ?? { failures: 0, openUntil: 0 };
console.log(
  `spool: ${RUNS} runs offline in ${((Date.now() - t0) / 1000).toFixed(1)} s; breaker ${breaker.openUntil > Date.now() ? "open" : "closed"} ` +
    `after ${breaker.failures} failed sender runs; spool ${readdirSync(spool).length} files, max ${(maxBytes / 1024).toFixed(0)} KB on disk`,
);

// Wait (bounded) for the last offline sender to give up and release its claims.
const deadline = Date.now() + 40_000;
while (Date.now() < deadline && (existsSync(join(tdir, "sender.lock")) || readdirSync(spool).some((f) => f.includes(".claimed-")))) {
  await new Promise((r) => setTimeout(r, 200));
}
const port = Number(new URL(url).port);
const rx = await startEndpoint("ok", 0, port);
// The breaker's open period is over (simulated: an hour does not fit in a benchmark).
writeFileSync(join(tdir, "breaker.json"), JSON.stringify({ ...breaker, openUntil: Date.now() - 1 }));
await timeProcess(process.execPath, [DLT, "telemetry"], { env });
let peakRss = 0;
const drainStart = Date.now();
while (rx.ids.size < RUNS + 1 && Date.now() - drainStart < 60_000) {
  const lock = readJson(join(tdir, "sender.lock"));
  if (lock) {
    try {
      const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${lock.pid}/status`, "utf8"));
      if (hwm) peakRss = Math.max(peakRss, Number(hwm[1]) * 1024);
    } catch {}
  }
  await new Promise((r) => setTimeout(r, 50));
}
const twice = [...rx.ids.values()].filter((c) => c > 1).length;
const dropped = existsSync(join(tdir, "dropped.log"))
  ? readFileSync(join(tdir, "dropped.log"), "utf8")
      .split("\n")
      .reduce((s, l) => s + (Number(l) || 0), 0)
  : 0;
const all = rx.ids.size === RUNS + 1 && twice === 0;
console.log(
  `  back online: ${rx.ids.size}/${RUNS + 1} events delivered in ${((Date.now() - drainStart) / 1000).toFixed(1)} s in ${rx.requests} requests, ` +
    `${twice} twice, ${dropped} dropped; sender peak RSS ${(peakRss / 1048576).toFixed(0)} MB  ${all ? "OK" : "SHORT OF TARGET"}`,
);
await rx.close();
