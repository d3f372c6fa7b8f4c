// What metrics cost the hot path: dlt-collector on DuckDB without a metrics port (nothing is counted) against the
// same with --metrics-port and a scraper reading /metrics every second (Prometheus scrapes every 15-60 s: this is
// harsher), in the same run, alternating A/B rounds so the machine's drift falls on both. Two loads: single events
// at 256 connections as Python dlt sends them, and batches of 100 at 8 connections. Besides events/s, the
// collector's own CPU time per event (from /proc): it holds when other work shares the machine, events/s does not.
// Usage: node bench/collector-metrics.mjs [seconds per round, default 8] [rounds, default 3]
import { spawn } from "node:child_process";
import { readFileSync, rmSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCollectorProcess as start } from "./fixtures/stores.mjs";

const SECONDS = Number(process.argv[2] ?? 8);
const ROUNDS = Number(process.argv[3] ?? 3);
const KEY = "bench-key";
const here = (p) => new URL(p, import.meta.url).pathname;
/** CPU seconds (user + system) the process has used: per event, it is what metrics cost, whatever else runs. */
const cpuSeconds = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
const dir = mkdtempSync(join(tmpdir(), "bench-metrics-"));

async function round(metrics, mode, connections, n) {
  const db = join(dir, `${metrics ? "on" : "off"}-${mode}-${n}.duckdb`);
  const { child, url, stdout } = await start([
    here("../packages/collector/bin/dlt-collector.js"),
    "--port",
    "0",
    "--db",
    db,
    ...(mode === "single" ? ["--write-key", KEY] : []),
    ...(metrics ? ["--metrics-port", "0"] : []),
  ]);
  let scraper;
  let scrapes = 0;
  if (metrics) {
    const deadline = Date.now() + 10_000;
    let m;
    while (!(m = /metrics: (\S+)/.exec(stdout())) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const metricsUrl = m?.[1];
    scraper = setInterval(
      () =>
        void fetch(metricsUrl)
          .then((r) => r.text())
          .then(
            () => scrapes++,
            () => undefined,
          ),
      1000,
    );
  }
  const cpu0 = cpuSeconds(child.pid);
  const result = await new Promise((resolve) => {
    const l = spawn(process.execPath, [here("./fixtures/load.mjs"), url, String(SECONDS), String(connections), mode, KEY], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    l.stdout.on("data", (d) => (out += d));
    l.on("exit", () => resolve(JSON.parse(out)));
  });
  clearInterval(scraper);
  const cpu = cpuSeconds(child.pid) - cpu0;
  child.kill("SIGTERM");
  await new Promise((r) => child.on("exit", r));
  const perRequest = mode === "batch" ? 100 : 1;
  const events = (result.requests - result.non2xx) * perRequest;
  return { eps: events / result.duration, cpuUsPerEvent: (cpu * 1e6) / events, p99: result.p99, scrapes };
}

console.log(`collector metrics' cost: ${ROUNDS} rounds of ${SECONDS} s per side, DuckDB, metrics off then on, alternating`);
try {
  for (const [mode, connections] of [
    ["single", 256],
    ["batch", 8],
  ]) {
    const off = [];
    const on = [];
    for (let i = 0; i < ROUNDS; i++) {
      off.push(await round(false, mode, connections, i));
      on.push(await round(true, mode, connections, i));
    }
    const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const show = (rs) =>
      `${Math.round(mean(rs.map((r) => r.eps))).toLocaleString("en-US")} events/s [${rs.map((r) => Math.round(r.eps)).join(", ")}], ` +
      `${mean(rs.map((r) => r.cpuUsPerEvent)).toFixed(1)} CPU µs/event [${rs.map((r) => r.cpuUsPerEvent.toFixed(1)).join(", ")}], p99 ${rs.map((r) => r.p99).join("/")} ms`;
    console.log(`${mode} (${connections} connections)\n  off: ${show(off)}\n  on:  ${show(on)} (${on.reduce((a, r) => a + r.scrapes, 0)} scrapes)`);
    console.log(
      `  ratio on/off: events/s ${(mean(on.map((r) => r.eps)) / mean(off.map((r) => r.eps))).toFixed(3)}, ` +
        `CPU per event ${(mean(on.map((r) => r.cpuUsPerEvent)) / mean(off.map((r) => r.cpuUsPerEvent))).toFixed(3)}`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
