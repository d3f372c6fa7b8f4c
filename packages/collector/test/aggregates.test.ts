// The dashboard's aggregates (issue 24) on every store (DuckDB, PostgreSQL, ClickHouse through chDB): a replayed
// messageId is counted once, a rolled-back write (the probe's) leaves them as they were, a database made before them
// gets them when opened (with progress), `migrate` carries them, `--raw-days` deletes raw events while the
// aggregates keep answering (an injected clock), and answers are exact while events wait for the roll-up (DuckDB and
// PostgreSQL, whose aggregates are rolled up off the commit path; ClickHouse's views fill them inside the insert).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { DASHBOARD_APIS, type DashboardApi, type Filter, type Rows } from "../src/dashboard/apis.js";
import { migrate } from "../src/migrate.js";
import { stamp, type StoredMessage } from "../src/stamp.js";
import { ClickHouseStore } from "../src/store/clickhouse.js";
import { DuckDbStore } from "../src/store/duckdb.js";
import { PostgresStore } from "../src/store/postgres.js";
import { ROLLUP_TABLES } from "../src/store/rollup.js";
import type { RollUpPolicy } from "../src/store/rollup-pending.js";
import type { EventStore, OpenProgress } from "../src/store/types.js";
import { dltEvent, tempDb, tempDir } from "./helpers.js";
import { testPostgres, type TestPostgres } from "./postgres-server.js";

const DAY = 86_400_000;
const H = 3_600_000;
let server: TestPostgres;
before(async () => {
  server = await testPostgres();
});
after(() => server.close());

type Kind = "duckdb" | "postgres" | "chdb";
// chDB binds one directory per process: each fresh ClickHouse store is a database of its own in it.
const chdbDir = tempDir("chdb-");
let chdbDatabases = 0;
const freshDb = async (kind: Kind): Promise<string> =>
  kind === "duckdb" ? tempDb() : kind === "postgres" ? server.database() : `chdb:${chdbDir}?database=a${++chdbDatabases}`;
const open = async (kind: Kind, db?: string, progress?: OpenProgress): Promise<EventStore> => {
  const at = db ?? (await freshDb(kind));
  const options = progress ? { progress } : {};
  return kind === "duckdb"
    ? DuckDbStore.open(at, options)
    : kind === "postgres"
      ? PostgresStore.open(at, options)
      : ClickHouseStore.open(at, options);
};
/** A store that rolls its queue up by `rollUp`'s policy (DuckDB and PostgreSQL). */
const openQueued = async (kind: "duckdb" | "postgres", rollUp: RollUpPolicy): Promise<DuckDbStore | PostgresStore> =>
  kind === "duckdb" ? DuckDbStore.open(tempDb(), { rollUp }) : PostgresStore.open(await server.database(), { rollUp });
/** A roll-up that never comes on its own: the test says when. */
const NEVER: RollUpPolicy = { rows: Number.MAX_SAFE_INTEGER, ms: 3_600_000 };

/** Step `i % 3` of run `i / 3`, received at `at` (its timestamp the same), with an elapsed and a success of its own. */
function step(at: number, i: number, extra: Record<string, unknown> = {}): StoredMessage {
  const steps = ["extract", "normalize", "load"] as const;
  const name = steps[i % 3]!;
  const e = dltEvent({ event: `pipeline_${name}`, timestamp: new Date(at).toISOString() });
  e["properties"] = {
    event_category: "pipeline",
    event_name: name,
    elapsed: 0.05 * (1 + (i % 17)),
    success: i % 7 !== 0,
    // A run's three steps share its destination and id (unique per time and run).
    destination_name: ["duckdb", "postgres"][Math.floor(i / 3) % 2],
    transaction_id: `${at.toString(16)}-${Math.floor(i / 3)}`,
    ...extra,
  };
  return stamp(e, "track", at, new Date(at).toISOString(), null);
}

const everything: Filter = { from: -8.64e15, to: 8.64e15, bucket: "day" };
const count = async (s: EventStore, sql: string): Promise<number> => Number((await s.query(sql))[0]!["n"]);
/** The events not yet aggregated: DuckDB's past the roll-up's mark, PostgreSQL's queue; none on ClickHouse. */
const pendingOf = (s: EventStore): string | undefined =>
  s instanceof DuckDbStore
    ? "(SELECT * FROM events WHERE rollup_seq > (SELECT seq FROM _dlt_rollup_mark))"
    : s instanceof PostgresStore
      ? "rollup_pending"
      : undefined;
