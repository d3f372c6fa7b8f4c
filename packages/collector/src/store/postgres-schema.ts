/**
 * The PostgreSQL store's schema: the `events` table partitioned by day, the dedup table, the lenient-cast functions
 * the typed columns need, and the migrations that make it, applied under an advisory lock so that any number of
 * collectors may start at once on one database.
 *
 * - `events` is partitioned by `received_at` (RANGE, one partition per UTC day, `events_pYYYYMMDD`), not by the
 *   client's `timestamp`: `received_at` is the collector's clock, so the partitions created ahead always hold what
 *   arrives (a client's clock can say year 1 or 9999), and retention drops a whole partition.
 * - Dedup: a partitioned table's unique keys must include the partition key, and a replay arrives with a later
 *   `received_at`, so the events' primary key `(message_id, received_at)` cannot see it. `event_ids` (one row per
 *   `message_id`, not partitioned) is written in the same statement as the events, and only the ids it did not hold
 *   reach `events`. Its rows (with the time the id was stored) are kept `DEDUP_DAYS` (7 days: the dlt-ts client's spool keeps an undelivered event as
 *   long; Segment promises ~24 h), so it stays the size of a week of traffic. Concurrent collectors inserting the same
 *   id are serialized by its primary key (the second waits for the first's commit, then skips it); ids are inserted in
 *   sorted order so two overlapping groups cannot deadlock.
 * - The primary key `(message_id, received_at)` makes `migrate` idempotent for events of any age: a copied event
 *   keeps its `received_at`, so a second run finds it whether or not its dedup id was pruned.
 */

import {
  COLUMNS,
  createRefused,
  firstOf,
  isNullable,
  literal,
  typeIn,
  type Column,
  type ColumnName,
  type CountKinds,
  type StoreKinds,
} from "./columns.js";
import { createRollup, ROLLUP_DIMENSIONS, ROLLUP_TABLES, type RollupDialect } from "./rollup.js";
import { createPending } from "./rollup-pending.js";

/** Dedup ids are kept this long: a replay within it is stored once, across partitions (days). */
export const DEDUP_DAYS = 7;

/** The text at a JSON path of `j` (`#>>`: strings unquoted, other values as JSON text, NULL when absent). */
const text = (path: string): string => `j #>> '{${path.replaceAll(".", ",")}}'`;
/** The `jsonb` value at a JSON path of `j`. */
const json = (path: string): string => `(j #> '{${path.replaceAll(".", ",")}}')`;
const capped = (e: string, max: number): string => `left(${e}, ${max})`;

/**
 * The stored columns (`columns.ts`) as PostgreSQL types and extracts them, from `j` (the message as `jsonb`), with the
 * functions of `FUNCTIONS`: the same values as DuckDB's store gives (see duckdb.ts).
 */
export const POSTGRES_KINDS: StoreKinds = {
  text: { type: "text", value: (c) => text(c.path) },
  cappedText: { type: "text", value: (c) => capped(firstOf(c.paths.map(text)), c.max) },
  textOrMarker: {
    type: "text",
    value: (c) =>
      `coalesce(${capped(text(c.path), c.max)}, CASE WHEN ${json(c.marker.path)} IS NOT NULL AND jsonb_typeof(${json(c.marker.path)}) <> 'null' THEN ${literal(c.marker.text)} END)`,
  },
  timestamp: { type: "timestamptz", value: (c) => firstOf([...c.paths.map((p) => `_dlt_time(${text(p)})`), ...(isNullable(c) ? [] : ["now()"])]) },
  boolean: { type: "boolean", value: (c) => `_dlt_json_bool(${json(c.path)})` },
  cores: {
    type: "integer",
    value: (c) =>
      `(SELECT CASE WHEN c >= 1 AND c < 2147483648 AND c = trunc(c) THEN c::integer END FROM (SELECT _dlt_json_float(${json(c.path)}) AS c) AS x)`,
  },
  double: { type: "double precision", value: (c) => `_dlt_json_float(${json(c.path)})` },
  list: {
    type: "text",
    value: (c) =>
      `CASE WHEN jsonb_typeof(${json(c.path)}) = 'array' THEN left(array_to_string(ARRAY(SELECT jsonb_array_elements_text(${json(c.path)})), ','), ${c.max}) END`,
  },
  message: { type: "jsonb", value: () => "j" },
};

