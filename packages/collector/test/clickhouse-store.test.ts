// The ClickHouse store on a real ClickHouse: chDB (npm `chdb`, ClickHouse 26) in the collector's own process, through
// the very code path a ClickHouse server gets (`@clickhouse/client`, its connection being chDB's). What this cannot
// cover: the HTTP transport to a server, and replication (no ClickHouse server can be installed here).
// chDB binds one data directory per process: the stores of this file are databases of one directory, and the tests
// that kill or limit a collector run it as a child process with a directory of its own.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ClickHouseStore } from "../src/store/clickhouse.js";
import { COLUMNS } from "../src/store/columns.js";
import { clickhouseType } from "../src/store/clickhouse-schema.js";
import { DuckDbStore } from "../src/store/duckdb.js";
import { migrate } from "../src/migrate.js";
import { startCollector } from "../src/index.js";
import type { StoredMessage } from "../src/stamp.js";
import { dltEvent, exited, loadThenKill, pollUntil, post, startChild, tempDb, tempDir } from "./helpers.js";
import { apiAnswer } from "./dashboard-client.js";

const DAY = 86_400_000;
const dir = tempDir("chdb-");
let databases = 0;
/** A fresh ClickHouse store: a database of its own in this process's chDB directory. */
const freshDb = (): string => `chdb:${dir}?database=s${++databases}`;
const opened: ClickHouseStore[] = [];
const open = async (db = freshDb()): Promise<ClickHouseStore> => {
  const s = await ClickHouseStore.open(db);
  opened.push(s);
  return s;
};
after(async () => {
  for (const s of opened) await s.close().catch(() => undefined);
});

/** A stamped message as the collector stores it, received at `receivedAt`. */
function stamped(messageId: string, receivedAt: number, extra: Record<string, unknown> = {}): StoredMessage {
  const at = new Date(receivedAt).toISOString();
  return { messageId, json: JSON.stringify({ ...dltEvent({ messageId, timestamp: at }), type: "track", receivedAt: at, sentAt: at, ...extra }) };
}

const count = async (s: ClickHouseStore, where = "1 = 1", params: (string | number)[] = []): Promise<number> =>
  Number((await s.query(`SELECT count(*) AS n FROM events WHERE ${where}`, params))[0]!["n"]);

test("the events table has exactly the columns of columns.ts, typed, partitioned by day, with the dedup projection", async () => {
  const s = await open();
  const cols = await s.query("SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = 'events' ORDER BY position");
  assert.deepEqual(
    cols.map((c) => [c["name"], c["type"]]),
    COLUMNS.map((c) => [c.name, clickhouseType(c)]),
  );
  const [t] = await s.query(
    "SELECT engine, partition_key, sorting_key, create_table_query FROM system.tables WHERE database = currentDatabase() AND name = 'events'",
  );
  assert.equal(t!["engine"], "MergeTree");
  assert.equal(t!["partition_key"], "toDate(received_at)");
  assert.match(String(t!["sorting_key"]), /^toStartOfDay\(timestamp\), event, timestamp/);
  assert.match(String(t!["create_table_query"]), /PROJECTION by_id/);
  assert.match(String(t!["create_table_query"]), /fsync_after_insert = 1/);
  assert.ok(cols.some((c) => c["name"] === "event_name" && String(c["type"]).startsWith("LowCardinality")));
  assert.ok(cols.some((c) => c["name"] === "anonymous_id" && c["type"] === "Nullable(String)"));
});

test("typed columns: the same values DuckDB extracts, for ordinary and odd messages", async () => {
  const s = await open();
  const duck = await DuckDbStore.open(":memory:");
  try {
    const now = Date.now();
    const odd = [
      stamped("m1", now),
      stamped("m2", now, {
        context: { python: "3.12.3", ci_run: "yes", cpu: "7.9", exec_info: ["docker", 5] },
        properties: { success: "n", elapsed: "2.5" },
      }),
      stamped("m3", now, {
        event: 12,
        context: { cpu: 0, ci_run: 2, runtime: { name: "bun" } },
        properties: { success: 1, elapsed: true, destination_type: "dlt.destinations.duckdb" },
      }),
      stamped("m4", now, { context: "odd", properties: { event_name: "é".repeat(300) } }),
    ];
    await s.insert(odd);
    await duck.insert(odd);
    const names = COLUMNS.filter((c) => c.kind !== "timestamp" && c.kind !== "message").map((c) => c.name);
    const select = `SELECT ${names.map((n) => `"${n}"`).join(", ")} FROM events ORDER BY message_id`;
    const norm = (rows: Record<string, unknown>[]): unknown =>
      rows.map((r) => Object.fromEntries(names.map((n) => [n, r[n] === undefined ? null : r[n]])));
    assert.deepEqual(norm(await s.query(select.replaceAll('"', "`"))), norm(await duck.query(select)));
    const times = await s.query(
      "SELECT toUnixTimestamp64Milli(received_at) AS r, toUnixTimestamp64Milli(timestamp) AS t FROM events WHERE message_id = 'm1'",
    );
    assert.deepEqual(times, [{ r: now, t: now }]);
  } finally {
    await duck.close();
  }
});

