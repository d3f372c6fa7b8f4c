// The one list of stored columns (`store/columns.ts`) is what every store's `events` table holds: each column, its
// type in that store and whether it is nullable, in a new database and in one an earlier version made; and the
// PostgreSQL migrations that made earlier databases are what they were.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { DuckDBInstance } from "@duckdb/node-api";
import pg from "pg";
import { stamp } from "../src/stamp.js";
import { COLUMNS, isNullable, REFUSED_COLUMNS, typeIn, type CountKinds, type StoreKinds } from "../src/store/columns.js";
import { DUCKDB_COUNT_KINDS, DUCKDB_KINDS, DuckDbStore } from "../src/store/duckdb.js";
import { PostgresStore } from "../src/store/postgres.js";
import { MIGRATIONS, POSTGRES_COUNT_KINDS, POSTGRES_KINDS } from "../src/store/postgres-schema.js";
import type { EventStore } from "../src/store/types.js";
import { dltEvent, tempDb } from "./helpers.js";
import { testPostgres, type TestPostgres } from "./postgres-server.js";

interface Described {
  readonly name: string;
  readonly type: string;
  readonly nullable: boolean;
}

/** The columns a store should have, by name: `canonical` spells a type as the database's catalogue does. */
async function expected(kinds: StoreKinds, canonical: (type: string) => Promise<string> | string): Promise<Described[]> {
  const all = await Promise.all(COLUMNS.map(async (c) => ({ name: c.name, type: await canonical(typeIn(kinds, c)), nullable: isNullable(c) })));
  return all.sort((a, b) => a.name.localeCompare(b.name));
}

/** The `events` table's columns, by name, from the catalogue. */
async function described(store: EventStore): Promise<Described[]> {
  const rows = await store.query(
    // `rollup_seq`: DuckDB's mark of what the roll-up has not yet aggregated (duckdb.ts), the store's, not a stored column.
    "SELECT column_name AS name, data_type AS type, is_nullable AS nullable FROM information_schema.columns WHERE table_name = 'events' AND column_name <> 'rollup_seq' ORDER BY column_name",
  );
  return rows.map((r) => ({ name: String(r["name"]), type: String(r["type"]), nullable: r["nullable"] === "YES" }));
}

/** The `refused` table's columns as the catalogue describes them, and as `REFUSED_COLUMNS` says they should be. */
async function refusedTable(
  store: EventStore,
  kinds: CountKinds,
  canonical: (type: string) => Promise<string> | string,
): Promise<[Described[], Described[]]> {
  const rows = await store.query(
    "SELECT column_name AS name, data_type AS type, is_nullable AS nullable FROM information_schema.columns WHERE table_name = 'refused' ORDER BY ordinal_position",
  );
  const actual = rows.map((r) => ({ name: String(r["name"]), type: String(r["type"]), nullable: r["nullable"] === "YES" }));
  const wanted = await Promise.all(REFUSED_COLUMNS.map(async (c) => ({ name: c.name, type: await canonical(kinds[c.kind]), nullable: false })));
  return [actual, wanted];
}

/** Counts refused messages twice and reads them back: a row per key, its count added to. */
async function countsRefused(store: EventStore): Promise<void> {
  const day = Date.UTC(2026, 0, 1);
  await store.insert([], [{ day, reason: "unknown_event", event: "x", n: 2 }]);
  await store.insert(
    [],
    [
      { day, reason: "unknown_event", event: "x", n: 3 },
      { day, reason: "not_track", event: "identify", n: 1 },
    ],
  );
  const rows = await store.query("SELECT reason, event, n FROM refused ORDER BY reason");
  assert.deepEqual(
    rows.map((r) => [r["reason"], r["event"], Number(r["n"])]),
    [
      ["not_track", "identify", 1],
      ["unknown_event", "x", 5],
    ],
  );
}

/** Stores a message and reads its typed columns back: the table takes what the insert writes. */
async function takesAnEvent(store: EventStore): Promise<void> {
  const m = stamp(dltEvent({ writeKeyLabel: "ci", properties: { source_name: "chess" } }), "track", Date.now(), new Date().toISOString(), null);
  assert.equal(await store.insert([m]), 1);
  assert.deepEqual(await store.query("SELECT source_name, write_key_label FROM events WHERE message_id = ?", [m.messageId]), [
    { source_name: "chess", write_key_label: "ci" },
  ]);
}

describe("on DuckDB", () => {
  const duckType = (type: string): string => type;

  test("a new database's events table has the columns of columns.ts, in their order", async () => {
    const store = await DuckDbStore.open(tempDb());
    try {
      assert.deepEqual(await described(store), await expected(DUCKDB_KINDS, duckType));
      const order = await store.query(
        "SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'events' AND column_name <> 'rollup_seq' ORDER BY ordinal_position",
      );
      assert.deepEqual(
        order.map((r) => r["name"]),
        COLUMNS.map((c) => c.name),
      );
    } finally {
      await store.close();
    }
  });

  test("a file made with only the required columns gets every other column at open, and keeps its events", async () => {
    const db = tempDb();
    const instance = await DuckDBInstance.create(db);
    const old = await instance.connect();
    await old.run(`CREATE TABLE events ("message_id" VARCHAR PRIMARY KEY, "type" VARCHAR NOT NULL, "timestamp" TIMESTAMP NOT NULL,
      "received_at" TIMESTAMP NOT NULL, "message" VARCHAR NOT NULL)`);
    await old.run("INSERT INTO events VALUES ('old', 'track', now(), now(), '{}')");
    old.closeSync();
    instance.closeSync();
    const store = await DuckDbStore.open(db);
    try {
      assert.deepEqual(await described(store), await expected(DUCKDB_KINDS, duckType));
      await takesAnEvent(store);
      assert.deepEqual(await store.query("SELECT message_id, source_name FROM events WHERE message_id = 'old'"), [
        { message_id: "old", source_name: null },
      ]);
    } finally {
      await store.close();
    }
  });
});

