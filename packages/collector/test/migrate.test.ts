// dlt-collector migrate --from <file.duckdb> --to postgres://…: every event copied (into the partition of the day it
// was received), the dashboard's answers the same on both sides, a second run adds nothing, a progress line only on a
// terminal, the counts of both sides printed; the counts of what a plan refused are copied once.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import pg from "pg";
import { DASHBOARD_APIS } from "../src/dashboard/apis.js";
import { stamp } from "../src/stamp.js";
import { DuckDbStore } from "../src/store/duckdb.js";
import { PostgresStore } from "../src/store/postgres.js";
import { COLLECTOR_BIN, dltEvent, tempDb, tempDir } from "./helpers.js";
import { testPostgres, type TestPostgres } from "./postgres-server.js";

const DAY = 86_400_000;
let server: TestPostgres;
let file: string;
const N = 2_345;
before(async () => {
  server = await testPostgres();
  file = tempDb();
  const duck = await DuckDbStore.open(file);
  const now = Date.now();
  const steps = ["extract", "normalize", "load"];
  // Events received over 60 days, both of dlt's vocabularies, three write keys' labels (and none), a replay of one id
  // that the file holds once.
  const events = Array.from({ length: N }, (_, i) => {
    const at = now - Math.floor((i * 60 * DAY) / N);
    const e =
      i % 4 === 0
        ? dltEvent({
            event: "command_init",
            timestamp: new Date(at).toISOString(),
            properties: {
              event_category: "command",
              event_name: "init",
              source_name: `s${i % 3}`,
              destination_type: "duckdb",
              success: i % 7 !== 0,
              elapsed: i / 100,
            },
          })
        : dltEvent({
            event: `pipeline_${steps[i % 3]}`,
            timestamp: new Date(at).toISOString(),
            properties: {
              event_category: "pipeline",
              event_name: steps[i % 3],
              destination_name: ["duckdb", "bigquery"][i % 2],
              transaction_id: `t${Math.floor(i / 3)}`,
              success: true,
              elapsed: i % 13,
            },
          });
    if (i % 5 !== 0) e["writeKeyLabel"] = ["ci", "prod", "key-0a1b2c3d", "ci"][(i % 5) - 1];
    return stamp(e, "track", at, new Date(at).toISOString(), null);
  });
  for (let i = 0; i < events.length; i += 500) await duck.insert(events.slice(i, i + 500));
  // What a plan refused, on two days.
  const today = Math.floor(now / DAY) * DAY;
  await duck.insert(
    [],
    [
      { day: today, reason: "unknown_event", event: "new_feature_used", n: 5 },
      { day: today - DAY, reason: "unknown_event", event: "", n: 2 },
    ],
  );
  await duck.close();
});
after(() => server.close());

const migrate = (...args: string[]) =>
  spawnSync(process.execPath, [COLLECTOR_BIN, "migrate", ...args], {
    encoding: "utf8",
    env: { PATH: process.env["PATH"], TMPDIR: tmpdir() },
    timeout: 60_000,
  });