test("a replayed messageId is stored once: within a group, in a later group, and received on another day", async () => {
  const s = await open();
  const now = Date.now();
  assert.equal(await s.insert([stamped("a", now), stamped("b", now), stamped("a", now)]), 2);
  assert.equal(await s.insert([stamped("a", now + 1000), stamped("c", now)]), 1);
  // Received three days later: another partition, where ReplacingMergeTree would never see the first.
  assert.equal(await s.insert([stamped("b", now + 3 * DAY)]), 0);
  // Concurrent groups of one collector holding the same ids: they take turns, so each id lands once.
  const groups = Array.from({ length: 8 }, (_, g) => Array.from({ length: 50 }, (_, i) => stamped(`x${(g * 25 + i) % 120}`, now)));
  const added = await Promise.all(groups.map((g) => s.insert(g)));
  assert.equal(
    added.reduce((a, b) => a + b, 0),
    120,
  );
  assert.equal(await count(s), 123);
  assert.equal(Number((await s.query("SELECT uniqExact(message_id) AS n FROM events"))[0]!["n"]), 123);
  // And through the HTTP API of a collector: a batch sent twice counts once in the dashboard.
  const c = await startCollector({ port: 0, db: freshDb() });
  try {
    const batch = Array.from({ length: 30 }, () => dltEvent());
    for (let i = 0; i < 3; i++) assert.equal((await post(c.url, "/v1/batch", { batch })).status, 200);
    assert.equal((await apiAnswer(c.url, "summary")).rows[0]!["events"], 30);
  } finally {
    await c.close();
  }
});

test("retention drops whole UTC days by partition, and the summary says how many days are kept", async () => {
  const s = await open();
  const now = Date.UTC(2026, 5, 15, 12);
  const msgs = [0, 1, 2, 5, 6, 9].flatMap((d) => [stamped(`d${d}a`, now - d * DAY), stamped(`d${d}b`, now - d * DAY + 60_000)]);
  assert.equal(await s.insert(msgs), 12);
  const r = await s.housekeep(5, now);
  // Cut at the start of the UTC day holding now - 5 days: days 0, 1, 2 and 5 stay; 6 and 9 go.
  assert.deepEqual(r, { removed: 4, cutoff: Date.UTC(2026, 5, 10) });
  assert.equal(await count(s), 8);
  const parts = await s.query(
    "SELECT DISTINCT partition_id AS p FROM system.parts WHERE database = currentDatabase() AND table = 'events' AND active ORDER BY p",
  );
  assert.deepEqual(
    parts.map((p) => p["p"]),
    ["20260610", "20260613", "20260614", "20260615"],
  );
  assert.deepEqual(await s.housekeep(5, now), { removed: 0, cutoff: Date.UTC(2026, 5, 10) });
  assert.deepEqual(await s.housekeep(undefined, now), { removed: 0, cutoff: undefined });
});

test("several collectors starting at once on one empty database: one schema, and all of them take events", async () => {
  const db = freshDb();
  const stores = await Promise.all(Array.from({ length: 6 }, () => open(db)));
  const now = Date.now();
  await Promise.all(stores.map((s, i) => s.insert([stamped(`w${i}`, now)])));
  assert.equal(await count(stores[0]!), 6);
  const views = await stores[0]!.query("SELECT count(*) AS n FROM system.tables WHERE database = currentDatabase() AND name = 'events_extract'");
  assert.deepEqual(views, [{ n: 1 }]);
});

test("chdb: without the chdb package is an error naming the package to install", async () => {
  await assert.rejects(ClickHouseStore.open(`chdb:${join(dir, "none")}`, { chdbModule: "chdb-not-installed-here/connection" }), (e: Error) => {
    assert.match(e.message, /needs the npm package "chdb".*npm install chdb/);
    return true;
  });
  await assert.rejects(ClickHouseStore.open(`chdb:${dir}?database=a-b`), /database must be letters, digits and _/);
});

test("migrate --to chdb:: every event of a DuckDB file, idempotent", async () => {
  const file = tempDb();
  const duck = await DuckDbStore.open(file);
  const now = Date.now();
  await duck.insert(Array.from({ length: 1200 }, (_, i) => stamped(`m${i}`, now - (i % 4) * DAY)));
  await duck.close();
  const to = freshDb();
  const first = await migrate({ from: file, to, batchSize: 500 });
  assert.deepEqual([first.sourceEvents, first.targetBefore, first.targetAfter, first.added], [1200, 0, 1200, 1200]);
  const again = await migrate({ from: file, to, batchSize: 500 });
  assert.deepEqual([again.targetBefore, again.targetAfter, again.added], [1200, 1200, 0]);
  const s = await open(to);
  assert.equal(Number((await s.query("SELECT count(DISTINCT toDate(received_at)) AS n FROM events"))[0]!["n"]), 4);
});