describe("the refused counts (REFUSED_COLUMNS)", () => {
  test("DuckDB's refused table has the columns of columns.ts and adds counts per key", async () => {
    const store = await DuckDbStore.open(tempDb());
    try {
      const [actual, wanted] = await refusedTable(store, DUCKDB_COUNT_KINDS, (t) => t);
      assert.deepEqual(actual, wanted);
      await countsRefused(store);
    } finally {
      await store.close();
    }
  });

  test("PostgreSQL's refused table has the columns of columns.ts and adds counts per key", async () => {
    const server = await testPostgres();
    try {
      const store = await PostgresStore.open(await server.database());
      try {
        const canonical = async (type: string): Promise<string> => String((await store.query("SELECT ?::regtype::text AS t", [type]))[0]?.["t"]);
        const [actual, wanted] = await refusedTable(store, POSTGRES_COUNT_KINDS, canonical);
        assert.deepEqual(actual, wanted);
        await countsRefused(store);
      } finally {
        await store.close();
      }
    } finally {
      await server.close();
    }
  });
});

describe("on PostgreSQL", () => {
  let server: TestPostgres;
  before(async () => {
    server = await testPostgres();
  });
  after(() => server.close());

  /** A type as PostgreSQL's catalogue spells it (`timestamptz` is `timestamp with time zone`). */
  const pgType =
    (store: EventStore) =>
    async (type: string): Promise<string> =>
      String((await store.query("SELECT ?::regtype::text AS t", [type]))[0]?.["t"]);

  test("a new database's events table has the columns of columns.ts", async () => {
    const store = await PostgresStore.open(await server.database());
    try {
      assert.deepEqual(await described(store), await expected(POSTGRES_KINDS, pgType(store)));
      await takesAnEvent(store);
    } finally {
      await store.close();
    }
  });

  test("a database an earlier version made gets every later column when a collector opens it", async () => {
    // One database at each schema version before this one, as that version left it.
    for (let version = 1; version < MIGRATIONS.length; version++) {
      const url = await server.database();
      const old = new pg.Client({ connectionString: url });
      await old.connect();
      try {
        for (const migration of MIGRATIONS.slice(0, version)) await old.query(migration);
        await old.query("CREATE TABLE _dlt_collector_schema (version integer NOT NULL)");
        await old.query("INSERT INTO _dlt_collector_schema VALUES ($1)", [version]);
      } finally {
        await old.end();
      }
      const store = await PostgresStore.open(url);
      try {
        assert.deepEqual(await described(store), await expected(POSTGRES_KINDS, pgType(store)), `a database at schema version ${version}`);
        await takesAnEvent(store);
      } finally {
        await store.close();
      }
    }
  });
});

describe("the PostgreSQL migrations", () => {
  test("the first one makes the events table with the columns it always had", () => {
    const columns = /CREATE TABLE IF NOT EXISTS events \(([^]*?),\s*PRIMARY KEY \(message_id, received_at\)\)/.exec(MIGRATIONS[0] ?? "")?.[1];
    assert.equal(
      columns,
      `"message_id" text NOT NULL, "type" text NOT NULL, "event" text, "anonymous_id" text, "user_id" text, "timestamp" timestamptz NOT NULL, ` +
        `"original_timestamp" timestamptz, "sent_at" timestamptz, "received_at" timestamptz NOT NULL, "library_name" text, "library_version" text, ` +
        `"os_name" text, "os_version" text, "runtime_name" text, "runtime_version" text, "ci_run" boolean, "cpu" integer, "exec_info" text, ` +
        `"event_category" text, "event_name" text, "success" boolean, "elapsed" double precision, "destination_name" text, "destination_type" text, ` +
        `"pipeline_name" text, "source_name" text, "transaction_id" text, "message" jsonb NOT NULL`,
    );
  });

  test("are never edited: each one's text is what it was when released (append a new one instead)", () => {
    // SHA-256 (first 16 hex digits) of each migration's text; a new migration appends its own.
    const released = ["1ab3fd3beb4ece76", "d9196eb13ee64913", "021a273d82643189", "58fb828ec02442f4", "67457a16132ff773", "c087d953afb8887c"];
    const now = MIGRATIONS.map((m) => createHash("sha256").update(m).digest("hex").slice(0, 16));
    assert.deepEqual(now.slice(0, released.length), released);
    assert.equal(now.length, released.length, "a new migration: add its hash here");
  });
});