test("every event is copied, the dashboard answers alike on both sides, and a second run adds nothing", async () => {
  const url = await server.database();
  const first = migrate("--from", file, "--to", url);
  assert.equal(first.status, 0, first.stderr);
  assert.equal(first.stderr, "", "no progress line when stderr is not a terminal");
  const lines = first.stdout.trim().split("\n");
  assert.equal(lines[0], `DuckDB ${file}: ${N.toLocaleString("en-US")} events`);
  assert.match(
    lines[1]!,
    /^PostgreSQL postgres:\/\/dlt_test:\*\*\*@127\.0\.0\.1:\d+\/\w+: 2,345 events \(0 before; 2,345 added by this run, 0 already there\) in [\d.]+ s$/,
  );
  assert.doesNotMatch(first.stdout, /pg-test-secret/);

  const again = migrate("--from", file, "--to", url);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /: 2,345 events \(2,345 before; 0 added by this run, 2,345 already there\)/);

  const duck = await DuckDbStore.open(file);
  const pg = await PostgresStore.open(url);
  try {
    const now = Date.now();
    // The messages as JSON: PostgreSQL's jsonb orders their keys its own way.
    const parsed = (rows: Record<string, unknown>[]): Record<string, unknown>[] =>
      rows.map((r) => ("message" in r ? { ...r, message: JSON.parse(String(r["message"])) as unknown } : r));
    for (const api of DASHBOARD_APIS) {
      for (const f of [
        { from: 0, to: now + DAY, bucket: "day" as const },
        { from: now - 7 * DAY, to: now + DAY, bucket: "hour" as const, event: "command_init" },
        { from: 0, to: now + DAY, bucket: "day" as const, limit: 500 },
      ]) {
        assert.deepEqual(parsed(await pg.dashboard(api, f)), parsed(await duck.dashboard(api, f)), `${api} ${JSON.stringify(f)}`);
      }
    }
    // The refused counts are copied once: the second run left them as they were.
    assert.deepEqual(await pg.dashboard("refused", { from: 0, to: now + DAY, bucket: "day" }), [
      { reason: "unknown_event", event: "new_feature_used", n: 5 },
      { reason: "unknown_event", event: null, n: 2 },
    ]);
    // Each event keeps the label of the write key that let it in.
    const labels = "SELECT write_key_label AS label, count(*) AS n FROM events GROUP BY 1 ORDER BY 1 NULLS FIRST";
    assert.deepEqual(await pg.query(labels), [
      { label: null, n: 469 },
      { label: "ci", n: 938 },
      { label: "key-0a1b2c3d", n: 469 },
      { label: "prod", n: 469 },
    ]);
    assert.deepEqual(await duck.query(labels), [
      { label: null, n: "469" },
      { label: "ci", n: "938" },
      { label: "key-0a1b2c3d", n: "469" },
      { label: "prod", n: "469" },
    ]);
    // Each event in the partition of the day it was received, as the live path puts it.
    const wrong = await pg.query(
      "SELECT count(*) AS n FROM events WHERE tableoid::regclass::text <> 'events_p' || to_char(received_at AT TIME ZONE 'UTC', 'YYYYMMDD')",
    );
    assert.deepEqual(wrong, [{ n: 0 }]);
  } finally {
    await duck.close();
    await pg.close();
  }
});