/** The refused counts' columns (`REFUSED_COLUMNS`) as PostgreSQL types them. */
export const POSTGRES_COUNT_KINDS: CountKinds = { day: "bigint", name: "text", count: "bigint" };
/** The aggregates on PostgreSQL (`rollup.ts`). */
export const POSTGRES_ROLLUP: RollupDialect = {
  kinds: POSTGRES_KINDS,
  types: { time: "timestamptz", count: "bigint", bin: "integer", boolean: "boolean", double: "double precision" },
  // The connections run with timezone=UTC: hours and days of UTC.
  trunc: (grain, e) => `date_trunc('${grain}', ${e})`,
  finite: (e) => `${e} <> 'Infinity'::float8 AND ${e} <> '-Infinity'::float8 AND ${e} <> 'NaN'::float8`,
};

/** How far the aggregates of a database made before them have been built from its events. */
export const ROLLUP_STATE = "_dlt_collector_rollup";

/** A column as `CREATE TABLE` declares it (the primary key is the table's: `(message_id, received_at)`). */
const definition = (c: Column): string => `"${c.name}" ${typeIn(POSTGRES_KINDS, c)}${isNullable(c) ? "" : " NOT NULL"}`;

/** The events table's columns as the first migration made them (kept as they were: migrations are never edited). */
const FIRST_COLUMNS: readonly ColumnName[] = [
  "message_id",
  "type",
  "event",
  "anonymous_id",
  "user_id",
  "timestamp",
  "original_timestamp",
  "sent_at",
  "received_at",
  "library_name",
  "library_version",
  "os_name",
  "os_version",
  "runtime_name",
  "runtime_version",
  "ci_run",
  "cpu",
  "exec_info",
  "event_category",
  "event_name",
  "success",
  "elapsed",
  "destination_name",
  "destination_type",
  "pipeline_name",
  "source_name",
  "transaction_id",
  "message",
];

/** `rollup`'s dimensions as migration 4 made them (later ones are added by later migrations). */
const FIRST_ROLLUP_DIMENSIONS: readonly ColumnName[] = ROLLUP_DIMENSIONS.filter((n) => n !== "first_run_of_version");

/**
 * Casts as DuckDB's `TRY_CAST` does them (the two stores must give the same typed columns, and so the same dashboard),
 * NULL where DuckDB's would be NULL, never an error: a value must never fail a commit.
 */
const FUNCTIONS = `
-- DuckDB's TRY_CAST(text AS BOOLEAN): true/t/yes/y/1 and false/f/no/n/0, any case, nothing else.
CREATE OR REPLACE FUNCTION _dlt_bool(v text) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE lower(v) WHEN 'true' THEN true WHEN 't' THEN true WHEN 'yes' THEN true WHEN 'y' THEN true WHEN '1' THEN true
    WHEN 'false' THEN false WHEN 'f' THEN false WHEN 'no' THEN false WHEN 'n' THEN false WHEN '0' THEN false END
$$;
-- DuckDB's TRY_CAST(text AS DOUBLE): spaces around, a sign, digits with _ separators, an exponent, inf/nan.
CREATE OR REPLACE FUNCTION _dlt_float(v text) RETURNS double precision LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  IF v !~* '^\\s*[+-]?(([0-9][0-9_]*\\.?[0-9_]*|\\.[0-9][0-9_]*)(e[+-]?[0-9]+)?|inf|infinity|nan)\\s*$' THEN RETURN NULL; END IF;
  RETURN replace(v, '_', '')::double precision;
EXCEPTION WHEN others THEN
  -- Out of a double's range, as DuckDB rounds it: a tiny value is 0, a huge one infinite.
  RETURN (CASE WHEN v ~ '^s*-' THEN '-' ELSE '' END || CASE WHEN v ~* 'e-' THEN '0' ELSE 'Infinity' END)::double precision;
END
$$;
-- A JSON value as a double: numbers as they are (JavaScript wrote them, so they fit), strings as DuckDB casts them.
CREATE OR REPLACE FUNCTION _dlt_json_float(v jsonb) RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE jsonb_typeof(v) WHEN 'number' THEN (v #>> '{}')::double precision WHEN 'string' THEN _dlt_float(v #>> '{}') END
$$;
-- A JSON value as a boolean: DuckDB casts the value's text (true, "yes", 1 are true; 2, "on" are NULL).
CREATE OR REPLACE FUNCTION _dlt_json_bool(v jsonb) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE jsonb_typeof(v) WHEN 'boolean' THEN (v #>> '{}')::boolean WHEN 'number' THEN _dlt_bool(v #>> '{}')
    WHEN 'string' THEN _dlt_bool(v #>> '{}') END
$$;
-- The collector writes its four times as ISO-8601 UTC (stamp.ts); anything else is NULL. STABLE, as text::timestamptz
-- is (a function declared less volatile than its body is not inlined).
CREATE OR REPLACE FUNCTION _dlt_time(v text) RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN v ~ '^[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,6})?Z$' THEN v::timestamptz END
$$;
`;

