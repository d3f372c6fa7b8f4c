// What a stranger can hold of the collector: a wrong key is refused before its body is read, slow requests time
// out, and open connections and body bytes in flight are capped (503 + Retry-After past a cap). Raw sockets on
// loopback against a real collector.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startCollector, type CollectorOptions } from "../src/index.js";
import { dltEvent, pollUntil, post, RawClient, tempDb } from "./helpers.js";

async function withCollector(options: CollectorOptions, run: (url: string) => Promise<void>): Promise<void> {
  const c = await startCollector({ port: 0, dbPath: tempDb(), dashboard: false, ...options });
  try {
    await run(c.url);
  } finally {
    await c.close();
  }
}

const head = (path: string, headers: Record<string, string | number>): string =>
  `POST ${path} HTTP/1.1\r\nhost: collector\r\ncontent-type: application/json\r\n` +
  Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("") +
  "\r\n";
const basic = (key: string): string => "Basic " + Buffer.from(`${key}:`).toString("base64");

test("a wrong key in the Authorization header gets 401 before any body byte is read, and the connection is closed", async () => {
  await withCollector({ writeKeys: ["right"] }, async (url) => {
    for (const authorization of [basic("wrong"), "Bearer right", basic("")]) {
      const client = new RawClient(url);
      // Headers only: a 500 KB body is announced and never sent.
      client.write(head("/v1/batch", { authorization, "content-length": 500_000 }));
      const answer = await client.waitFor(/\r\n\r\n\{.*\}$/s, 5000);
      assert.match(answer, /^HTTP\/1\.1 401 /, authorization);
      assert.match(answer, /connection: close/i);
      assert.match(answer, /"error":"invalid write key"/);
      // The client cannot go on trickling its body into the collector.
      await client.waitClosed(2000);
    }
    // The right key, or (with no header) a writeKey in the body, still gets in.
    assert.equal((await post(url, "/v1/batch", { batch: [dltEvent()] }, { auth: "right" })).status, 200);
    assert.equal((await post(url, "/v1/batch", { batch: [dltEvent()], writeKey: "right" })).status, 200);
  });
});

test("a key checked before the body: Expect: 100-continue is answered 401, never 100, for a wrong key", async () => {
  await withCollector({ writeKeys: ["right"] }, async (url) => {
    const wrong = new RawClient(url);
    wrong.write(head("/", { authorization: basic("wrong"), "content-length": 1000, expect: "100-continue" }));
    assert.match(await wrong.waitFor(/\r\n\r\n\{.*\}$/s, 5000), /^HTTP\/1\.1 401 /);
    await wrong.waitClosed(2000);
    const right = new RawClient(url);
    const body = JSON.stringify(dltEvent());
    right.write(head("/", { authorization: basic("right"), "content-length": Buffer.byteLength(body), expect: "100-continue" }));
    await right.waitFor(/^HTTP\/1\.1 100 Continue\r\n\r\n/, 5000);
    right.write(body);
    assert.match(await right.waitFor(/\{"success":true\}$/, 5000), /HTTP\/1\.1 200 /);
    await right.destroy();
  });
});

test("headers and whole requests have time limits: a slow client gets 408 and is disconnected", async () => {
  await withCollector({ headersTimeoutMs: 300, requestTimeoutMs: 800 }, async (url) => {
    const started = Date.now();
    const slowHeaders = new RawClient(url);
    slowHeaders.write("POST /v1/batch HTTP/1.1\r\nhost: collector\r\n");
    const slowBody = new RawClient(url);
    slowBody.write(head("/v1/batch", { "content-length": 10_000 }) + '{"batch":[');
    // Trickle a byte every 100 ms: each byte arrives well within any idle timeout, the whole never does.
    const trickle = setInterval(() => slowBody.write(" "), 100);
    try {
      assert.match(await slowHeaders.waitFor(/^HTTP\/1\.1 408 /, 5000), /connection: close/i);
      await slowHeaders.waitClosed(2000);
      assert.match(await slowBody.waitFor(/^HTTP\/1\.1 408 /, 5000), /connection: close/i);
      await slowBody.waitClosed(2000);
    } finally {
      clearInterval(trickle);
    }
    // Bounded by the limits (plus Node's check interval), not Node's defaults of 60 s and 300 s.
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    assert.equal((await post(url, "/v1/batch", { batch: [dltEvent()] })).status, 200);
  });
});

