/**
 * The dashboard's aggregates on ClickHouse (`rollup.ts`), the ClickHouse way: the four tables are
 * `AggregatingMergeTree`s keyed by bucket and every dimension, their measures `SimpleAggregateFunction`s (`n` summed,
 * `first`/`lo` the smallest, `last`/`hi` the largest), so parts merge into one row per bucket and group as the engine
 * merges (no `compact`). Each is filled by a materialized view on `events`, inside the insert that writes the events:
 * the view sees the rows of that insert only, and the store inserts only ids it does not hold yet (`clickhouse.ts`), so
 * a replayed `messageId` is aggregated once. Parts may be unmerged when read: every query groups (`sum(n)`, `min`,
 * `max`), as `rollup-dashboard.ts`'s all do.
 *
 * The views skip rows received on 1970-01-01, the probe's day: the probe writes through the real insert path and
 * then drops that day's partition of `events`, which ClickHouse cannot do for rows already aggregated.
 *
 * The dashboard's SQL is `rollup-dashboard.ts`'s, through `CLICKHOUSE_ROLLUP_QUERY`, with two rewrites
 * (`forClickHouse`): an alias is seen by the whole query in ClickHouse, so the `n` of the aggregates is read as `g.n`
 * where an output is also named `n` (`sum(n) AS n, sum(n) FILTER (…)` would nest aggregates), and a filter's
 * `event = …` as `g.event` (an output `coalesce(event, type) AS event` would be what it reads); ClickHouse has no
 * `split_part`, so the two shared expressions that use it are written with `splitByChar`.
 */
import type { Rows } from "../dashboard/apis.js";
import { CLICKHOUSE_KINDS, MAX_MS, MIN_MS } from "./clickhouse-schema.js";
import { DESTINATION, RUNTIME_MAJOR } from "./dashboard-sql.js";
import { rollupSql, type RollupQuery, type RollupQueryDialect, type RollupSql } from "./rollup-dashboard.js";
import { elapsedOf, rollupColumns, rollupOf, ROLLUP_TABLES, type Grain, type RollupDialect, type RollupTable } from "./rollup.js";

const ms = (e: string): string => `toUnixTimestamp64Milli(${e})`;

/** The aggregates on ClickHouse: types, and buckets as epoch ms floored (before 1970 too, where `DateTime` cannot go). */
export const CLICKHOUSE_ROLLUP: RollupDialect = {
  kinds: CLICKHOUSE_KINDS,
  types: { time: "DateTime64(6, 'UTC')", count: "UInt64", bin: "Int32", boolean: "Bool", double: "Float64" },
  trunc: (grain, e) =>
    `toDateTime64(fromUnixTimestamp64Milli(${ms(e)} - positiveModulo(${ms(e)}, ${grain === "hour" ? 3_600_000 : 86_400_000}), 'UTC'), 6, 'UTC')`,
  finite: (e) => `isFinite(${e})`,
};

/** How each measure merges. */
const MEASURES: Readonly<Record<string, string>> = { n: "sum", first: "min", last: "max", lo: "min", hi: "max" };
const kindOf = (table: RollupTable) => (table.startsWith("rollup_elapsed") ? "rollup_elapsed" : "rollup");
const grainOf = (table: RollupTable): Grain => (table.endsWith("_day") ? "day" : "hour");

/** `CREATE TABLE` of an aggregate table: keyed by bucket and every dimension, measures merged by the engine. */
function createTable(table: RollupTable): string {
  const columns = rollupColumns(CLICKHOUSE_ROLLUP)[kindOf(table)];
  const key: string[] = [];
  const defs = columns.map(([name, sqlType]) => {
    const merge = MEASURES[name];
    const notNull = sqlType.endsWith(" NOT NULL");
    const type = notNull ? sqlType.slice(0, -" NOT NULL".length) : sqlType;
    if (merge) return `\`${name}\` SimpleAggregateFunction(${merge}, ${notNull || /^Nullable\(/.test(type) ? type : `Nullable(${type})`})`;
    key.push(`\`${name}\``);
    return `\`${name}\` ${type}`;
  });
  // No partitions: a group of events may span any number of days (client clocks), and these tables are small; the
  // retention deletes their old buckets (`housekeep`).
  return `CREATE TABLE IF NOT EXISTS ${table} (${defs.join(", ")}) ENGINE = AggregatingMergeTree ORDER BY (${key.join(", ")})
SETTINGS allow_nullable_key = 1, fsync_after_insert = 1, fsync_part_directory = 1`;
}

/** The aggregates of the events of `source` for one table (as its view, or a backfill, writes them). */
export const selectFor = (table: RollupTable, source: string): string =>
  kindOf(table) === "rollup" ? rollupOf(CLICKHOUSE_ROLLUP, source, grainOf(table)) : elapsedOf(CLICKHOUSE_ROLLUP, source, grainOf(table));

/** Rows a view aggregates: every event but the probe's (received on 1970-01-01, then dropped). */
const LIVE = "(SELECT * FROM events WHERE received_at >= toDateTime64('1970-01-02 00:00:00', 6, 'UTC')) AS e";

/** The materialized view that fills an aggregate table from each insert into `events`. */
export const viewOf = (table: RollupTable): string => `${table}_mv`;

/** The four tables. */
export const CREATE_ROLLUP_TABLES: readonly string[] = ROLLUP_TABLES.map(createTable);
/** The four views (created once the backfill knows where it starts: see `ClickHouseStore.backfill`). */
export const CREATE_ROLLUP_VIEWS: readonly string[] = ROLLUP_TABLES.map(
  (table) => `CREATE MATERIALIZED VIEW IF NOT EXISTS ${viewOf(table)} TO ${table} AS ${selectFor(table, LIVE)}`,
);