/** The events, or the events an aggregate table counts, those still pending for it included. */
const total = async (s: EventStore, table: string): Promise<number> => {
  if (table === "events") return count(s, "SELECT count(*) AS n FROM events");
  const from = pendingOf(s);
  const pending =
    from === undefined
      ? 0
      : await count(s, `SELECT count(*) AS n FROM ${from} AS p${table.startsWith("rollup_elapsed") ? " WHERE elapsed IS NOT NULL" : ""}`);
  return (await count(s, `SELECT coalesce(sum(n), 0) AS n FROM ${table}`)) + pending;
};
const queued = (s: EventStore): Promise<number> => count(s, `SELECT count(*) AS n FROM ${pendingOf(s)} AS p`);

/** Every API but the live view, from the aggregates, as from the raw events (elapsed: counts; percentiles within 5 %). */
async function sameBothWays(s: EventStore, f: Filter, what: string): Promise<void> {
  for (const api of DASHBOARD_APIS.filter((a): a is Exclude<DashboardApi, "events"> => a !== "events")) {
    const [rolled, raw]: Rows[] = [await s.dashboard(api, f), await s.dashboard(api, f, "events")];
    if (api !== "elapsed") assert.deepEqual(rolled, raw, `${what}: ${api}`);
    else {
      assert.deepEqual(
        rolled!.map((r) => [r["event"], r["n"]]),
        raw!.map((r) => [r["event"], r["n"]]),
        `${what}: elapsed`,
      );
      raw!.forEach((r, i) => {
        for (const p of ["p50", "p95"])
          assert.ok(Math.abs((rolled![i]![p] as number) - (r[p] as number)) <= 0.05 * (r[p] as number) + 0.0005, `${what}: ${p}`);
      });
    }
  }
}

