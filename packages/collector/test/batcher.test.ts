// Group commit against the real DuckDB store: shared commits, and one request the store refuses fails alone.
import { test } from "node:test";
import assert from "node:assert/strict";
import { GroupCommitter } from "../src/batcher.js";
import { stamp, type StoredMessage } from "../src/stamp.js";
import { DuckDbStore } from "../src/store/duckdb.js";
import type { EventStore } from "../src/store/types.js";
import { dltEvent, tempDb } from "./helpers.js";

const message = (): StoredMessage => stamp(dltEvent(), "track", Date.now(), new Date().toISOString(), null);

test("a request the store refuses fails alone, and the requests that shared its commit are stored", async () => {
  const duck = await DuckDbStore.open(tempDb());
  const poison = message();
  // The real store, refusing any group that holds one particular message (as it would a message it cannot read).
  const store: EventStore = {
    location: duck.location,
    probe: () => duck.probe(),
    insert: (ms) => (ms.includes(poison) ? Promise.reject(new Error("unreadable message")) : duck.insert(ms)),
    query: (sql, params) => duck.query(sql, params),
    dashboard: (api, f) => duck.dashboard(api, f),
    housekeep: (days) => duck.housekeep(days),
    close: () => duck.close(),
  };
  const committer = new GroupCommitter(store, 10_000);
  const good = [[message(), message()], [message()]];
  // Added in one tick: the three requests are pending together and the second flush takes the last two at once.
  const results = await Promise.allSettled([committer.add([message()]), committer.add(good[0]!), committer.add([poison]), committer.add(good[1]!)]);
  assert.deepEqual(
    results.map((r) => r.status),
    ["fulfilled", "fulfilled", "rejected", "fulfilled"],
  );
  const ids = [...good.flat()].map((m) => m.messageId);
  const rows = await duck.query(`SELECT count(*) AS n FROM events WHERE message_id IN (${ids.map(() => "?").join(", ")})`, ids);
  assert.equal(Number(rows[0]!["n"]), 3);
  await store.close();
});
