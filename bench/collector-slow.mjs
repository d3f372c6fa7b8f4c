// Collector RSS under slow, unauthenticated connections (issue 16: 1,500 sockets trickling bodies took it from 340 MB
// to 900 MB, and one stalled body was held for 314 s). dlt-collector runs with a write key and its default limits;
// after a warm-up its idle RSS is the baseline; then a separate process keeps 1,500 connections trickling requests
// without a key (bench/fixtures/slow-clients.mjs) while a legitimate client sends one event every 100 ms with the key.
// Target: peak RSS ≤ 1.5 × idle RSS. Also reports what the attackers were answered and how the legitimate client fared.
// Usage: node bench/collector-slow.mjs [seconds, default 40] [connections, default 1500] [body|headers, default body]
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

const SECONDS = Number(process.argv[2] ?? 40);
const N = Number(process.argv[3] ?? 1500);
const MODE = process.argv[4] ?? "body";
const KEY = "bench-key";
const here = (p) => new URL(p, import.meta.url).pathname;
const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) / 1024;
const auth = "Basic " + Buffer.from(`${KEY}:`).toString("base64");
const EVENT = JSON.stringify({ anonymousId: "a", event: "command_init", properties: { success: true }, context: { python: "3.12.3" } });

function send() {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = request(
      url,
      { method: "POST", agent: false, headers: { "content-type": "application/json", authorization: auth, "content-length": EVENT.length } },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode, ms: performance.now() - t0 }));
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error("timeout")));
    req.on("error", (e) => resolve({ status: e.code ?? e.message, ms: performance.now() - t0 }));
    req.end(EVENT);
  });
}

const dir = mkdtempSync(join(tmpdir(), "bench-slow-"));
const child = spawn(
  process.execPath,
  [here("../packages/collector/bin/dlt-collector.js"), "--port", "0", "--db", join(dir, "events.duckdb"), "--write-key", KEY],
  {
    stdio: ["ignore", "pipe", "ignore"],
  },
);
const url = await new Promise((resolve, reject) => {
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
    const m = /listening on (http:\/\/\S+)/.exec(out);
    if (m) resolve(m[1]);
  });
  child.on("exit", (c) => reject(new Error(`collector exited ${c}`)));
});
try {
  // Warm-up: the write path, the dashboard-free idle state after some traffic.
  for (let i = 0; i < 300; i++) await send();
  const idle = [];
  for (let i = 0; i < 8; i++) {
    await new Promise((r) => setTimeout(r, 250));
    idle.push(rssMb(child.pid));
  }
  const idleRss = idle.reduce((a, b) => a + b, 0) / idle.length;

  const samples = [];
  const sampler = setInterval(() => samples.push(rssMb(child.pid)), 250);
  const attack = new Promise((resolve) => {
    const a = spawn(process.execPath, [here("./fixtures/slow-clients.mjs"), url, String(N), String(SECONDS), MODE], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    a.stdout.on("data", (d) => (out += d));
    a.on("exit", () => resolve(JSON.parse(out)));
  });
  const legit = [];
  let attacking = true;
  void attack.then(() => (attacking = false));
  while (attacking) {
    legit.push(await send());
    await new Promise((r) => setTimeout(r, 100));
  }
  const result = await attack;
  clearInterval(sampler);
  // Bounded, not leaking: RSS a few seconds after the attackers are gone.
  await new Promise((r) => setTimeout(r, 5000));
  const after = rssMb(child.pid);
  const peak = Math.max(...samples);
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  const ok = legit.filter((l) => l.status === 200);
  const byStatus = {};
  for (const l of legit) byStatus[l.status] = (byStatus[l.status] ?? 0) + 1;
  const p99 = ok.map((l) => l.ms).sort((a, b) => a - b)[Math.floor(ok.length * 0.99)] ?? NaN;
  console.log(`collector under ${N} slow unauthenticated connections (${MODE}), ${SECONDS} s, default limits`);
  console.log(
    `idle RSS ${idleRss.toFixed(0)} MB; under attack: peak ${peak.toFixed(0)} MB, mean ${mean.toFixed(0)} MB → peak ratio ${(peak / idleRss).toFixed(2)} (target ≤ 1.5: ${peak <= 1.5 * idleRss ? "OK" : "NOT MET"}); 5 s after: ${after.toFixed(0)} MB`,
  );
  console.log(`attackers: ${result.opened} connections opened, at most ${result.maxOpen} open at once; answers ${JSON.stringify(result.answers)}`);
  console.log(`legitimate client: ${ok.length}/${legit.length} answered 200 (${JSON.stringify(byStatus)}), p99 of those ${p99.toFixed(0)} ms`);
} finally {
  child.kill("SIGTERM");
  await new Promise((r) => child.on("exit", r));
  rmSync(dir, { recursive: true, force: true });
}
