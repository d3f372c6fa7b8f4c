// Exit cost: wall time of `dlt telemetry` with telemetry on against a refusing, a hanging and a slow (2 s)
// endpoint, each against telemetry off, runs interleaved. Target: median ratio <= 1.05 in all three.
// Usage: node bench/exit-cost.mjs [runs per side, default 30]
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median, refusedUrl, startEndpoint, timeProcess } from "./lib.mjs";

const RUNS = Number(process.argv[2] ?? 30);
const DLT = new URL("../packages/dlt/bin/dlt.js", import.meta.url).pathname;
const home = mkdtempSync(join(tmpdir(), "bench-exit-"));
const base = { PATH: process.env.PATH, HOME: home, TMPDIR: home };

async function measure(label, url) {
  const on = [];
  const off = [];
  const env = { ...base, RUNTIME__DLTHUB_TELEMETRY_ENDPOINT: url };
  // Warm the file cache once each way.
  await timeProcess(process.execPath, [DLT, "telemetry"], { env });
  await timeProcess(process.execPath, [DLT, "telemetry"], { env: { ...env, RUNTIME__DLTHUB_TELEMETRY: "false" } });
  for (let i = 0; i < RUNS; i++) {
    on.push((await timeProcess(process.execPath, [DLT, "telemetry"], { env })).ms);
    off.push((await timeProcess(process.execPath, [DLT, "telemetry"], { env: { ...env, RUNTIME__DLTHUB_TELEMETRY: "false" } })).ms);
  }
  const ratio = median(on) / median(off);
  console.log(
    `${label.padEnd(28)} on ${median(on).toFixed(1)} ms  off ${median(off).toFixed(1)} ms  ratio ${ratio.toFixed(3)}  ${ratio <= 1.05 ? "OK" : "OVER TARGET"} (<= 1.05)`,
  );
  return ratio;
}

console.log(`exit cost of \`dlt telemetry\`, median of ${RUNS} runs per side`);
const refused = await refusedUrl();
await measure("(a) endpoint refuses", refused);
const hang = await startEndpoint("hang");
await measure("(b) endpoint never answers", hang.url);
const slow = await startEndpoint("slow", 2000);
await measure("(c) endpoint answers after 2s", slow.url);
await hang.close();
await slow.close();
