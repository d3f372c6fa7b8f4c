// Exit cost: wall time of `dlt telemetry` with telemetry on against (a) a refusing, (b) a hanging and (c) a slow
// (2 s) endpoint, and (d) with the circuit breaker open, each against telemetry off; runs interleaved, a fresh
// HOME per run (so every "on" run takes the full path: spool, then spawn of a sender).
// Targets: median ratio <= 1.05 for (a)-(c); <= 1.02 for (d).
// The verdict uses the median of paired differences (each "on" run against the "off" run next to it), which is
// far less noisy on a shared 2-core machine than the ratio of two medians (also printed).
// Usage: node bench/exit-cost.mjs [runs per side, default 40]
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median, refusedUrl, startEndpoint, timeProcess } from "./lib.mjs";

const RUNS = Number(process.argv[2] ?? 40);
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
  const diffs = [];
  // Each run starts once the previous run's detached sender has booted (~60 ms of CPU at low priority), so a
  // run is not charged for its predecessor's background work; both sides get the same pause.
  const settle = () => new Promise((r) => setTimeout(r, 250));
  for (let i = 0; i < RUNS; i++) {
    // Alternate which side goes first, so drift and the previous run's sender weigh on both sides alike.
    const onFirst = i % 2 === 0;
    await settle();
    const a = (await run(!onFirst)).ms;
    await settle();
    const b = (await run(onFirst)).ms;
    const [tOn, tOff] = onFirst ? [a, b] : [b, a];
    on.push(tOn);
    off.push(tOff);
    diffs.push(tOn - tOff);
  }
  const ratio = median(on) / median(off);
  const paired = 1 + median(diffs) / median(off);
  console.log(
    `${label.padEnd(32)} on ${median(on).toFixed(1)} ms  off ${median(off).toFixed(1)} ms  ratio of medians ${ratio.toFixed(3)}, ` +
      `median paired cost ${median(diffs).toFixed(2)} ms (ratio ${paired.toFixed(3)})  ${paired <= target ? "OK" : "OVER TARGET"} (<= ${target})`,
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