test("past the cap on open connections, a new one is answered 503 + Retry-After and closed", async () => {
  await withCollector({ maxConnections: 2, evictIdleMs: 60_000 }, async (url) => {
    // Two connections hold the places, each with a request under way (its body not yet complete).
    const held = [new RawClient(url), new RawClient(url)];
    const body = JSON.stringify({ batch: [dltEvent()] });
    for (const h of held) {
      h.write(head("/v1/batch", { "content-length": Buffer.byteLength(body), expect: "100-continue" }));
      await h.waitFor(/^HTTP\/1\.1 100 Continue/, 5000);
    }
    const third = new RawClient(url);
    third.write(head("/v1/batch", { "content-length": 2 }) + "{}");
    const answer = await third.waitFor(/too many open connections.*\}$/s, 5000);
    assert.match(answer, /^HTTP\/1\.1 503 /);
    assert.match(answer, /retry-after: 1/i);
    await third.waitClosed(2000);
    // The held requests complete normally; once one connection is gone a new one is served.
    for (const h of held) h.write(body);
    for (const h of held) await h.waitFor(/\{"success":true\}$/, 5000);
    await held[0]!.destroy();
    const r = await pollUntil(
      () => post(url, "/v1/batch", { batch: [dltEvent()] }),
      (r) => r.status === 200,
      5000,
      20,
    );
    assert.equal(r.status, 200);
    await held[1]!.destroy();
  });
});

test("at the cap, a connection that has sat idle (slowloris headers) gives its place to a new one", async () => {
  await withCollector({ maxConnections: 2, evictIdleMs: 200 }, async (url) => {
    // Two connections that never finish their headers.
    const slow = [new RawClient(url), new RawClient(url)];
    for (const s of slow) s.write("POST /v1/batch HTTP/1.1\r\nhost: collector\r\n");
    // Once they have been idle long enough, a client that sends its request at once is served in the place of one.
    const r = await pollUntil(
      () => post(url, "/v1/batch", { batch: [dltEvent()] }),
      (r) => r.status === 200,
      5000,
      20,
    );
    assert.equal(r.status, 200);
    await Promise.race(slow.map((s) => s.waitClosed(2000)));
    assert.equal(slow.filter((s) => s.received === "").length, 2, "an evicted connection is closed without an answer");
    for (const s of slow) await s.destroy();
  });
});

test("body bytes in flight are capped across requests, charged as they arrive: past the cap 503 + Retry-After", async () => {
  await withCollector({ maxInflightBytes: 64 * 1024 }, async (url) => {
    const events = Array.from({ length: 60 }, () => dltEvent({ properties: { pad: "x".repeat(600) } }));
    const body = JSON.stringify({ batch: events });
    assert.ok(body.length > 40_000 && body.length < 60_000);
    // One slow request holds most of the budget with the bytes it has sent ...
    const slow = new RawClient(url);
    slow.write(head("/v1/batch", { "content-length": Buffer.byteLength(body), expect: "100-continue" }));
    await slow.waitFor(/^HTTP\/1\.1 100 Continue\r\n\r\n/, 5000);
    slow.write(body.slice(0, 40_000));
    // ... so another that announces as much is let in (an announcement holds nothing), and refused when its bytes come.
    const announced = new RawClient(url);
    announced.write(head("/v1/batch", { "content-length": Buffer.byteLength(body), expect: "100-continue" }));
    await announced.waitFor(/^HTTP\/1\.1 100 Continue\r\n\r\n/, 5000);
    announced.write(body.slice(0, 30_000));
    const answer = await announced.waitFor(/\}$/, 5000);
    assert.match(answer, /\r\n\r\nHTTP\/1\.1 503 /);
    assert.match(answer, /retry-after: 1/i);
    assert.match(answer, /too many request bodies in flight/);
    await announced.waitClosed(2000);
    // A chunked body (no declared length) is held as it grows, and refused when it would pass the cap.
    const chunked = new RawClient(url);
    chunked.write(head("/v1/batch", { "transfer-encoding": "chunked" }));
    const chunk = "x".repeat(8000);
    for (let i = 0; i < 4; i++) chunked.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    assert.match(await chunked.waitFor(/\}$/, 5000), /^HTTP\/1\.1 503 /);
    // The slow one completes and is stored; then the budget is free again.
    slow.write(body.slice(40_000));
    assert.match(await slow.waitFor(/\}$/, 5000), /\r\n\r\nHTTP\/1\.1 200 /);
    await slow.destroy();
    assert.equal((await post(url, "/v1/batch", JSON.parse(body))).status, 200);
  });
});
