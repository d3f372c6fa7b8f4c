// Exit cost: wall time of `dlt telemetry` with telemetry on against (a) a refusing, (b) a hanging and (c) a slow
// (2 s) endpoint, and (d) with the circuit breaker open, each against telemetry off; runs interleaved, a fresh
// HOME per run (so every "on" run takes the full path: spool, then spawn of a sender).
// Targets: median ratio <= 1.05 for (a)-(c); <= 1.02 for (d).
// Usage: node bench/exit-cost.mjs [runs per side, default 30]
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median, refusedUrl, startEndpoint, timeProcess } from "./lib.mjs";

const RUNS = Number(process.argv[2] ?? 30);
const DLT = new URL("../packages/dlt/bin/dlt.js", import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), "bench-exit-"));
let n = 0;
function freshHome(breakerOpen) {
  const home = join(root, String(n++));
  mkdirSync(join(home, ".dlt", "telemetry"), { recursive: true });
  if (breakerOpen) {
    writeFileSync(join(home, ".dlt", "telemetry", "breaker.json"), JSON.stringify({ failures: 3, openUntil: Date.now() + 3600_000 }));
  }
  return { PATH: process.env.PATH, HOME: home, TMPDIR: root };
}

async function measure(label, url, target, breakerOpen = false) {
  const on = [];
  const off = [];
  const run = (disabled) =>
    timeProcess(process.execPath, [DLT, "telemetry"], {
      env: { ...freshHome(breakerOpen), RUNTIME__DLTHUB_TELEMETRY_ENDPOINT: url, ...(disabled ? { RUNTIME__DLTHUB_TELEMETRY: "false" } : {}) },
    });
  await run(false); // warm the file cache both ways
  await run(true);
  for (let i = 0; i < RUNS; i++) {
    on.push((await run(false)).ms);
    off.push((await run(true)).ms);
  }
  const ratio = median(on) / median(off);
  console.log(
    `${label.padEnd(32)} on ${median(on).toFixed(1)} ms  off ${median(off).toFixed(1)} ms  ratio ${ratio.toFixed(3)}  ` +
      `${ratio <= target ? "OK" : "OVER TARGET"} (<= ${target})`,
  );
}

console.log(`exit cost of \`dlt telemetry\`, median of ${RUNS} runs per side`);
const refused = await refusedUrl();
await measure("(a) endpoint refuses", refused, 1.05);
const hang = await startEndpoint("hang");
await measure("(b) endpoint never answers", hang.url, 1.05);
const slow = await startEndpoint("slow", 2000);
await measure("(c) endpoint answers after 2 s", slow.url, 1.05);
await measure("(d) breaker open (endpoint down)", refused, 1.02, true);
await hang.close();
await slow.close();