test("kill -9 during a load from 6 concurrent senders on chdb:: every acknowledged event survives the restart, aggregated once", async () => {
  const db = `chdb:${tempDir("chdb-kill-")}`;
  const { child, url } = await startChild(["--port", "0", "--db", db]);
  const acked = await loadThenKill(child, url, 1000);
  // Read in a child of its own too: this process's chDB is bound to another directory.
  const again = await startChild(["--port", "0", "--db", db]);
  try {
    // Every stored event, through the live view's pages.
    const stored = new Set<string>();
    let before: string | null = null;
    do {
      const page = await apiAnswer(again.url, "events", { limit: "500", from: String(Date.now() - DAY), ...(before ? { before } : {}) });
      for (const r of page.rows) stored.add(String(r["message_id"]));
      before = page.next ?? null;
    } while (before);
    assert.deepEqual(
      acked.filter((id) => !stored.has(id)),
      [],
      `${acked.length} acknowledged, ${stored.size} stored`,
    );
    // The aggregates (written by the views inside each insert) count the events stored, no more, no fewer.
    const summary = await apiAnswer(again.url, "summary", { from: String(Date.now() - DAY) });
    assert.equal(summary.rows[0]!["events"], stored.size, "the aggregates agree with the events after kill -9");
    assert.equal((await post(again.url, "/v1/batch", { batch: [dltEvent()] })).status, 200);
  } finally {
    again.child.kill("SIGTERM");
  }
  assert.equal(await exited(again.child), 0);
});

test("ClickHouse failing at run time: 503 + Retry-After, one log line, /health 503, then recovery without a restart", async () => {
  const dataDir = tempDir("chdb-health-");
  const { child, url, stderr } = await startChild(["--port", "0", "--db", `chdb:${dataDir}`]);
  // The events table's data directory (an Atomic database: store/<uuid's first 3>/<uuid>/), taken away and given back.
  const uuid = /UUID '([0-9a-f-]{36})'/.exec(readFileSync(join(dataDir, "metadata", "default", "events.sql"), "utf8"))?.[1];
  assert.ok(uuid, "the table's UUID");
  const tableDir = join(dataDir, "store", uuid.slice(0, 3), uuid);
  try {
    assert.equal((await post(url, "/", dltEvent())).status, 200);
    // ClickHouse cannot write a part: a file where the table's directory was (it would make a missing directory again).
    renameSync(tableDir, `${tableDir}.away`);
    writeFileSync(tableDir, "");
    for (let i = 0; i < 4; i++) {
      const r = await post(url, "/", dltEvent());
      assert.equal(r.status, 503, JSON.stringify(r.json));
      assert.equal(r.headers["retry-after"], "5");
    }
    const sick = await post(url, "/health", undefined, { method: "GET" });
    assert.equal(sick.status, 503);
    assert.doesNotMatch(String(sick.json["store"]), /\//, "no paths of the host in a public answer");
    const failing = stderr()
      .split("\n")
      .filter((l) => /storage failing/.test(l));
    assert.equal(failing.length, 1, `one line for one cause: ${stderr()}`);
    rmSync(tableDir);
    renameSync(`${tableDir}.away`, tableDir);
    const well = await pollUntil(
      () => post(url, "/health", undefined, { method: "GET" }),
      (r) => r.status === 200,
      15_000,
    );
    assert.deepEqual(well.json, { ok: true });
    assert.match(stderr(), /storage recovered after/);
    assert.equal((await post(url, "/", dltEvent())).status, 200);
    // The probes left nothing behind: the two events acknowledged, no more.
    assert.equal((await apiAnswer(url, "extent")).rows[0]!["n"], 2);
  } finally {
    child.kill("SIGTERM");
  }
  assert.equal(await exited(child), 0);
});

test("refused counts on ClickHouse: added up per day, reason and event, kept at the larger count by a copy, dropped by the retention", async () => {
  const s = await open();
  const day = Date.UTC(2026, 5, 15);
  const r = (d: number, reason: string, event: string, n: number) => ({ day: d, reason, event, n });
  await s.insert([], [r(day, "not in the plan", "command_x", 2), r(day, "not in the plan", "", 1)]);
  await s.insert([stamped("r1", day + 1000)], [r(day, "not in the plan", "command_x", 3), r(day - 9 * DAY, "too big", "", 4)]);
  const f = { from: day - 30 * DAY, to: day + DAY, bucket: "day" as const };
  assert.deepEqual(await s.dashboard("refused", f), [
    { reason: "not in the plan", event: "command_x", n: 5 },
    { reason: "too big", event: null, n: 4 },
    { reason: "not in the plan", event: null, n: 1 },
  ]);
  await s.copyRefused([r(day, "not in the plan", "command_x", 7), r(day, "too big", "", 1)]);
  await s.copyRefused([r(day, "not in the plan", "command_x", 7)]);
  assert.deepEqual(
    (await s.dashboard("refused", f)).map((x) => x["n"]),
    [7, 5, 1],
  );
  await s.housekeep(5, day + 3600_000);
  assert.deepEqual(
    (await s.dashboard("refused", f)).map((x) => [x["reason"], x["n"]]),
    [
      ["not in the plan", 7],
      ["not in the plan", 1],
      ["too big", 1],
    ],
  );
});
