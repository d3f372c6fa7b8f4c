// Zero loss through a rolling restart: three collectors on one PostgreSQL database (one of them with two workers)
// behind a round-robin load balancer; the official Segment client (its batching and retries) and a dlt-style client
// (one POST per event to the base URL, 1 s timeout, no retry, as Python dlt sends) send without pause while each
// collector in turn is stopped with SIGTERM and started again. Every event a client was told was accepted is stored
// exactly once, and no client saw a reset or a failed request.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Agent, request } from "node:http";
import { Analytics } from "@segment/analytics-node";
import pg from "pg";
import { RoundRobin } from "./balancer.js";
import { dltEvent, exited, startChild } from "./helpers.js";
import { testPostgres } from "./postgres-server.js";

/** Counts by kind (`HTTP 503`, `ECONNRESET` …). */
class Tally extends Map<string, number> {
  add(kind: string): void {
    this.set(kind, (this.get(kind) ?? 0) + 1);
  }
}

/** A dlt-style sender: `senders` loops, each one event per POST on a keep-alive connection, until `stop()`. */
function dltClient(url: string, senders: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: senders });
  const acked: string[] = [];
  const failures = new Tally();
  let stopped = false;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const e = dltEvent();
      delete e["type"]; // dlt sends no type, and a messageId only because we want to find it again
      const body = JSON.stringify(e);
      const req = request(
        url,
        {
          method: "POST",
          agent,
          timeout: 1000,
          headers: {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
            "user-agent": "dlt/1.26.0",
            authorization: `Basic ${Buffer.from("k:").toString("base64")}`,
          },
        },
        (res) => {
          res.resume();
          res.on("end", () => {
            if (res.statusCode === 200) acked.push(e["messageId"] as string);
            else failures.add(`HTTP ${res.statusCode}`);
            resolve();
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", (err: NodeJS.ErrnoException) => {
        failures.add(err.code ?? err.message);
        resolve();
      });
      req.end(body);
    });
  const loops = Array.from({ length: senders }, async () => {
    // Bounded: at most 20,000 requests a sender, whatever happens.
    for (let i = 0; i < 20_000 && !stopped; i++) await one();
  });
  return {
    acked,
    failures,
    async stop(): Promise<void> {
      stopped = true;
      await Promise.all(loops);
      agent.destroy();
    },
  };
}

/** The official Segment client, its HTTP calls observed (statuses and network errors) through its own fetch. */
function segmentClient(url: string) {
  const acked: string[] = [];
  const failures = new Tally();
  const responses = new Tally();
  const analytics = new Analytics({
    writeKey: "k",
    host: url,
    flushAt: 20,
    flushInterval: 20,
    maxRetries: 20,
    httpClient: (input, init) =>
      globalThis.fetch(input, init).then(
        (r) => {
          responses.add(`HTTP ${r.status}`);
          return r;
        },
        (e: Error & { cause?: { code?: string } }) => {
          failures.add(e.cause?.code ?? e.message);
          throw e;
        },
      ),
  });
  let stopped = false;
  let sent = 0;
  const loop = (async () => {
    // Bounded: at most 50,000 events, at ~1 per ms.
    while (!stopped && sent < 50_000) {
      for (let i = 0; i < 10; i++) {
        const messageId = `seg-${sent++}-${crypto.randomUUID()}`;
        analytics.track({ anonymousId: "a", event: "pipeline_load", messageId, properties: { success: true } }, (err) => {
          if (!err) acked.push(messageId);
          else failures.add(`delivery: ${String(err)}`);
        });
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    acked,
    failures,
    responses,
    async stop(): Promise<void> {
      stopped = true;
      await loop;
      await analytics.closeAndFlush({ timeout: 30_000 });
    },
  };
}

test("rolling restart of three collectors under two clients: every accepted event stored exactly once, no client saw a reset", async (t) => {
  const server = await testPostgres();
  const db = await server.database();
  const args = (i: number, port: number): string[] => [
    "--port",
    String(port),
    "--db",
    db,
    "--no-dashboard",
    "--write-key",
    "k",
    ...(i === 1 ? ["--workers", "2"] : []),
  ];
  const collectors: (Awaited<ReturnType<typeof startChild>> & { port: number })[] = [];
  for (let i = 0; i < 3; i++) {
    const c = await startChild(args(i, 0), {});
    collectors.push({ ...c, port: Number(new URL(c.url).port) });
  }
  const lb = await RoundRobin.start(collectors.map((c) => c.port));
  const dlt = dltClient(`${lb.url}/`, 4);
  const segment = segmentClient(lb.url);
  // Waits (bounded) until both clients have had `n` more events accepted.
  const progress = async (n: number): Promise<void> => {
    const [d, s] = [dlt.acked.length, segment.acked.length];
    const end = Date.now() + 30_000;
    while ((dlt.acked.length < d + n || segment.acked.length < s + n) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.ok(Date.now() < end, `no progress: dlt ${dlt.acked.length - d}, segment ${segment.acked.length - s}`);
  };
  const exits: (number | null)[] = [];
  try {
    await progress(100);
    for (let i = 0; i < 3; i++) {
      const c = collectors[i]!;
      c.child.kill("SIGTERM");
      exits.push(await exited(c.child));
      await progress(50); // the others carry the traffic
      const again = await startChild(args(i, c.port), {});
      collectors[i] = { ...again, port: c.port };
      await progress(50);
    }
  } finally {
    await Promise.all([dlt.stop(), segment.stop()]);
    for (const c of collectors) c.child.kill("SIGTERM");
    for (const c of collectors) exits.push(await exited(c.child));
    await lb.close();
  }
  try {
    assert.deepEqual(exits, [0, 0, 0, 0, 0, 0], "every collector drained and exited 0");
    assert.deepEqual(Object.fromEntries(dlt.failures), {}, "the dlt-style client saw no reset, timeout or refusal");
    assert.deepEqual(Object.fromEntries(segment.failures), {}, "the Segment client saw no network error and lost nothing");
    const check = new pg.Client({ connectionString: db });
    await check.connect();
    try {
      const acked = [...dlt.acked, ...segment.acked];
      assert.equal(new Set(acked).size, acked.length);
      const r = await check.query<{ stored: number; copies: number }>(
        "SELECT count(DISTINCT message_id)::int AS stored, count(*)::int AS copies FROM events WHERE message_id = ANY($1)",
        [acked],
      );
      assert.deepEqual(r.rows[0], { stored: acked.length, copies: acked.length }, "every accepted event stored, once");
      t.diagnostic(
        `rolling restart: dlt-style ${dlt.acked.length} accepted, Segment ${segment.acked.length} accepted (responses ${JSON.stringify(Object.fromEntries(segment.responses))}), ` +
          `load balancer skipped ${lb.refused} refused connections`,
      );
    } finally {
      await check.end();
    }
  } finally {
    await server.close();
  }
});
