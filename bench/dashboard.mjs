// Dashboard API speed on a million events: target every /api/<plot> call ≤ 200 ms.
// Seeds N realistic dlt events (90 days, commands and pipeline steps, versions, OSes, CI, exec_info, both of dlt's
// vocabularies, write-key labels, one install (`first_run_of_version`) per 1,000 events, a ~600-byte stored message each) straight into the collector's `events` table with
// SQL, starts `dlt-collector` on that database in its own process, and times each API the page calls, for the
// filters a user picks: the default last 30 days, all time, an event filter, an hourly bucket, and version + OS + CI
// filters; then the live view (`/api/events`): its first page, and pages deep into the table (cursors of the rows at
// 50 %, 99.9 % of the table, and the same with an event filter). Baseline in the same run: `GET /health` (the HTTP
// round trip without a query).
// `postgres`: the same events (same SQL, in PostgreSQL's dialect) in an embedded PostgreSQL (durable defaults,
// 512 MB shared_buffers), partitioned by day as the collector makes them, then ANALYZEd.
// `chdb`: the same events in embedded ClickHouse (`chdb:DIR`), seeded with ClickHouse's SQL through the store's own
// schema, then handed to the collector's process (chDB binds one directory per process: the seeding one closes first).
// Usage: node bench/dashboard.mjs [events, default 1000000] [repeats, default 7] [duckdb|postgres|chdb, default duckdb] [days, default 90]
// The collector builds its aggregates from the seeded events when it opens the database (timed: "backfill"); the
// aggregates' rows and size on disk are printed at the end, and per day of history.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "./lib.mjs";

const N = Number(process.argv[2] ?? 1_000_000);
const REPEATS = Number(process.argv[3] ?? 7);
const STORE = process.argv[4] ?? "duckdb";
const DAYS = Number(process.argv[5] ?? 90);
const BUDGET_MS = 200;
const here = (p) => new URL(p, import.meta.url).pathname;
const require = createRequire(here("../packages/collector/package.json"));
const { DuckDBInstance } = await import(require.resolve("@duckdb/node-api"));
const { CREATE_EVENTS } = await import(here("../packages/collector/dist/src/store/duckdb.js"));
const { QUERIES } = await import(here("../packages/collector/dist/src/dashboard/apis.js"));

const dir = mkdtempSync(join(tmpdir(), "bench-dashboard-"));
const db = join(dir, "telemetry.duckdb");
const now = Date.now();
let cursors;

