// Strangers crowding out a keyed client (issue 27). dlt-collector runs with a write key and its default limits; a
// client with the key (Basic auth) posts a one-event batch to /v1/batch every 100 ms on fresh connections, first with
// no attack (the baseline: its p99), then under each attack, from a separate process (bench/fixtures/crowd-clients.mjs):
//   small:  1,500 connections without a key, each announcing a 2,000-byte body, sending `{"batch":[` and then a byte a
//           second (the first probe);
//   budget: 33 connections announcing 32 × 512,000 + 393,216 bytes (the whole 16 MiB in-flight budget), trickling
//           the same way;
// each without and with reconnects (a connection answered or closed is replaced 200 ms later). A fresh collector per
// attack; its idle RSS (after a warm-up) is that attack's baseline.
// Targets: the keyed client gets ≥ 90% of its requests answered 200, p99 < 1 s, peak RSS ≤ 1.5 × idle RSS.
// Usage: node bench/collector-crowd.mjs [seconds per attack, default 30] [small|budget|all[:0|:1], default all]
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

const SECONDS = Number(process.argv[2] ?? 30);
// `small`, `budget`, or either with `:0` / `:1` for one of its runs (no reconnects / reconnecting).
const [WHICH, ONLY] = (process.argv[3] ?? "all").split(":");
const KEY = "bench-key";
const here = (p) => new URL(p, import.meta.url).pathname;
const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) / 1024;
const auth = "Basic " + Buffer.from(`${KEY}:`).toString("base64");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ATTACKS = [
  { name: "small", n: 1500, lengths: "2000" },
  { name: "budget", n: 33, lengths: "512000x32,393216x1" },
].filter((a) => WHICH === "all" || a.name === WHICH);

function send(url) {
  const body = JSON.stringify({
    batch: [{ type: "track", anonymousId: "a", event: "command_init", properties: { success: true }, messageId: crypto.randomUUID() }],
  });
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = request(
      `${url}/v1/batch`,
      { method: "POST", agent: false, headers: { "content-type": "application/json", authorization: auth, "content-length": body.length } },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode, ms: performance.now() - t0 }));
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error("timeout")));
    req.on("error", (e) => resolve({ status: e.code ?? e.message, ms: performance.now() - t0 }));
    req.end(body);
  });
}

async function startCollector() {
  const dir = mkdtempSync(join(tmpdir(), "bench-crowd-"));
  const child = spawn(
    process.execPath,
    [here("../packages/collector/bin/dlt-collector.js"), "--port", "0", "--db", join(dir, "events.duckdb"), "--write-key", KEY, "--no-dashboard"],
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
  // Warm-up: the write path, then the idle state after some traffic.
  for (let i = 0; i < 300; i++) await send(url);
  const idle = [];
  for (let i = 0; i < 8; i++) {
    await sleep(250);
    idle.push(rssMb(child.pid));
  }
  return {
    url,
    pid: child.pid,
    idleRss: idle.reduce((a, b) => a + b, 0) / idle.length,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => child.on("exit", r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The keyed client, every 100 ms until `until()` says stop. */
async function keyedClient(url, until) {
  const results = [];
  while (!until()) {
    results.push(await send(url));
    await sleep(100);
  }
  const ok = results.filter((r) => r.status === 200);
  const byStatus = {};
  for (const r of results) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
  // p99 over every request (a refusal is as slow as it took), so a failure cannot make the figure look better.
  const all = results.map((r) => r.ms).sort((a, b) => a - b);
  return { ok: ok.length, total: results.length, byStatus, p99: all[Math.floor(all.length * 0.99)] ?? NaN };
}

// Baseline: the keyed client alone.
{
  const c = await startCollector();
  try {
    const end = Date.now() + SECONDS * 500;
    const r = await keyedClient(c.url, () => Date.now() >= end);
    console.log(
      `baseline (no attack, ${SECONDS / 2} s): keyed client ${r.ok}/${r.total} → 200, p99 ${r.p99.toFixed(0)} ms; idle RSS ${c.idleRss.toFixed(0)} MB`,
    );
  } finally {
    await c.stop();
  }
}

for (const a of ATTACKS) {
  for (const reconnect of [false, true].filter((r) => ONLY === undefined || Number(r) === Number(ONLY))) {
    const c = await startCollector();
    try {
      const samples = [];
      const started = Date.now();
      const sampler = setInterval(() => samples.push([rssMb(c.pid), (Date.now() - started) / 1000]), 250);
      let attacking = true;
      const attack = new Promise((resolve) => {
        const p = spawn(
          process.execPath,
          [here("./fixtures/crowd-clients.mjs"), c.url, String(a.n), String(SECONDS), a.lengths, reconnect ? "1" : "0"],
          {
            stdio: ["ignore", "pipe", "inherit"],
          },
        );
        let out = "";
        p.stdout.on("data", (d) => (out += d));
        p.on("exit", () => resolve(JSON.parse(out)));
      });
      void attack.then(() => (attacking = false));
      await sleep(1000); // the attackers take their places first
      const r = await keyedClient(c.url, () => !attacking);
      const result = await attack;
      clearInterval(sampler);
      const peak = Math.max(...samples.map(([mb]) => mb));
      const peakAt = samples.find(([mb]) => mb === peak)[1];
      const ratio = peak / c.idleRss;
      const share = r.ok / r.total;
      const verdict = (ok) => (ok ? "OK" : "NOT MET");
      console.log(
        `${a.name} (${a.n} connections, ${a.lengths}), ${reconnect ? "reconnecting" : "no reconnects"}, ${SECONDS} s: ` +
          `keyed client ${r.ok}/${r.total} → 200 (${(share * 100).toFixed(1)}%, ${verdict(share >= 0.9)}), ${JSON.stringify(r.byStatus)}; ` +
          `p99 ${r.p99.toFixed(0)} ms (${verdict(r.p99 < 1000)}); ` +
          `RSS idle ${c.idleRss.toFixed(0)} MB, peak ${peak.toFixed(0)} MB → ${ratio.toFixed(2)} (${verdict(ratio <= 1.5)}) at ${peakAt.toFixed(1)} s; ` +
          `attackers: ${result.opened} opened, ≤ ${result.maxOpen} open; answers ${JSON.stringify(result.answers)}`,
      );
      // CROWD_SERIES=1: RSS over time (seconds since the attack started: MB), to see where the peak falls.
      if (process.env.CROWD_SERIES) console.log(samples.map(([mb, t]) => `${t.toFixed(1)}:${mb.toFixed(0)}`).join(" "));
    } finally {
      await c.stop();
    }
  }
}
