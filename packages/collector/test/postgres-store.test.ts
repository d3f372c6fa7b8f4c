// The PostgreSQL store against a real PostgreSQL: the same typed columns as the DuckDB store for odd values, dedup by
// messageId across a day boundary (two partitions), partitions made ahead, a schema that any number of collectors may
// create at once, and messages PostgreSQL's jsonb would refuse.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { stamp, type StoredMessage } from "../src/stamp.js";
import { COLUMNS } from "../src/store/columns.js";
import { DuckDbStore } from "../src/store/duckdb.js";
import { PostgresStore, serverVersionProblem } from "../src/store/postgres.js";
import { createPartition, DEDUP_DAYS, MIGRATIONS, partitionName } from "../src/store/postgres-schema.js";
import { startCollector } from "../src/index.js";
import { apiAnswer } from "./dashboard-client.js";
import { dltEvent, post, tempDb } from "./helpers.js";
import { testPostgres, type TestPostgres } from "./postgres-server.js";

const DAY = 86_400_000;
let server: TestPostgres;
before(async () => {
  server = await testPostgres();
});
after(() => server.close());

/** A message as the collector stores it, received at `at` (epoch ms). */
const received = (at: number, event: Record<string, unknown> = dltEvent()): StoredMessage =>
  stamp(event, "track", at, new Date(at).toISOString(), null);

/** Every column but the message, as comparable text. */
async function columns(store: { query: DuckDbStore["query"] }, cast: (c: string) => string): Promise<Record<string, unknown>[]> {
  const names = COLUMNS.filter((c) => c.kind !== "message").map((c) => c.name);
  return store.query(`SELECT ${names.map((n) => `${cast(`"${n}"`)} AS "${n}"`).join(", ")} FROM events ORDER BY message_id`);
}

test("the typed columns are the DuckDB store's, odd values included (NULL where DuckDB has NULL)", async () => {
  const odd: Record<string, unknown>[] = [
    dltEvent({ writeKeyLabel: "ci" }),
    dltEvent({
      writeKeyLabel: 7,
      properties: { success: "yes", elapsed: "1_000.5", event_category: "pipeline" },
      context: { cpu: "8.9", ci_run: 1, exec_info: ["a,b", 2, null, true], python: "3.12.3" },
    }),
    dltEvent({
      writeKeyLabel: "k".repeat(300),
      properties: { success: 2, elapsed: "1e999" },
      context: { cpu: 0.5, ci_run: "on", exec_info: "docker", runtime: { name: "bun" } },
    }),
    dltEvent({ properties: { success: "F", elapsed: " 2.5 " }, context: { cpu: 3e10, ci_run: "N", exec_info: [], os: { name: "x".repeat(300) } } }),
    dltEvent({
      properties: { success: null, elapsed: true, destination_type: "dlt.destinations.duckdb" },
      context: { cpu: "nan", ci_run: null, library: { name: 7, version: true } },
    }),
    dltEvent({ properties: { elapsed: "-inf", source_name: "chess" }, context: {} }),
    dltEvent({ properties: { elapsed: "-1e-999" }, context: { cpu: "1e999" } }),
    { type: "track", messageId: "bare", anonymousId: "a", event: "e" },
  ];
  const now = Date.now();
  const messages = odd.map((e, i) => received(now + i, { ...e, messageId: `m${i}`, timestamp: new Date(now - i * 1000).toISOString() }));
  const duck = await DuckDbStore.open(tempDb());
  const pg = await PostgresStore.open(await server.database());
  try {
    assert.equal(await duck.insert(messages), messages.length);
    assert.equal(await pg.insert(messages), messages.length);
    // Times as epoch ms, doubles as text: the two databases' own renderings differ, their values must not.
    const cast =
      (kind: "duck" | "pg") =>
      (c: string): string =>
        /timestamp|sent_at|received_at/.test(c)
          ? kind === "duck"
            ? `epoch_ms(${c})::VARCHAR`
            : `(extract(epoch FROM ${c}) * 1000)::bigint::text`
          : `${c}::VARCHAR`;
    const fromDuck = await columns(duck, cast("duck"));
    const fromPg = await columns(pg, (c) => cast("pg")(c).replace("::VARCHAR", "::text"));
    // DuckDB writes booleans and doubles as text its own way: compare values, not spellings.
    const norm = (rows: Record<string, unknown>[]): Record<string, unknown>[] =>
      rows.map((r) =>
        Object.fromEntries(
          Object.entries(r).map(([k, v]) => [
            k,
            v === null
              ? null
              : k === "elapsed"
                ? Number(String(v).replace(/^(-?)inf(inity)?$/i, "$1Infinity"))
                : k === "success" || k === "ci_run"
                  ? String(v).startsWith("t")
                  : v,
          ]),
        ),
      );
    assert.deepEqual(norm(fromPg), norm(fromDuck));
    assert.equal(fromPg.find((r) => r["message_id"] === "m1")?.["exec_info"], "a,b,2,true");
  } finally {
    await duck.close();
    await pg.close();
  }
});