/**
 * Each migration, in order; `_dlt_collector_schema` records how many have run. Append, never edit: a database made
 * by an earlier version runs only the new ones. A new column is its row in `columns.ts` and a migration appended here
 * that adds it (`test/columns.test.ts` fails until every store's table has the columns of `columns.ts`, and while a
 * migration's text differs from what it was).
 */
export const MIGRATIONS: readonly string[] = [
  `${FUNCTIONS}
   CREATE TABLE IF NOT EXISTS events (${FIRST_COLUMNS.flatMap((name) => COLUMNS.filter((c) => c.name === name).map(definition)).join(", ")},
     PRIMARY KEY (message_id, received_at)) PARTITION BY RANGE (received_at);
   -- The dashboard's time ranges: a BRIN index is a few pages per partition and costs inserts next to nothing.
   CREATE INDEX IF NOT EXISTS events_timestamp ON events USING brin ("timestamp");
   CREATE TABLE IF NOT EXISTS event_ids (message_id text PRIMARY KEY, received_at timestamptz NOT NULL);
   CREATE INDEX IF NOT EXISTS event_ids_received_at ON event_ids (received_at);
   CREATE TABLE IF NOT EXISTS _dlt_collector_probe (id integer PRIMARY KEY, checked_at timestamptz NOT NULL);`,
  // 2: the dashboard's issue 14. The write key's label, as the DuckDB store has it (older events keep NULL, as there).
  // The live view's order: newest received first, ties by id in byte order (DuckDB's), so a page is an ordered index
  // scan of the newest partitions that stops at its LIMIT, deep in the table as on top, instead of a sort of every
  // row (measured in bench/RESULTS.md). Building it on a full table takes a while, once, under the lock.
  `ALTER TABLE events ADD COLUMN IF NOT EXISTS write_key_label text;
   CREATE INDEX IF NOT EXISTS events_received ON events (received_at, message_id COLLATE "C");`,
  // 3: issue 23. What a plan refused, counted per day, reason and event name (not partitioned: a few rows a day).
  `${createRefused(POSTGRES_COUNT_KINDS)};`,
  // 4: the aggregates (issue 24), kept by every insert from now on; the events already stored are added by the
  // backfill (`PostgresStore.backfill`), up to the time recorded here. BRIN: rows are appended in time order.
  `${createRollup(POSTGRES_ROLLUP, FIRST_ROLLUP_DIMENSIONS).join(";\n   ")};
   ${ROLLUP_TABLES.map((t) => `CREATE INDEX IF NOT EXISTS ${t}_bucket ON ${t} USING brin (bucket_start)`).join(";\n   ")};
   CREATE TABLE IF NOT EXISTS ${ROLLUP_STATE} (created_at timestamptz NOT NULL, done_until timestamptz NOT NULL);
   INSERT INTO ${ROLLUP_STATE} SELECT now(), coalesce((SELECT min(received_at) FROM events), now());`,
  // 5: issue 26. Installs without an id: the event's `first_run_of_version`, a column and a dimension of the
  // aggregates. Events stored before keep NULL (and so their aggregates), as with `write_key_label`: no install of
  // then is counted. Adding a nullable column without a default rewrites nothing, on a table of any size.
  `ALTER TABLE events ADD COLUMN IF NOT EXISTS first_run_of_version boolean;
   ALTER TABLE rollup ADD COLUMN IF NOT EXISTS first_run_of_version boolean;
   ALTER TABLE rollup_day ADD COLUMN IF NOT EXISTS first_run_of_version boolean;`,
  // 6: the aggregates off the commit path (issue 24, `rollup-pending.ts`): the queue of events not yet aggregated,
  // with every dimension of then (5's included).
  `${createPending(POSTGRES_ROLLUP)};`,
];

/** The advisory lock every schema change takes (an arbitrary constant: "dlt-coll" in ASCII). */
export const SCHEMA_LOCK = 0x646c742d636f6c6cn;

/** The partition that holds a UTC day (epoch ms at its start). */
export function partitionName(dayStart: number): string {
  return `events_p${new Date(dayStart).toISOString().slice(0, 10).replaceAll("-", "")}`;
}

/** The day (epoch ms of its start) a partition holds, from its name; undefined for a table we did not name. */
export function partitionDay(name: string): number | undefined {
  const m = /^events_p(\d{4})(\d{2})(\d{2})$/.exec(name);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : undefined;
}

/** `CREATE TABLE … PARTITION OF events` for a day, if missing. */
export function createPartition(dayStart: number): string {
  const from = new Date(dayStart).toISOString();
  const to = new Date(dayStart + 86_400_000).toISOString();
  return `CREATE TABLE IF NOT EXISTS "${partitionName(dayStart)}" PARTITION OF events FOR VALUES FROM ('${from}') TO ('${to}')`;
}
