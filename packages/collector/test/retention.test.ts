// --retain-days: the same whole UTC days go on both stores (PostgreSQL drops their partitions, DuckDB deletes their
// rows), at start, and the dashboard says how long events are kept.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { retentionCutoff } from "../src/index.js";
import { stamp, type StoredMessage } from "../src/stamp.js";
import { DuckDbStore } from "../src/store/duckdb.js";
import { PostgresStore } from "../src/store/postgres.js";
import { partitionName } from "../src/store/postgres-schema.js";
import type { EventStore } from "../src/store/types.js";
import { dltEvent, exited, post, startChild, tempDb } from "./helpers.js";
import { testPostgres, type TestPostgres } from "./postgres-server.js";

const DAY = 86_400_000;
let server: TestPostgres;
before(async () => {
  server = await testPostgres();
});
after(() => server.close());

const received = (at: number): StoredMessage => stamp(dltEvent(), "track", at, new Date(at).toISOString(), null);
const count = async (s: EventStore): Promise<number> => Number((await s.query("SELECT count(*) AS n FROM events"))[0]!["n"]);

test("retentionCutoff keeps every event at least N days, and whole UTC days go at once", () => {
  const now = Date.UTC(2026, 10, 25, 13, 30);
  assert.equal(retentionCutoff(5, now), Date.UTC(2026, 10, 20));
  assert.equal(retentionCutoff(1, Date.UTC(2026, 10, 25)), Date.UTC(2026, 10, 24));
});

test("both stores remove the same days: PostgreSQL drops the partitions, DuckDB deletes the rows", async () => {
  const now = Date.now();
  const cutoff = retentionCutoff(5, now);
  // Either side of the cutoff by a second, and far from it.
  const times = [now - 30 * DAY, cutoff - 1000, cutoff + 1000, now - DAY, now];
  const duck = await DuckDbStore.open(tempDb());
  const pg = await PostgresStore.open(await server.database());
  try {
    for (const s of [duck, pg]) {
      // The refused counts of the day before the cutoff and of the cutoff's day.
      await s.insert(times.map(received), [
        { day: cutoff - DAY, reason: "unknown_event", event: "old", n: 1 },
        { day: cutoff, reason: "unknown_event", event: "kept", n: 1 },
      ]);
      assert.deepEqual(await s.housekeep(5, now), { removed: 2, cutoff }, s.location);
      assert.equal(await count(s), 3);
      assert.deepEqual(
        (await s.query("SELECT event FROM refused")).map((r) => r["event"]),
        ["kept"],
        "refused counts go with their days",
      );
      assert.deepEqual(await s.housekeep(5, now), { removed: 0, cutoff }, "nothing more to remove");
      assert.deepEqual(await s.housekeep(undefined, now), { removed: 0, cutoff: undefined });
    }
    const parts = (
      await pg.query("SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'events'::regclass")
    ).map((r) => r["name"]);
    assert.ok(!parts.includes(partitionName(cutoff - DAY)), "the partition of the last removed day is gone");
    assert.ok(parts.includes(partitionName(cutoff)), "the first kept day's partition stays");
  } finally {
    await duck.close();
    await pg.close();
  }
});

test("dlt-collector --retain-days removes old events at start, logs it, and the dashboard says so", async () => {
  for (const db of [tempDb(), await server.database()]) {
    const store = db.startsWith("postgres") ? await PostgresStore.open(db) : await DuckDbStore.open(db);
    await store.insert([received(Date.now() - 40 * DAY), received(Date.now() - 39 * DAY), received(Date.now())]);
    await store.close();
    const { child, url, stderr } = await startChild(["--port", "0", "--db", db, "--retain-days", "30"]);
    try {
      assert.match(stderr(), /retention \(30 days\): removed 2 events received before \d{4}-\d\d-\d\dT00:00:00\.000Z/);
      const summary = await post(url, "/api/summary?from=0", undefined, { method: "GET" });
      assert.equal(summary.json["retain_days"], 30);
      assert.equal((summary.json["rows"] as { events: number }[])[0]!.events, 1);
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal(await exited(child), 0);
  }
});