test("a replay is stored once across a day boundary (two partitions), and a replay in one group too", async () => {
  const pg = await PostgresStore.open(await server.database());
  try {
    const midnight = Math.floor(Date.now() / DAY) * DAY;
    const e = dltEvent();
    const before = received(midnight - 100, { ...e });
    const after = received(midnight + 100, { ...e });
    assert.equal(await pg.insert([before]), 1);
    assert.equal(await pg.insert([after]), 0, "the replay after midnight is seen");
    assert.equal(
      await pg.insert([received(midnight + 200, dltEvent({ messageId: "twice" })), received(midnight + 300, dltEvent({ messageId: "twice" }))]),
      1,
    );
    const rows = await pg.query("SELECT tableoid::regclass::text AS part, count(*) AS n FROM events GROUP BY 1 ORDER BY 1");
    assert.deepEqual(rows, [
      { part: partitionName(midnight - DAY), n: 1 },
      { part: partitionName(midnight), n: 1 },
    ]);
  } finally {
    await pg.close();
  }
});

test(`dedup ids are kept ${DEDUP_DAYS} days from when they were stored: then housekeeping prunes them, never the events`, async () => {
  const pg = await PostgresStore.open(await server.database());
  try {
    const now = Date.now();
    await pg.insert([received(now - 3 * DAY), received(now)]);
    await pg.housekeep(undefined, now + (DEDUP_DAYS - 1) * DAY);
    assert.deepEqual(await pg.query("SELECT count(*) AS n FROM event_ids"), [{ n: 2 }]);
    await pg.housekeep(undefined, now + (DEDUP_DAYS + 1) * DAY);
    assert.deepEqual(await pg.query("SELECT count(*) AS n FROM event_ids"), [{ n: 0 }]);
    assert.deepEqual(await pg.query("SELECT count(*) AS n FROM events"), [{ n: 2 }]);
  } finally {
    await pg.close();
  }
});

test("partitions exist from yesterday to three days ahead, and an event of another day gets its own", async () => {
  const pg = await PostgresStore.open(await server.database());
  try {
    const today = Math.floor(Date.now() / DAY) * DAY;
    const parts = async (): Promise<string[]> =>
      (
        await pg.query(
          "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'events'::regclass ORDER BY 1",
        )
      ).map((r) => String(r["name"]));
    assert.deepEqual(
      await parts(),
      [-1, 0, 1, 2, 3].map((d) => partitionName(today + d * DAY)),
    );
    assert.equal(await pg.insert([received(today - 40 * DAY)]), 1);
    assert.ok((await parts()).includes(partitionName(today - 40 * DAY)));
  } finally {
    await pg.close();
  }
});

