// Real child processes: kill -9 in the middle of a load from concurrent senders, then a restart: every messageId
// that was answered 200 is in the database. SIGTERM: everything acknowledged is committed before exit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DuckDbStore } from "../src/store/duckdb.js";
import { dltEvent, exited, loadThenKill, post, startChild, tempDb } from "./helpers.js";

async function acknowledgedIn(db: string, ids: string[]): Promise<number> {
  const store = await DuckDbStore.open(db);
  try {
    let found = 0;
    for (let i = 0; i < ids.length; i += 500) {
      const part = ids.slice(i, i + 500);
      const rows = await store.query(`SELECT count(*) AS n FROM events WHERE message_id IN (${part.map(() => "?").join(",")})`, part);
      found += Number(rows[0]?.["n"]);
    }
    return found;
  } finally {
    await store.close();
  }
}

test("kill -9 during a load from 6 concurrent senders: every acknowledged event survives the restart", async () => {
  const db = tempDb();
  const { child, url } = await startChild(["--port", "0", "--db", db]);
  const acked = await loadThenKill(child, url, 2000);
  assert.ok(acked.length >= 2000);
  assert.equal(await acknowledgedIn(db, acked), acked.length);
  // The aggregates, with what the killed collector left queued rolled up at open: they count exactly the events
  // stored, neither more nor fewer.
  const store = await DuckDbStore.open(db);
  try {
    const [rolled] = await store.query("SELECT sum(n) AS n FROM rollup");
    const [stored] = await store.query("SELECT count(*) AS n FROM events");
    assert.equal(Number(rolled!["n"]), Number(stored!["n"]), "aggregates agree with the events after kill -9");
  } finally {
    await store.close();
  }
  // And it starts again on the same file.
  const again = await startChild(["--port", "0", "--db", db]);
  assert.equal((await post(again.url, "/v1/batch", { batch: [dltEvent()] })).status, 200);
  again.child.kill("SIGTERM");
  assert.equal(await exited(again.child), 0);
});

test("SIGTERM: stops accepting, commits what it acknowledged, exits 0", async () => {
  const db = tempDb();
  const { child, url, stderr } = await startChild(["--port", "0", "--db", db]);
  assert.match(stderr(), /no write key configured/);
  const batches = Array.from({ length: 30 }, () => Array.from({ length: 50 }, () => dltEvent()));
  const replies = batches.map((b) => post(url, "/v1/batch", { batch: b }).catch(() => ({ status: 0 })));
  child.kill("SIGTERM");
  const statuses = await Promise.all(replies);
  assert.equal(await exited(child), 0);
  const acked = batches
    .filter((_b, i) => statuses[i]!.status === 200)
    .flat()
    .map((e) => e["messageId"] as string);
  assert.equal(await acknowledgedIn(db, acked), acked.length);
});
