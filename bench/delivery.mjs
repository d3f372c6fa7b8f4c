// Delivery: N back-to-back `dlt telemetry` runs against a healthy loopback receiver. Each run's event is handed
// off at exit to a detached sender. Target: >= 99.8 % of events arrive, none twice.
// Usage: node bench/delivery.mjs [runs, default 500]
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEndpoint, timeProcess } from "./lib.mjs";

const RUNS = Number(process.argv[2] ?? 500);
const DLT = new URL("../packages/dlt/bin/dlt.js", import.meta.url).pathname;
const home = mkdtempSync(join(tmpdir(), "bench-delivery-"));
const rx = await startEndpoint("ok");
const env = { PATH: process.env.PATH, HOME: home, TMPDIR: home, RUNTIME__DLTHUB_TELEMETRY_ENDPOINT: rx.url };

const t0 = Date.now();
let failed = 0;
for (let i = 0; i < RUNS; i++) {
  const r = await timeProcess(process.execPath, [DLT, "telemetry"], { env });
  if (r.code !== 0) failed++;
}
const ranFor = (Date.now() - t0) / 1000;
// Wait for the last senders: until every event is in, or no new one came for 10 s (bounded).
let last = -1;
let idleSince = Date.now();
while (rx.ids.size < RUNS && Date.now() - idleSince < 10_000) {
  if (rx.ids.size !== last) {
    last = rx.ids.size;
    idleSince = Date.now();
  }
  await new Promise((r) => setTimeout(r, 100));
}
const twice = [...rx.ids.values()].filter((n) => n > 1).length;
const share = (100 * rx.ids.size) / RUNS;
console.log(
  `delivery: ${RUNS} runs in ${ranFor.toFixed(1)} s (${failed} non-zero exits); ${rx.ids.size} events arrived ` +
    `(${share.toFixed(2)} %), ${twice} twice  ${share >= 99.8 && twice === 0 ? "OK" : "UNDER TARGET"} (>= 99.8 %, none twice)`,
);
await rx.close();