// --- seed -------------------------------------------------------------------------------------------------------
let pgServer;
let target = db;
if (STORE === "chdb") {
  const t0 = performance.now();
  const { ClickHouseStore } = await import(here("../packages/collector/dist/src/store/clickhouse.js"));
  target = `chdb:${join(dir, "chdb")}`;
  const store = await ClickHouseStore.open(target);
  // A store as a collector before the aggregates left it (as the DuckDB and PostgreSQL seeds'): the collector makes
  // the tables and their views and fills them from the seeded events when it opens it (the backfill).
  for (const t of ["rollup", "rollup_elapsed", "rollup_day", "rollup_elapsed_day"]) await store.query(`DROP TABLE ${t}_mv`);
  for (const t of ["rollup", "rollup_elapsed", "rollup_day", "rollup_elapsed_day", "_dlt_collector_rollup"]) await store.query(`DROP TABLE ${t}`);
  // The DuckDB seed below, in ClickHouse's dialect (hashes differ, the spread is the same), straight into `events`.
  const sql = `
    INSERT INTO events
    SELECT message_id, 'track', ev, anonymous_id, NULL, ts, ts, ts, ts, 'dlt-ts', library_version, os_name, '6.1', 'node',
      runtime_version, ci_run, cpu, exec_info, category, name, success, elapsed, first_run_of_version, destination_name, destination_type,
      pipeline_name, source_name, transaction_id, write_key_label,
      concat('{"type":"track","messageId":"', message_id, '","anonymousId":"', anonymous_id, '","event":"', ev,
        '","properties":{"event_category":"', category, '","event_name":"', name, '","elapsed":', toString(elapsed), ',"success":', toString(success),
        ',"destination_name":"duckdb","transaction_id":"', hex(MD5(toString(intDiv(i, 3)))), '"},"context":{"ci_run":', toString(ci_run), ',"cpu":', toString(cpu),
        ',"exec_info":["docker"],"library":{"name":"dlt-ts","version":"', library_version, '"},"os":{"name":"', os_name,
        '","version":"6.1"},"runtime":{"name":"node","version":"', runtime_version, '.11.1"}},"timestamp":"', iso, '","receivedAt":"', iso,
        '","sentAt":"', iso, '","writeKeyLabel":"', write_key_label, '"}')
    FROM (
      SELECT *, splitByChar('_', ev)[1] AS category, splitByChar('_', ev)[2] AS name,
        if(category = 'pipeline' OR (ev = 'command_init' AND i % 2 = 0), ['duckdb','postgres','bigquery'][(i % 3) + 1], NULL) AS destination_name,
        multiIf(ev = 'command_init' AND i % 2 = 1, ['duckdb','postgres','bigquery'][(i % 3) + 1],
                category = 'pipeline' AND i % 2 = 1, concat('dlt.destinations.', ['duckdb','postgres','bigquery'][(i % 3) + 1]), NULL) AS destination_type,
        if(ev = 'command_init' AND i % 2 = 0, ['chess','github','pipedrive','sql_database'][(i % 4) + 1], NULL) AS pipeline_name,
        if(ev = 'command_init' AND i % 2 = 1, ['chess','github','pipedrive','sql_database'][(i % 4) + 1], NULL) AS source_name,
        if(category = 'pipeline', hex(MD5(toString(intDiv(i, 3)))), NULL) AS transaction_id
      FROM (
        SELECT number AS i, fromUnixTimestamp64Milli(toInt64(${now} - intDiv(number * ${90 * 86_400_000}, ${N})), 'UTC') AS ts,
          formatDateTime(ts, '%Y-%m-%dT%H:%i:%S.%fZ') AS iso, concat('m', toString(i)) AS message_id, hex(MD5(toString(i))) AS anonymous_id,
          ['command_init','command_telemetry','command_deploy','pipeline_extract','pipeline_normalize','pipeline_load',
           'pipeline_extract','pipeline_load'][(i % 8) + 1] AS ev,
          if(sipHash64(i) % ${N} < i, '0.2.0', '0.1.0') AS library_version,
          ['Linux','Darwin','Windows'][(i % 3) + 1] AS os_name, ['20','22'][(i % 2) + 1] AS runtime_version,
          i % 5 = 0 AS ci_run, toInt32(2 + (i % 4) * 2) AS cpu,
          multiIf(i % 7 = 0, 'docker', i % 11 = 0, 'kubernetes', NULL) AS exec_info,
          sipHash64(i) % 20 != 0 AS success, (sipHash64(i) % 10000) / 1000.0 AS elapsed,
          if(i % 1000 = 0, true, NULL) AS first_run_of_version,
          ['ci','prod','key-3f2a9c1b'][(i % 3) + 1] AS write_key_label
        FROM numbers(${N})))`;
  await store.query(sql);
  await store.query("OPTIMIZE TABLE events FINAL");
  const at = async (offset, where = "1") =>
    (
      await store.query(
        `SELECT toString(toUnixTimestamp64Micro(received_at)) || '.' || message_id AS c FROM events WHERE ${where} ORDER BY received_at DESC, message_id DESC LIMIT 1 OFFSET ${offset}`,
      )
    )[0].c;
  cursors = {
    half: await at(N >> 1),
    deep: await at(Math.floor(N * 0.999)),
    deepLoad: await at(Math.floor((N / 4) * 0.999), "event = 'pipeline_load'"),
  };
  const n = (await store.query("SELECT count(*) AS n FROM events"))[0].n;
  await store.close();
  console.log(`seeded ${Number(n).toLocaleString("en-US")} events into chdb: in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
} else if (STORE === "postgres") {
  const t0 = performance.now();
  const { testPostgres } = await import(here("../packages/collector/dist/test/postgres-server.js"));
  const { PostgresStore } = await import(here("../packages/collector/dist/src/store/postgres.js"));
  pgServer = await testPostgres({ embedded: true, durable: true });
  target = await pgServer.database();
  const store = await PostgresStore.open(target);
  await store.ensurePartitions(now - (DAYS + 1) * 86_400_000, now);
  await store.close();
  // The DuckDB seed below, in PostgreSQL's dialect (hashes differ, the spread is the same); a client of its own, as
  // the store's connections have a 10 s statement timeout.
  const pg = createRequire(here("../packages/collector/package.json"))("pg");
  const client = new pg.Client({ connectionString: target });
  await client.connect();
  // A database as a collector before the aggregates left it (schema version 2), as the DuckDB seed's: the collector
  // makes and fills them when it opens it (migration 3, then the backfill).
  await client.query("DROP TABLE rollup, rollup_elapsed, rollup_day, rollup_elapsed_day, _dlt_collector_rollup");
  await client.query("UPDATE _dlt_collector_schema SET version = 2");
  await client.query(`
    INSERT INTO events (message_id, type, event, anonymous_id, user_id, "timestamp", original_timestamp, sent_at, received_at,
      library_name, library_version, os_name, os_version, runtime_name, runtime_version, ci_run, cpu, exec_info,
      event_category, event_name, success, elapsed, first_run_of_version, destination_name, destination_type, pipeline_name, source_name,
      transaction_id, write_key_label, message)
    SELECT message_id, 'track', ev, anonymous_id, NULL, ts, ts, ts, ts, 'dlt-ts', library_version, os_name, '6.1', 'node',
      runtime_version, ci_run, cpu, exec_info, category, name, success, elapsed, CASE WHEN i % 1000 = 0 THEN true END, destination_name, destination_type,
      pipeline_name, source_name, transaction_id, write_key_label,
      -- A stored message of a realistic size (~600 bytes), different for every row.
      jsonb_build_object('type', 'track', 'messageId', message_id, 'anonymousId', anonymous_id, 'event', ev,
        'properties', jsonb_build_object('event_category', category, 'event_name', name, 'elapsed', elapsed, 'success', success,
          'destination_name', 'duckdb', 'transaction_id', md5((i / 3)::text)),
        'context', jsonb_build_object('ci_run', ci_run, 'cpu', cpu, 'exec_info', jsonb_build_array('docker'),
          'library', jsonb_build_object('name', 'dlt-ts', 'version', library_version), 'os', jsonb_build_object('name', os_name, 'version', '6.1'),
          'runtime', jsonb_build_object('name', 'node', 'version', runtime_version || '.11.1')),
        'timestamp', iso, 'receivedAt', iso, 'sentAt', iso, 'writeKeyLabel', write_key_label)
    FROM (
      SELECT *, split_part(ev, '_', 1) AS category, split_part(ev, '_', 2) AS name,
        -- Half the clients speak dlt 1.x's vocabulary (source_name, destination_type), half the spec's.
        CASE WHEN ev LIKE 'pipeline%' OR (ev = 'command_init' AND i % 2 = 0) THEN (ARRAY['duckdb','postgres','bigquery'])[(i % 3) + 1] END AS destination_name,
        CASE WHEN ev = 'command_init' AND i % 2 = 1 THEN (ARRAY['duckdb','postgres','bigquery'])[(i % 3) + 1]
             WHEN ev LIKE 'pipeline%' AND i % 2 = 1 THEN 'dlt.destinations.' || (ARRAY['duckdb','postgres','bigquery'])[(i % 3) + 1] END AS destination_type,
        CASE WHEN ev = 'command_init' AND i % 2 = 0 THEN (ARRAY['chess','github','pipedrive','sql_database'])[(i % 4) + 1] END AS pipeline_name,
        CASE WHEN ev = 'command_init' AND i % 2 = 1 THEN (ARRAY['chess','github','pipedrive','sql_database'])[(i % 4) + 1] END AS source_name,
        CASE WHEN ev LIKE 'pipeline%' THEN md5((i / 3)::text) END AS transaction_id
      FROM (
        SELECT i, ts, to_char(ts, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS iso, 'm' || i AS message_id, md5(i::text) AS anonymous_id,
          (ARRAY['command_init','command_telemetry','command_deploy','pipeline_extract','pipeline_normalize','pipeline_load',
                 'pipeline_extract','pipeline_load'])[(i % 8) + 1] AS ev,
          CASE WHEN abs(hashint4(i)) % ${N} < i THEN '0.2.0' ELSE '0.1.0' END AS library_version,
          (ARRAY['Linux','Darwin','Windows'])[(i % 3) + 1] AS os_name, (ARRAY['20','22'])[(i % 2) + 1] AS runtime_version,
          i % 5 = 0 AS ci_run, 2 + (i % 4) * 2 AS cpu,
          CASE WHEN i % 7 = 0 THEN 'docker' WHEN i % 11 = 0 THEN 'kubernetes' END AS exec_info,
          abs(hashint4(i)) % 20 <> 0 AS success, (abs(hashint4(i)) % 10000) / 1000.0 AS elapsed,
          (ARRAY['ci','prod','key-3f2a9c1b'])[(i % 3) + 1] AS write_key_label
        FROM (SELECT i, to_timestamp((${now} - (i::bigint * ${DAYS * 86_400_000} / ${N})) / 1000.0) AS ts FROM generate_series(0, ${N - 1}) AS i) AS t
      ) AS u
    ) AS s`);
  await client.query("VACUUM ANALYZE events");
  // Cursors deep into the live view's order (newest first), as a user paging back would reach them.
  const at = async (offset, where = "TRUE") =>
    (
      await client.query(`SELECT (extract(epoch FROM received_at) * 1000000)::bigint || '.' || message_id AS c FROM events WHERE ${where}
                         ORDER BY received_at DESC, message_id COLLATE "C" DESC LIMIT 1 OFFSET ${offset}`)
    ).rows[0].c;
  cursors = {
    half: await at(N >> 1),
    deep: await at(Math.floor(N * 0.999)),
    deepLoad: await at(Math.floor((N / 4) * 0.999), "event = 'pipeline_load'"),
  };
  const n = (await client.query("SELECT count(*) AS n FROM events")).rows[0].n;
  await client.end();
  console.log(`seeded ${Number(n).toLocaleString("en-US")} events into PostgreSQL in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
} else {
  const t0 = performance.now();
  const instance = await DuckDBInstance.create(db);
  const c = await instance.connect();
  await c.run(CREATE_EVENTS);
  // Deterministic spread: event by i % 8, times evenly over 90 days, a slow rise of the newer version.
  await c.run(`
    INSERT INTO events BY NAME
    SELECT
      'm' || i AS message_id, 'track' AS type,
      ['command_init','command_telemetry','command_deploy','pipeline_extract','pipeline_normalize','pipeline_load',
       'pipeline_extract','pipeline_load'][(i % 8) + 1] AS event,
      md5(i::VARCHAR) AS anonymous_id, NULL AS user_id,
      ts AS "timestamp", ts AS original_timestamp, ts AS sent_at, ts AS received_at,
      'dlt-ts' AS library_name,
      CASE WHEN hash(i) % ${N} < i THEN '0.2.0' ELSE '0.1.0' END AS library_version,
      ['Linux','Darwin','Windows'][(i % 3) + 1] AS os_name, '6.1' AS os_version, 'node' AS runtime_name,
      ['20','22'][(i % 2) + 1] AS runtime_version,
      i % 5 = 0 AS ci_run, 2 + (i % 4) * 2 AS cpu,
      CASE WHEN i % 7 = 0 THEN 'docker' WHEN i % 11 = 0 THEN 'kubernetes' ELSE NULL END AS exec_info,
      split_part(event, '_', 1) AS event_category, split_part(event, '_', 2) AS event_name,
      hash(i) % 20 <> 0 AS success, (hash(i) % 10000) / 1000.0 AS elapsed,
      CASE WHEN i % 1000 = 0 THEN true END AS first_run_of_version,
      -- Half the clients speak dlt 1.x's vocabulary (source_name, destination_type), half the spec's.
      CASE WHEN event_category = 'pipeline' OR (event = 'command_init' AND i % 2 = 0) THEN ['duckdb','postgres','bigquery'][(i % 3) + 1] END AS destination_name,
      CASE WHEN event = 'command_init' AND i % 2 = 1 THEN ['duckdb','postgres','bigquery'][(i % 3) + 1]
           WHEN event_category = 'pipeline' AND i % 2 = 1 THEN 'dlt.destinations.' || ['duckdb','postgres','bigquery'][(i % 3) + 1] END AS destination_type,
      CASE WHEN event = 'command_init' AND i % 2 = 0 THEN ['chess','github','pipedrive','sql_database'][(i % 4) + 1] END AS pipeline_name,
      CASE WHEN event = 'command_init' AND i % 2 = 1 THEN ['chess','github','pipedrive','sql_database'][(i % 4) + 1] END AS source_name,
      CASE WHEN event_category = 'pipeline' THEN md5((i // 3)::VARCHAR) END AS transaction_id,
      ['ci','prod','key-3f2a9c1b'][(i % 3) + 1] AS write_key_label,
      -- A stored message of a realistic size (~600 bytes), different for every row.
      '{"type":"track","messageId":"m' || i || '","anonymousId":"' || md5(i::VARCHAR) || '","event":"' || event ||
        '","properties":{"event_category":"' || event_category || '","event_name":"' || event_name ||
        '","elapsed":' || elapsed || ',"success":' || success || ',"destination_name":"duckdb","transaction_id":"' || md5((i // 3)::VARCHAR) ||
        '"},"context":{"ci_run":' || ci_run || ',"cpu":' || cpu || ',"exec_info":["docker"],"library":{"name":"dlt-ts","version":"' || library_version ||
        '"},"os":{"name":"' || os_name || '","version":"6.1"},"runtime":{"name":"node","version":"' || runtime_version ||
        '.11.1"}},"timestamp":"' || strftime(ts, '%Y-%m-%dT%H:%M:%S.%gZ') || '","receivedAt":"' || strftime(ts, '%Y-%m-%dT%H:%M:%S.%gZ') ||
        '","sentAt":"' || strftime(ts, '%Y-%m-%dT%H:%M:%S.%gZ') || '","writeKeyLabel":"' || write_key_label || '"}' AS message
    FROM (SELECT i, make_timestamp(CAST((${now} - (i * ${DAYS * 86_400_000} // ${N})) AS BIGINT) * 1000) AS ts FROM range(${N}) r(i))`);
  await c.run("CHECKPOINT");
  // Cursors deep into the live view's order (newest first), as a user paging back would reach them.
  const at = async (offset, where = "TRUE") =>
    (
      await c.runAndReadAll(
        `SELECT CAST(epoch_us(received_at) AS VARCHAR) || '.' || message_id FROM events WHERE ${where} ORDER BY received_at DESC, message_id DESC LIMIT 1 OFFSET ${offset}`,
      )
    ).getRows()[0][0];
  cursors = {
    half: await at(N >> 1),
    deep: await at(Math.floor(N * 0.999)),
    deepLoad: await at(Math.floor((N / 4) * 0.999), "event = 'pipeline_load'"),
  };
  const n = (await c.runAndReadAll("SELECT count(*) FROM events")).getRows()[0][0];
  c.closeSync();
  instance.closeSync();
  console.log(`seeded ${Number(n).toLocaleString("en-US")} events in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

// --- collector in its own process ---------------------------------------------------------------------------------
const opened = performance.now();
const collector = spawn(
  process.execPath,
  [here("../packages/collector/bin/dlt-collector.js"), "--port", "0", "--db", target, "--write-key", "wk", "--read-token", "rt"],
  {
    stdio: ["ignore", "pipe", "inherit"], // its errors (a failed query) show
  },
);
const url = await new Promise((resolve, reject) => {
  let out = "";
  collector.stdout.on("data", (d) => {
    out += d;
    const m = /listening on (http:\/\/\S+)/.exec(out);
    if (m) resolve(m[1]);
  });
  collector.on("exit", (c) => reject(new Error(`dlt-collector exited ${c}`)));
});
console.log(
  `collector listening after ${((performance.now() - opened) / 1000).toFixed(1)} s (the backfill of the aggregates from the seeded events included)`,
);

async function time(path) {
  const t0 = performance.now();
  const r = await fetch(url + path, { headers: { authorization: "Bearer rt" } });
  const body = await r.text();
  if (!r.ok) throw new Error(`${path}: ${r.status} ${body}`);
  return performance.now() - t0;
}
async function measure(path) {
  await time(path); // warm: the first call of each query plans it and pulls its columns into the buffer pool
  const xs = [];
  for (let i = 0; i < REPEATS; i++) xs.push(await time(path));
  return { median: median(xs), max: Math.max(...xs) };
}

try {
  const health = await measure("/health");
  console.log(`baseline GET /health: median ${health.median.toFixed(1)} ms`);
  const filters = [
    ["last 30 days, by day", `from=${now - 30 * 86_400_000}&to=${now + 60_000}&bucket=day`],
    [`all time (${DAYS} days), by day`, `from=0&to=${now + 60_000}&bucket=day`],
    ["all time, event = pipeline_load", `from=0&to=${now + 60_000}&bucket=day&event=pipeline_load`],
    ["last 7 days, by hour", `from=${now - 7 * 86_400_000}&to=${now + 60_000}&bucket=hour`],
    ["all time, version + OS + CI filters", `from=0&to=${now + 60_000}&bucket=day&version=dlt-ts%200.2.0&os=Linux&ci=false`],
  ];
  let worst = { ms: 0, what: "" };
  for (const [label, qs] of filters) {
    console.log(`\n${label}`);
    console.log("  api                 median ms   max ms");
    // The page fires every API at once; here they are timed one by one (each is one query).
    for (const name of [...QUERIES.keys()]) {
      const m = await measure(`/api/${name}?${qs}`);
      if (m.median > worst.ms) worst = { ms: m.median, what: `${name} (${label})` };
      console.log(`  ${name.padEnd(18)} ${m.median.toFixed(1).padStart(10)} ${m.max.toFixed(1).padStart(8)}`);
    }
  }
  // The live view: its first page and pages deep into the table (keyset paging: no OFFSET).
  console.log("\nlive view /api/events (all time)");
  console.log("  page                          median ms   max ms");
  const all = `from=0&to=${now + 60_000}`;
  for (const [label, qs] of [
    ["first 50", `${all}&limit=50`],
    ["first 500", `${all}&limit=500`],
    ["50 after 50 % of the table", `${all}&limit=50&before=${encodeURIComponent(cursors.half)}`],
    ["50 after 99.9 % of the table", `${all}&limit=50&before=${encodeURIComponent(cursors.deep)}`],
    ["pipeline_load: first 50", `${all}&limit=50&event=pipeline_load`],
    ["pipeline_load: 50, 99.9 % deep", `${all}&limit=50&event=pipeline_load&before=${encodeURIComponent(cursors.deepLoad)}`],
  ]) {
    const m = await measure(`/api/events?${qs}`);
    if (m.median > worst.ms) worst = { ms: m.median, what: `events ${label}` };
    console.log(`  ${label.padEnd(30)} ${m.median.toFixed(1).padStart(9)} ${m.max.toFixed(1).padStart(8)}`);
  }
  // The whole overview, as the page (public/overview.ts) refreshes it: extent first, then its 20 APIs and the previous period's summary in
  // parallel.
  const PAGE = [
    "summary",
    "events_over_time",
    "failure_rate",
    "failures",
    "success_rate",
    "version_share",
    "installs",
    "versions",
    "runtimes",
    "os_versions",
    "ci",
    "exec_info",
    "commands",
    "inits",
    "sources",
    "destinations",
    "steps_by_destination",
    "elapsed",
    "event_names",
    "filter_values",
  ];
  const page = [];
  for (let i = 0; i < REPEATS; i++) {
    const t0 = performance.now();
    await time("/api/extent");
    await Promise.all([
      ...PAGE.map((n) => time(`/api/${n}?${filters[0][1]}`)),
      time(`/api/summary?from=${now - 60 * 86_400_000}&to=${now - 30 * 86_400_000}`),
    ]);
    page.push(performance.now() - t0);
  }
  console.log(`\nwhole overview refresh (extent, then ${PAGE.length + 1} APIs in parallel, last 30 days): median ${median(page).toFixed(1)} ms`);
  console.log(`slowest API median: ${worst.ms.toFixed(1)} ms — ${worst.what}`);
  console.log(
    `ratio to the ${BUDGET_MS} ms budget: ${(worst.ms / BUDGET_MS).toFixed(2)} (target ≤ 1.00); to /health: ${(worst.ms / health.median).toFixed(0)}x`,
  );
} finally {
  collector.kill("SIGTERM");
  await new Promise((r) => collector.on("exit", r));
  if (STORE === "duckdb") {
    // The aggregates' size: rows, and the bytes of their blocks (DuckDB's storage info, compressed as stored).
    const instance = await DuckDBInstance.create(db, { access_mode: "READ_ONLY" });
    const c = await instance.connect();
    for (const table of ["events", "rollup", "rollup_elapsed", "rollup_day", "rollup_elapsed_day"]) {
      const rows = Number((await c.runAndReadAll(`SELECT count(*) FROM ${table}`)).getRows()[0][0]);
      const bytes = Number(
        (await c.runAndReadAll(`SELECT count(DISTINCT block_id) * 262144 FROM pragma_storage_info('${table}') WHERE persistent`)).getRows()[0][0],
      );
      console.log(
        `${table}: ${rows.toLocaleString("en-US")} rows, ~${(bytes / 1e6).toFixed(1)} MB on disk, ${(bytes / 1e6 / DAYS).toFixed(2)} MB per day`,
      );
    }
    c.closeSync();
    instance.closeSync();
  } else if (pgServer) {
    const pg = createRequire(here("../packages/collector/package.json"))("pg");
    const client = new pg.Client({ connectionString: target });
    await client.connect();
    for (const table of ["events", "rollup", "rollup_elapsed", "rollup_day", "rollup_elapsed_day"]) {
      const r = (
        await client.query(
          `SELECT count(*) AS n, pg_total_relation_size('${table}') + coalesce((SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = '${table}'::regclass), 0) AS bytes FROM ${table}`,
        )
      ).rows[0];
      console.log(
        `${table}: ${Number(r.n).toLocaleString("en-US")} rows, ~${(Number(r.bytes) / 1e6).toFixed(1)} MB on disk, ${(Number(r.bytes) / 1e6 / DAYS).toFixed(2)} MB per day`,
      );
    }
    await client.end();
  } else if (STORE === "chdb") {
    // Rows as stored (parts not merged yet count their rows apiece) and bytes on disk, compressed.
    const { ClickHouseStore } = await import(here("../packages/collector/dist/src/store/clickhouse.js"));
    const store = await ClickHouseStore.open(target);
    const sizes = await store.query(
      "SELECT table, sum(rows) AS n, sum(bytes_on_disk) AS bytes FROM system.parts WHERE active AND database = currentDatabase() GROUP BY table",
    );
    for (const table of ["events", "rollup", "rollup_elapsed", "rollup_day", "rollup_elapsed_day"]) {
      const r = sizes.find((x) => x.table === table) ?? { n: 0, bytes: 0 };
      console.log(
        `${table}: ${Number(r.n).toLocaleString("en-US")} rows, ~${(Number(r.bytes) / 1e6).toFixed(1)} MB on disk, ${(Number(r.bytes) / 1e6 / DAYS).toFixed(2)} MB per day`,
      );
    }
    await store.close();
  }
  await pgServer?.close();
  // BENCH_KEEP=1 keeps the DuckDB file for a look at the plans.
  if (process.env["BENCH_KEEP"]) console.log(`kept ${db}`);
  else rmSync(dir, { recursive: true, force: true });
}
