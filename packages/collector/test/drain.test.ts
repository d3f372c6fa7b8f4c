// A restart resets nobody: on SIGTERM the listener stops accepting, requests that arrive on connections already open
// get a real answer (200 after their commit, with Connection: close), idle connections are closed, exit 0.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Agent, request } from "node:http";
import { connect } from "node:net";
import { DuckDbStore } from "../src/store/duckdb.js";
import { startCollector } from "../src/index.js";
import { dltEvent, exited, RawClient, startChild, tempDb } from "./helpers.js";

const requestText = (body: string): string =>
  `POST / HTTP/1.1\r\nhost: collector\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

test("during a graceful stop a request on an open connection is served with Connection: close while new connections are refused", async () => {
  const db = tempDb();
  const c = await startCollector({ port: 0, dbPath: db, drainIdleMs: 300 });
  const busy = new RawClient(c.url);
  const idle = new RawClient(c.url);
  for (const client of [busy, idle]) {
    client.write(requestText(JSON.stringify(dltEvent())));
    assert.match(await client.waitFor(/\{"success":true\}$/, 5000), /Connection: keep-alive/i);
  }
  const closing = c.close();
  // The listener is closed at once ...
  const refused = await new Promise<string>((resolve) => {
    const u = new URL(c.url);
    connect(Number(u.port), u.hostname)
      .on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? ""))
      .on("connect", () => resolve("connected"));
  });
  assert.equal(refused, "ECONNREFUSED");
  // ... but a request on a connection that was open is served, committed, and told to close its connection.
  const late = dltEvent();
  const before = busy.received.length;
  busy.write(requestText(JSON.stringify(late)));
  const answer = (await busy.waitFor(/\{"success":true\}[^]*\{"success":true\}$/, 5000)).slice(before);
  assert.match(answer, /^HTTP\/1\.1 200 /);
  assert.match(answer, /connection: close/i);
  await busy.waitClosed(2000);
  // The idle one is closed after the grace; then the stop completes.
  await idle.waitClosed(2000);
  await closing;
  const store = await DuckDbStore.open(db);
  try {
    assert.deepEqual(await store.query("SELECT count(*)::INTEGER AS n FROM events WHERE message_id = ?", [late["messageId"] as string]), [{ n: 1 }]);
  } finally {
    await store.close();
  }
});

/** One keep-alive client of 32 connections, each sending single events back to back until the collector is gone. */
async function sendUntilGone(url: string, acked: string[], errors: Map<string, number>, onAck: () => void): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  const one = (): Promise<boolean> =>
    new Promise((resolve) => {
      const e = dltEvent();
      delete e["type"]; // as dlt sends it
      const body = JSON.stringify(e);
      const req = request(
        url,
        { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on("end", () => {
            if (res.statusCode === 200) {
              acked.push(e["messageId"] as string);
              onAck();
            } else errors.set(`HTTP ${res.statusCode}`, (errors.get(`HTTP ${res.statusCode}`) ?? 0) + 1);
            resolve(true);
          });
        },
      );
      req.on("error", (err: NodeJS.ErrnoException) => {
        const code = err.code ?? err.message;
        errors.set(code, (errors.get(code) ?? 0) + 1);
        // Refused: the collector is gone. Anything else is counted, and the sender stops too.
        resolve(false);
      });
      req.end(body);
    });
  const sender = async (): Promise<void> => {
    for (let i = 0; i < 2000; i++) if (!(await one())) return;
  };
  await Promise.all(Array.from({ length: 32 }, sender));
  agent.destroy();
}

test("during a graceful stop an idle keep-alive connection stays open as long as its client was told (Keep-Alive: timeout=5)", async () => {
  const c = await startCollector({ port: 0, dbPath: tempDb() });
  const idle = new RawClient(c.url);
  try {
    idle.write(requestText(JSON.stringify(dltEvent())));
    const answer = await idle.waitFor(/\{"success":true\}$/, 5000);
    assert.match(answer, /Keep-Alive: timeout=5/i);
    const idleFrom = Date.now();
    const closing = c.close();
    await idle.waitClosed(10_000);
    // undici reuses a connection until the hint minus 1-2 s; closed sooner, a request sent on it meets "other side
    // closed" (the rolling-restart test's Segment client did, about one run in seven, with a 1 s grace).
    const open = Date.now() - idleFrom;
    assert.ok(open >= 4_500, `closed after ${open} ms of idleness, inside the client's reuse window`);
    await closing;
  } finally {
    await idle.destroy();
  }
});

test("SIGTERM under 32 busy keep-alive connections, 10 restarts: no ECONNRESET, every 200 stored, exit 0", async () => {
  const db = tempDb();
  const acked: string[] = [];
  const errors = new Map<string, number>();
  for (let run = 0; run < 10; run++) {
    const { child, url } = await startChild(["--port", "0", "--db", db, "--no-dashboard"]);
    const start = acked.length;
    let signalled = false;
    await sendUntilGone(`${url}/`, acked, errors, () => {
      // Mid-way: once this run has had 150 answers, while every connection is busy.
      if (!signalled && acked.length - start >= 150) {
        signalled = true;
        child.kill("SIGTERM");
      }
    });
    assert.ok(signalled, `run ${run}: the collector was signalled`);
    assert.equal(await exited(child), 0, `run ${run}: exit code`);
  }
  assert.deepEqual(
    Object.fromEntries([...errors].filter(([code]) => code !== "ECONNREFUSED")),
    {},
    "only refused connections once the listener was closed",
  );
  const store = await DuckDbStore.open(db);
  try {
    let found = 0;
    for (let i = 0; i < acked.length; i += 500) {
      const part = acked.slice(i, i + 500);
      found += Number((await store.query(`SELECT count(*) AS n FROM events WHERE message_id IN (${part.map(() => "?").join(",")})`, part))[0]?.["n"]);
    }
    assert.equal(found, acked.length, "every event answered 200 is stored");
  } finally {
    await store.close();
  }
});