test("on a terminal it shows a progress line", async () => {
  const url = await server.database();
  // util-linux's `script` gives the command a pseudo-terminal.
  const cmd = [process.execPath, COLLECTOR_BIN, "migrate", "--from", file, "--to", url].map((a) => `'${a}'`).join(" ");
  const r = spawnSync("script", ["-qfec", cmd, "/dev/null"], {
    encoding: "utf8",
    env: { PATH: process.env["PATH"], TMPDIR: tmpdir(), TERM: "dumb" },
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /\rmigrating: [\d,]+ of 2,345 events \(\d+ %\), [\d,]+ events\/s/);
  assert.match(r.stdout, /2,345 added by this run/);
});

test("--to that is not a PostgreSQL URL, or no --from, is a usage error (2)", async () => {
  const notUrl = migrate("--from", file, "--to", "/tmp/x.duckdb");
  assert.equal(notUrl.status, 2);
  assert.match(notUrl.stderr, /^error: --to must be a PostgreSQL URL/);
  assert.equal(migrate("--to", "postgres://x/y").status, 2, "--from is required");
});

test("a --from file that does not exist is one line and exit 1", async () => {
  const missing = migrate("--from", `${file}.nope`, "--to", "postgres://127.0.0.1:1/x");
  assert.equal(missing.status, 1);
  assert.equal(missing.stderr, `dlt-collector: ${file}.nope: no such file\n`);
});

// A DuckDB file is data from whoever made it: migrate reads it as data, never runs what it says.
describe("a hostile source file", () => {
  /** A DuckDB file made by running `sql` (not a collector's). */
  const fileOf = async (sql: string): Promise<string> => {
    const path = tempDb();
    const instance = await DuckDBInstance.create(path);
    const c = await instance.connect();
    await c.run(sql);
    c.closeSync();
    instance.closeSync();
    return path;
  };
  const secret = (): string => {
    const path = join(tempDir(), "secret.txt");
    writeFileSync(path, "TOP-SECRET-CONTENT");
    return path;
  };
  /** Every table's rows in the target, as text: nothing of the secret may be there. */
  const targetText = async (url: string): Promise<string> => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const tables = (await c.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).rows.map(
        (r: { tablename: string }) => r.tablename,
      );
      let text = "";
      for (const t of tables) text += JSON.stringify((await c.query(`SELECT * FROM "${t}"`)).rows);
      return text;
    } finally {
      await c.end();
    }
  };

  test("events as a view over read_text(), or a macro reading files: refused naming what it is, nothing copied", async () => {
    const path = secret();
    const columns = "'x' AS message_id, 'track' AS type, now()::TIMESTAMP AS received_at";
    for (const sql of [
      `CREATE VIEW events AS SELECT ${columns}, content AS message FROM read_text(['${path}'])`,
      `CREATE MACRO files() AS TABLE SELECT file AS content FROM glob('/etc/*'); CREATE VIEW events AS SELECT ${columns}, content AS message FROM files()`,
    ]) {
      const url = await server.database();
      const r = migrate("--from", await fileOf(sql), "--to", url);
      assert.equal(r.status, 1, r.stdout);
      assert.match(r.stderr, /^dlt-collector: \S+\.duckdb: events is a VIEW, not a table: refused/);
      assert.doesNotMatch(await targetText(url), /TOP-SECRET|passwd/);
    }
  });

  test("a table that is not a collector's: refused naming the column", async () => {
    const r = migrate("--from", await fileOf("CREATE TABLE events (message VARCHAR, received_at TIMESTAMP)"), "--to", await server.database());
    assert.equal(r.status, 1, r.stdout);
    assert.match(r.stderr, /events\.message_id is missing, a collector's is VARCHAR: not a collector's events table/);
  });

  test("extreme dates: events received in 1901 and 9999 are skipped and counted, and no partition is made for the days between", async () => {
    const file = tempDb();
    const duck = await DuckDbStore.open(file);
    for (const at of [Date.parse("1901-01-01T12:00:00Z"), Date.parse("9999-12-31T12:00:00Z"), Date.now()]) {
      await duck.insert([stamp(dltEvent(), "track", at, new Date(at).toISOString(), null)]);
    }
    await duck.close();
    const url = await server.database();
    const r = migrate("--from", file, "--to", url);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /: 1 events \(0 before; 1 added by this run, 0 already there\)/);
    assert.match(r.stderr, /^dlt-collector: skipped 2 messages: receivedAt: before 1970 or over a week from now/m);
    const pgStore = await PostgresStore.open(url);
    try {
      const parts = await pgStore.query("SELECT count(*) AS n FROM pg_inherits WHERE inhparent = 'events'::regclass");
      // The day of the one event, and the days around today the store makes at open.
      assert.ok(Number(parts[0]!["n"]) < 10, `partitions: ${JSON.stringify(parts)}`);
    } finally {
      await pgStore.close();
    }
  });

  test("messages over the 32 KB limit, or not a stamped message, are skipped and counted, the rest copied", async () => {
    const file = tempDb();
    const duck = await DuckDbStore.open(file);
    const now = Date.now();
    const ok = [0, 1, 2].map(() => stamp(dltEvent(), "track", now, new Date(now).toISOString(), null));
    const big = stamp(dltEvent({ properties: { pad: "x".repeat(2_000_000) } }), "track", now, new Date(now).toISOString(), null);
    await duck.insert([...ok, big]);
    await duck.close();
    // A row whose message is not one a collector stamps (no type, no ids): written behind the store's back.
    const instance = await DuckDBInstance.create(file);
    const c = await instance.connect();
    await c.run(
      `INSERT INTO events (message_id, type, "timestamp", received_at, message) VALUES ('odd', 'track', now()::TIMESTAMP, now()::TIMESTAMP, '{"event": 1}')`,
    );
    c.closeSync();
    instance.closeSync();

    const url = await server.database();
    const r = migrate("--from", file, "--to", url);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /: 5 events\n/);
    assert.match(r.stdout, /: 3 events \(0 before; 3 added by this run, 0 already there\)/);
    assert.match(r.stderr, /^dlt-collector: skipped 1 messages: message is over the 32 KB limit$/m);
    assert.match(r.stderr, /^dlt-collector: skipped 1 messages: type: must be one of track/m);
  });
});