for (const kind of ["duckdb", "postgres", "chdb"] as const) {
  test(`${kind}: a replayed messageId is counted once, and a rolled-back write leaves the aggregates as they were`, async () => {
    const s = await open(kind);
    try {
      const now = Date.now();
      const first = Array.from({ length: 30 }, (_, i) => step(now - (Math.floor(i / 3) % 5) * H, i));
      assert.equal(await s.insert(first), 30);
      // A group holding 10 of those again (a client's retry) and 5 new ones.
      const again = [...first.slice(0, 10), ...Array.from({ length: 5 }, (_, i) => step(now, 100 + i))];
      assert.equal(await s.insert(again), 5);
      assert.equal(await s.insert(first.slice(20)), 0, "a group of nothing but replays");
      assert.equal(await total(s, "events"), 35);
      assert.equal(await total(s, "rollup"), 35, "each stored event counted once");
      assert.equal(await total(s, "rollup_elapsed"), 35);
      const before = await s.dashboard("summary", everything);
      // The probe inserts a message through the real insert path, aggregates included, then rolls it back.
      await s.probe();
      assert.equal(await total(s, "rollup"), 35, "the rolled-back probe left no aggregate behind");
      assert.deepEqual(await s.dashboard("summary", everything), before);
      await sameBothWays(s, everything, kind);
      await sameBothWays(s, { from: now - 3 * H - 1234, to: now - H + 99, bucket: "hour" }, `${kind} off the hour`);
      if (s instanceof DuckDbStore || s instanceof PostgresStore) {
        // Rolled up, the same: every stored event in the aggregate tables once, the queue empty.
        await s.rollUp();
        assert.equal(await queued(s), 0);
        for (const table of ROLLUP_TABLES) assert.equal(await total(s, table), 35, table);
        await s.insert(again);
        await s.rollUp();
        assert.equal(await total(s, "rollup"), 35, "a replay after the roll-up is not counted again");
        assert.deepEqual(await s.dashboard("summary", everything), before);
      }
    } finally {
      await s.close();
    }
  });

  test(`${kind}: a database made before the aggregates gets them when it is opened, chunk by chunk, with progress`, async () => {
    const db = await freshDb(kind);
    const now = Date.now();
    const s = await open(kind, db);
    // Three days of events, then the aggregates taken away: a database as an earlier version left it.
    await s.insert(Array.from({ length: 60 }, (_, i) => step(now - Math.floor(i / 21) * DAY - (Math.floor(i / 3) % 4) * H, i)));
    // On ClickHouse the views that fill them go too (dropped first: a view's target must exist while it does).
    const views = kind === "chdb" ? ROLLUP_TABLES.map((t) => `${t}_mv`) : [];
    const queue = kind === "duckdb" ? ["_dlt_rollup_mark"] : kind === "postgres" ? ["rollup_pending"] : [];
    for (const table of [...views, ...ROLLUP_TABLES, ...queue, "_dlt_collector_rollup"]) await s.query(`DROP TABLE ${table}`);
    if (kind === "postgres") await s.query("UPDATE _dlt_collector_schema SET version = 2");
    await s.close();
    const seen: [number, number][] = [];
    const reopened = await open(kind, db, (d, t) => seen.push([d, t]));
    try {
      assert.equal(await total(reopened, "rollup"), 60, "every older event aggregated once");
      assert.ok(seen.length >= 3, `one progress call per day at least: ${JSON.stringify(seen)}`);
      assert.deepEqual(seen.at(-1), [60, 60]);
      await sameBothWays(reopened, everything, `${kind} backfilled`);
      // Once built, the next open does nothing more.
      await reopened.insert([step(now, 999)]);
    } finally {
      await reopened.close();
    }
    const third = await open(kind, db);
    try {
      assert.equal(await total(third, "rollup"), 61);
    } finally {
      await third.close();
    }
  });

  test(`${kind}: a database made before first_run_of_version gets it at open: installs counted, compacting keeps them`, async () => {
    const db = await freshDb(kind);
    const now = Date.now();
    // Not part of a run (no transaction id): the runs stay whole, so the aggregates count them exactly.
    const install = (at: number, i: number): StoredMessage => step(at, i, { first_run_of_version: true, transaction_id: undefined });
    const s = await open(kind, db);
    await s.insert(Array.from({ length: 9 }, (_, i) => step(now - Math.floor(i / 3) * H, i)));
    // The column and the dimension taken away: events and aggregates as the version before issue 26 left them. On
    // ClickHouse that version had no aggregates (they came with this one): its views and tables go, then the column.
    if (kind === "chdb") {
      for (const table of [...ROLLUP_TABLES.map((t) => `${t}_mv`), ...ROLLUP_TABLES, "_dlt_collector_rollup"]) await s.query(`DROP TABLE ${table}`);
      await s.query("ALTER TABLE events DROP COLUMN first_run_of_version");
    } else for (const table of ["events", "rollup", "rollup_day"]) await s.query(`ALTER TABLE ${table} DROP COLUMN first_run_of_version`);
    if (kind === "postgres") await s.query("UPDATE _dlt_collector_schema SET version = 4");
    await s.close();
    const reopened = await open(kind, db);
    try {
      await reopened.insert([install(now, 100), install(now - H, 101), step(now, 102, { transaction_id: undefined })]);
      const installs = async (): Promise<unknown[]> => (await reopened.dashboard("installs", everything)).map((r) => [r["version"], r["n"]]);
      assert.deepEqual(await installs(), [["dlt-ts 0.1.0", 2]], "the events stored before hold no install");
      // Compacting rewrites the rows of the last days: the dimension added last must land in its own column.
      await reopened.housekeep(undefined);
      assert.equal(await total(reopened, "rollup"), 12);
      assert.deepEqual(await installs(), [["dlt-ts 0.1.0", 2]]);
      await sameBothWays(reopened, everything, `${kind} after the new dimension`);
    } finally {
      await reopened.close();
    }
  });

  if (kind !== "chdb") {
    test(`${kind}: answers are exact while events wait for the roll-up, before and after it`, async () => {
      const s = await openQueued(kind, NEVER);
      try {
        const now = Date.now();
        const hour = Math.floor(now / H) * H;
        // Rolled up: events of 3 days ago and of the last hours.
        await s.insert(Array.from({ length: 30 }, (_, i) => step(now - 3 * DAY - (Math.floor(i / 3) % 4) * H, i)));
        await s.rollUp();
        // Queued: more in the same days and hours, so an answer from the aggregate tables alone is short of them.
        await s.insert(Array.from({ length: 24 }, (_, i) => step(now - 3 * DAY - (Math.floor(i / 3) % 4) * H - 60_000, 102 + i)));
        await s.insert(Array.from({ length: 12 }, (_, i) => step(hour - (Math.floor(i / 3) % 3) * H - 1_000, 201 + i)));
        assert.equal(await queued(s), 36, "the last two groups wait for the roll-up");
        assert.equal(await count(s, "SELECT coalesce(sum(n), 0) AS n FROM rollup"), 30);
        assert.equal((await s.dashboard("summary", everything))[0]!["events"], 66, "the queued events are counted");
        const ranges: Filter[] = [
          everything,
          { from: now - 30 * DAY, to: now + 60_000, bucket: "day" },
          { from: now - 4 * DAY, to: now + 60_000, bucket: "hour" },
          { from: hour - 2 * H - 17_000, to: hour - H + 1, bucket: "hour" },
          { from: hour - 5 * H, to: hour, bucket: "day" },
        ];
        for (const f of ranges) await sameBothWays(s, f, `${kind} queued ${JSON.stringify(f)}`);
        await s.rollUp();
        assert.equal(await queued(s), 0);
        assert.equal(await count(s, "SELECT coalesce(sum(n), 0) AS n FROM rollup"), 66);
        for (const f of ranges) await sameBothWays(s, f, `${kind} rolled up ${JSON.stringify(f)}`);
      } finally {
        await s.close();
      }
    });

    test(`${kind}: the queue is rolled up on its own, at the policy's count of events`, async () => {
      const s = await openQueued(kind, { rows: 20, ms: 3_600_000 });
      try {
        await s.insert(Array.from({ length: 12 }, (_, i) => step(Date.now(), i)));
        assert.equal(await queued(s), 12, "under the count: queued");
        await s.insert(Array.from({ length: 12 }, (_, i) => step(Date.now(), 100 + i)));
        const deadline = Date.now() + 10_000;
        while ((await queued(s)) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        assert.equal(await queued(s), 0, "past the count: rolled up");
        assert.equal(await count(s, "SELECT coalesce(sum(n), 0) AS n FROM rollup"), 24);
      } finally {
        await s.close();
      }
    });
  }

  test(`${kind}: --raw-days deletes raw events past it (injected clock) while the aggregates keep answering for --retain-days`, async () => {
    const s = await open(kind);
    try {
      const now = Date.now();
      // Events 1, 10 and 40 days ago, received when they happened.
      const events = [
        ...Array.from({ length: 9 }, (_, i) => step(now - DAY, i)),
        ...Array.from({ length: 6 }, (_, i) => step(now - 10 * DAY, i)),
        ...Array.from({ length: 3 }, (_, i) => step(now - 40 * DAY, i)),
      ];
      await s.insert(events);
      // What the raw events answer before: all of them but those the retention will remove.
      const kept = { from: now - 20 * DAY, to: 8.64e15, bucket: "day" as const };
      const before = new Map<string, Rows>();
      for (const api of DASHBOARD_APIS) if (api !== "events") before.set(api, await s.dashboard(api, kept, "events"));
      // The clock says 2 days later: raw events kept 7 days, aggregates 30.
      const r = await s.housekeep(30, now + 2 * DAY, 7);
      assert.equal(r.rawRemoved, 6, "the events of 10 days ago are gone from the raw events");
      assert.equal(r.removed, 3, "the events of 40 days ago are gone for good");
      assert.equal(await total(s, "events"), 9);
      assert.equal(await total(s, "rollup"), 15);
      // Every API but the live view still counts the events of 10 days ago, from the aggregates.
      for (const [api, rows] of before) {
        const now = await s.dashboard(api as DashboardApi, everything);
        if (api === "elapsed")
          assert.deepEqual(
            now.map((x) => [x["event"], x["n"]]),
            rows.map((x) => [x["event"], x["n"]]),
            api,
          );
        else if (api !== "extent") assert.deepEqual(now, rows, api);
      }
      assert.equal((await s.dashboard("summary", everything))[0]!["events"], 15);
      const live = await s.dashboard("events", { ...everything, limit: 500 });
      assert.equal(live.length, 9, "the live view has the last 7 days");
      const tenDaysAgo = { from: now - 10 * DAY - 2 * H - 1, to: now - 10 * DAY + 2 * H + 7, bucket: "hour" as const };
      assert.equal(
        sum(await s.dashboard("events_over_time", tenDaysAgo), "n"),
        6,
        "a range past --raw-days is answered by whole hours from the aggregates",
      );
      assert.equal(sum(await s.dashboard("events_over_time", tenDaysAgo, "events"), "n"), 0, "its raw events are gone");
    } finally {
      await s.close();
    }
  });
}

const sum = (rows: Rows, key: string): number => rows.reduce((a, r) => a + Number(r[key]), 0);

for (const kind of ["postgres", "chdb"] as const)
  test(`migrate carries the aggregates: ${kind === "postgres" ? "PostgreSQL" : "ClickHouse"}'s answer as the file's`, async () => {
    const file = tempDb();
    const duck = await DuckDbStore.open(file);
    const now = Date.now();
    await duck.insert(Array.from({ length: 45 }, (_, i) => step(now - (Math.floor(i / 3) % 9) * DAY - (Math.floor(i / 3) % 3) * H, i)));
    const expected = new Map<string, Rows>();
    for (const api of DASHBOARD_APIS) if (api !== "events") expected.set(api, await duck.dashboard(api, everything));
    await duck.close();
    const url = await freshDb(kind);
    await migrate({ from: file, to: url });
    const pg = await open(kind, url);
    try {
      assert.equal(await total(pg, "rollup"), 45);
      for (const [api, rows] of expected) assert.deepEqual(await pg.dashboard(api as DashboardApi, everything), rows, api);
      await sameBothWays(pg, everything, "migrated");
    } finally {
      await pg.close();
    }
  });