/**
 * How far the aggregates of events stored before them have been built: a row `('created', at)` (events received
 * since are aggregated by the views) and per table rows `(table, done_until)`, appended (the largest counts).
 */
export const ROLLUP_STATE = "_dlt_collector_rollup";
export const CREATE_ROLLUP_STATE = `CREATE TABLE IF NOT EXISTS ${ROLLUP_STATE} (kind String, at DateTime64(6, 'UTC')) ENGINE = MergeTree ORDER BY (kind, at)`;

/** The dashboard's dialect over the aggregates. */
export const CLICKHOUSE_ROLLUP_QUERY: RollupQueryDialect = {
  ...CLICKHOUSE_ROLLUP,
  placeholder: (n) => `{p${n}:String}`,
  time: (p) => `fromUnixTimestamp64Milli(least(greatest(toInt64(${p}), ${MIN_MS}), ${MAX_MS}), 'UTC')`,
  epochMs: ms,
  collate: "",
  nullsLast: "",
  unnestList: (e) => `arrayJoin(splitByChar(',', assumeNotNull(${e})))`,
  ratio: (a, b) => `round(toFloat64(${a}) / nullIf(${b}, 0), 4)`,
  minMs: MIN_MS,
};

/** ClickHouse's forms of the shared expressions that use `split_part` (see `clickhouse-dashboard.ts`). */
const SPLIT_PART: readonly [string, string][] = [
  [DESTINATION, "coalesce(destination_name, nullIf(splitByChar('.', ifNull(destination_type, ''))[-1], ''), 'unknown')"],
  [RUNTIME_MAJOR, "coalesce(runtime_name, '?') || ' ' || coalesce(splitByChar('.', runtime_version)[1], '?')"],
];

/** The index of the `(` that opens the parenthesis closed at `close`, skipping quoted text. */
function openOf(sql: string, close: number): number {
  let depth = 0;
  for (let i = close; i >= 0; i--) {
    const c = sql[i];
    if (c === "'") {
      // Back to the literal's start ('' inside a literal is two quotes: the scan steps over both halves).
      i = sql.lastIndexOf("'", i - 1);
      continue;
    }
    if (c === ")") depth++;
    else if (c === "(" && --depth === 0) return i;
  }
  throw new Error("unbalanced SQL");
}

/** The end of the query level that holds `from` (the `)` closing it, or the end of the text), skipping quoted text. */
function levelEnd(sql: string, from: number): number {
  let depth = 0;
  for (let i = from; i < sql.length; i++) {
    const c = sql[i];
    if (c === "'") i = sql.indexOf("'", i + 1);
    else if (c === "(") depth++;
    else if (c === ")" && --depth < 0) return i;
  }
  return sql.length;
}

/** The start of the `SELECT` that reads from the `(` at `open`: the last one at the same level before it. */
function selectOf(sql: string, open: number): number {
  let depth = 0;
  for (let i = open - 1; i >= 0; i--) {
    const c = sql[i];
    if (c === ")") depth++;
    else if (c === "(") {
      if (depth === 0) return i + 1;
      depth--;
    } else if (depth === 0 && sql.startsWith("SELECT", i) && !/\w/.test(sql[i - 1] ?? " ")) return i;
  }
  return 0;
}

/** Where `word` stands outside any parenthesis and quoted text, the last time. */
function lastAtTop(sql: string, word: string): number {
  let depth = 0;
  let found = -1;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (c === "'") i = sql.indexOf("'", i + 1);
    else if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (depth === 0 && sql.startsWith(word, i)) found = i;
  }
  return found;
}

/** `rollup-dashboard.ts`'s SQL as ClickHouse reads it (see the module's comment). */
export function forClickHouse(sql: string): string {
  let out = sql;
  // `a UNION ALL b ORDER BY …` orders `b` alone in ClickHouse: the union is ordered from outside.
  const order = lastAtTop(out, " ORDER BY ");
  if (order > 0 && lastAtTop(out, " UNION ALL ") >= 0) out = `SELECT * FROM (${out.slice(0, order)})${out.slice(order)}`;
  for (const [generic, ours] of SPLIT_PART) out = out.replaceAll(generic, ours);
  // The relations of aggregate rows, last first, so the positions of the earlier ones stay where they are.
  const ends = [...out.matchAll(/\) AS g\b/g)].map((m) => m.index).reverse();
  for (const close of ends) {
    const open = openOf(out, close);
    const start = selectOf(out, open);
    const after = close + ") AS g".length;
    const end = levelEnd(out, after);
    const head = out.slice(start, open).replace(/\bsum\(n\)/g, "sum(g.n)");
    const tail = out
      .slice(after, end)
      .replace(/\bsum\(n\)/g, "sum(g.n)")
      .replace(/(?<![.\w])event = /g, "g.event = ");
    out = out.slice(0, start) + head + out.slice(open, after) + tail + out.slice(end);
  }
  return out;
}

const GENERIC = rollupSql(CLICKHOUSE_ROLLUP_QUERY);

/** Every API but `events` and `refused`, from the aggregates, in ClickHouse's SQL. */
export const CLICKHOUSE_ROLLUP_SQL: RollupSql = Object.fromEntries(
  Object.entries(GENERIC).map(([api, build]) => [
    api,
    (...args: Parameters<typeof build>): RollupQuery => {
      const q = build(...args);
      return { ...q, sql: forClickHouse(q.sql) };
    },
  ]),
) as unknown as RollupSql;

/** A query's rows, with the `finish` a rolled-up query may need. */
export const finished = (q: RollupQuery, rows: Rows): Rows => (q.finish ? q.finish(rows) : rows);
