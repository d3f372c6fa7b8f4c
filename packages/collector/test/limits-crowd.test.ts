// Strangers cannot crowd out a real client (issue 27). With write keys configured, requests without a valid key in
// their Authorization header share what is left once a reserve is set aside, bodies are charged for the bytes that
// arrived (not the ones announced), and a body has a deadline. Scaled-down attacks on a real collector with a low
// connection cap and budget, raw sockets on loopback; a keyed client posting one-event batches throughout.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startCollector, type CollectorOptions } from "../src/index.js";
import { dltEvent, post, RawClient, tempDb } from "./helpers.js";

const KEY = "crowd-key";

async function withCollector(options: CollectorOptions, run: (url: string) => Promise<void>): Promise<void> {
  const c = await startCollector({ port: 0, dbPath: tempDb(), dashboard: false, writeKeys: [KEY], ...options });
  try {
    await run(c.url);
  } finally {
    await c.close();
  }
}

/**
 * `n` attackers without a key, each announcing `lengths(i)` bytes and sending `{"batch":[` then a byte every 200 ms;
 * with `reconnect`, one the collector answers or closes is replaced 50 ms later. Returns a stop function.
 */
function attack(url: string, n: number, lengths: (i: number) => number, reconnect: boolean): () => Promise<void> {
  let stopped = false;
  const live = new Set<RawClient>();
  const timers = new Set<NodeJS.Timeout>();
  const one = (i: number): void => {
    if (stopped) return;
    const c = new RawClient(url);
    live.add(c);
    c.write(`POST /v1/batch HTTP/1.1\r\nhost: collector\r\ncontent-type: application/json\r\ncontent-length: ${lengths(i)}\r\n\r\n{"batch":[`);
    const trickle = setInterval(() => c.write(" "), 200);
    timers.add(trickle);
    void c
      .waitClosed(60_000)
      .catch(() => undefined)
      .then(() => {
        clearInterval(trickle);
        timers.delete(trickle);
        live.delete(c);
        if (reconnect && !stopped) timers.add(setTimeout(() => one(i), 50));
      });
  };
  for (let i = 0; i < n; i++) one(i);
  return async () => {
    stopped = true;
    for (const t of timers) clearTimeout(t);
    await Promise.all([...live].map((c) => c.destroy()));
  };
}

/** The keyed client: `count` one-event batches with the key as Basic auth, fresh connections, 50 ms apart. */
async function keyedClient(url: string, count: number): Promise<{ ok: number; statuses: number[] }> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) {
    statuses.push((await post(url, "/v1/batch", { batch: [dltEvent()] }, { auth: KEY }).catch(() => ({ status: 0 }))).status);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { ok: statuses.filter((s) => s === 200).length, statuses };
}

const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

for (const reconnect of [false, true]) {
  test(`many small announced bodies trickled by strangers${reconnect ? ", reconnecting" : ""}: the keyed client gets ≥ 90% through`, async () => {
    await withCollector({ maxConnections: 40, evictIdleMs: 60_000 }, async (url) => {
      const stop = attack(url, 60, () => 2000, reconnect);
      try {
        // Wait until the strangers hold what they can.
        await settle(500);
        const r = await keyedClient(url, 20);
        assert.ok(r.ok >= 18, `keyed client: ${r.ok}/20 (${r.statuses.join(",")})`);
      } finally {
        await stop();
      }
    });
  });

  test(`a few strangers announcing the whole in-flight budget${reconnect ? ", reconnecting" : ""}: the keyed client gets ≥ 90% through`, async () => {
    const budget = 256 * 1024;
    // 5 × 50 KB + the rest: the announced lengths add up to the budget, as the 33 connections did to 16 MiB.
    await withCollector({ maxInflightBytes: budget, maxBodyBytes: 50 * 1024 }, async (url) => {
      const stop = attack(url, 6, (i) => (i < 5 ? 50 * 1024 : budget - 5 * 50 * 1024), reconnect);
      try {
        await settle(500);
        const r = await keyedClient(url, 20);
        assert.ok(r.ok >= 18, `keyed client: ${r.ok}/20 (${r.statuses.join(",")})`);
      } finally {
        await stop();
      }
    });
  });
}

test("a stranger's body must arrive within the body timeout: 408 and closed, however steadily it trickles", async () => {
  await withCollector({ bodyTimeoutMs: 500 }, async (url) => {
    const started = Date.now();
    const slow = new RawClient(url);
    slow.write('POST /v1/batch HTTP/1.1\r\nhost: collector\r\ncontent-type: application/json\r\ncontent-length: 2000\r\n\r\n{"batch":[');
    const trickle = setInterval(() => slow.write(" "), 50);
    try {
      const answer = await slow.waitFor(/\}$/, 5000);
      assert.match(answer, /^HTTP\/1\.1 408 /);
      assert.match(answer, /connection: close/i);
      assert.match(answer, /request body not received within 500 ms/);
      await slow.waitClosed(2000);
    } finally {
      clearInterval(trickle);
    }
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  });
});

test("with no attack, a Segment client that sends the key only in its body is served, up to the strangers' share", async () => {
  await withCollector({ maxConnections: 8, reservedConnections: 2, evictIdleMs: 60_000 }, async (url) => {
    const r = await post(url, "/v1/batch", { writeKey: KEY, batch: [dltEvent()] });
    assert.equal(r.status, 200);
    // Six strangers under way hold the strangers' share: a seventh is refused at once, the keyed one is not.
    const held = Array.from({ length: 6 }, () => new RawClient(url));
    for (const h of held)
      h.write('POST /v1/batch HTTP/1.1\r\nhost: collector\r\ncontent-type: application/json\r\ncontent-length: 2000\r\n\r\n{"batch":[');
    try {
      await settle(200);
      const seventh = await post(url, "/v1/batch", { writeKey: KEY, batch: [dltEvent()] });
      assert.equal(seventh.status, 503);
      assert.match(String(seventh.json["error"]), /without a write key in their Authorization header/);
      assert.equal((await post(url, "/v1/batch", { batch: [dltEvent()] }, { auth: KEY })).status, 200);
    } finally {
      await Promise.all(held.map((h) => h.destroy()));
    }
    assert.equal((await post(url, "/v1/batch", { writeKey: KEY, batch: [dltEvent()] })).status, 200);
  });
});