test("eight collectors opening one new database at once: one schema, every one of them works", async () => {
  const url = await server.database();
  const stores = await Promise.all(Array.from({ length: 8 }, () => PostgresStore.open(url)));
  try {
    const counts = await Promise.all(stores.map((s) => s.insert([received(Date.now())])));
    assert.deepEqual(counts, Array(8).fill(1));
    assert.deepEqual(await stores[0]!.query("SELECT count(*) AS n, max(version) AS v FROM _dlt_collector_schema"), [{ n: 1, v: MIGRATIONS.length }]);
    await Promise.all(stores.map((s) => s.probe()));
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
});

test("a message with \\u0000 in a string (which jsonb refuses) is stored, the NUL as U+FFFD", async () => {
  const pg = await PostgresStore.open(await server.database());
  try {
    const m = received(Date.now(), dltEvent({ event: "a\u0000b", properties: { s: "\\u0000 stays text", t: "x\u0000" } }));
    assert.match(m.json, /\\u0000/);
    assert.equal(await pg.insert([m]), 1);
    assert.deepEqual(await pg.query("SELECT event, message #>> '{properties,s}' AS s FROM events"), [{ event: "a\ufffdb", s: "\\u0000 stays text" }]);
  } finally {
    await pg.close();
  }
});

test("a database made before write-key labels (schema 1) gets the column when a collector opens it, its events without one", async () => {
  const url = await server.database();
  const old = new pg.Client({ connectionString: url });
  await old.connect();
  try {
    // The database as the first release of the PostgreSQL store left it, with one event.
    await old.query("BEGIN");
    await old.query(MIGRATIONS[0]!);
    await old.query("CREATE TABLE _dlt_collector_schema (version integer NOT NULL); INSERT INTO _dlt_collector_schema VALUES (1)");
    await old.query(createPartition(Math.floor(Date.now() / DAY) * DAY));
    await old.query(`INSERT INTO events (message_id, type, "timestamp", received_at, message) VALUES ('old', 'track', now(), now(), '{}')`);
    await old.query("COMMIT");
  } finally {
    await old.end();
  }
  const c = await startCollector({ port: 0, db: url, writeKeys: [{ label: "prod", key: "k-prod" }], readToken: "rt" });
  try {
    assert.equal((await post(c.url, "/v1/batch", { batch: [dltEvent()] }, { auth: "k-prod" })).status, 200);
    const rows = (await apiAnswer(c.url, "events", { from: "0" }, "rt")).rows;
    assert.deepEqual(
      rows.map((r) => [r["message_id"] === "old" ? "old" : "new", r["write_key_label"]]),
      [
        ["new", "prod"],
        ["old", null],
      ],
    );
    assert.deepEqual(await c.store.query("SELECT version FROM _dlt_collector_schema"), [{ version: MIGRATIONS.length }]);
  } finally {
    await c.close();
  }
});

test("the dashboard's queries leave a connection to writes: many at once all answer, and a write meanwhile does not wait for them", async () => {
  // Two connections, and a short wait for one: queries queued in the pool would fail after it.
  const store = await PostgresStore.open(await server.database(), { poolSize: 2, connectTimeoutMs: 300 });
  try {
    // 100,000 events received today, over a day of timestamps: each all-time query scans them all.
    await store.query(`INSERT INTO events (message_id, type, event, "timestamp", received_at, success, message)
      SELECT 'm' || i, 'track', 'pipeline_load', now() - i * interval '1 second', now(), i % 3 = 0, '{}' FROM generate_series(1, 100000) AS i`);
    const all = { from: 0, to: Date.now() + DAY, bucket: "hour" as const };
    const order: string[] = [];
    const reads = Array.from({ length: 30 }, (_, i) =>
      store.dashboard((["summary", "failures", "events_over_time"] as const)[i % 3]!, all).then(() => void order.push("read")),
    );
    const write = store.insert([received(Date.now())]).then((n) => void order.push(`write ${n}`));
    await Promise.all([...reads, write]);
    assert.equal(order.length, 31, "every query answered");
    assert.ok(order.indexOf("write 1") < 30, `the write waited for every read: ${order.indexOf("write 1")}`);
  } finally {
    await store.close();
  }
});

test("a server older than PostgreSQL 14 is refused with one line naming its version, and this one is accepted", async () => {
  assert.equal(serverVersionProblem(130_016, "13.16"), "PostgreSQL 13.16 is too old: the collector needs PostgreSQL 14 or newer");
  assert.equal(serverVersionProblem(Number.NaN, "?"), "PostgreSQL ? is too old: the collector needs PostgreSQL 14 or newer");
  assert.equal(serverVersionProblem(140_000, "14.0"), undefined);
  const store = await PostgresStore.open(await server.database());
  await store.close();
});
