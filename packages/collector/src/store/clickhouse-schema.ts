/**
 * The ClickHouse store's schema, derived from `columns.ts` through `CLICKHOUSE_KINDS`, the same way for a ClickHouse
 * server (`clickhouse://…`) and for chDB in the collector's process (`chdb:DIR`):
 *
 * - `events`: a MergeTree partitioned by the UTC day of `received_at` (the collector's clock, so retention drops
 *   whole days, as PostgreSQL's partitions), ordered by `(toStartOfDay(timestamp), event, timestamp, message_id)`:
 *   every dashboard query is a range of `timestamp`, many also of one event. Dimensions are `LowCardinality`; ids,
 *   versions of high cardinality and the message are not. `fsync_after_insert` and `fsync_part_directory`: a part is
 *   on disk before the insert returns, so a 200 survives a power cut, not only a `kill -9`.
 * - A projection of `(message_id, received_at)` ordered by `message_id`, written with each part (so atomic with it):
 *   the dedup lookup before an insert reads it by primary key instead of scanning `events` (see `clickhouse.ts`).
 * - `events_input` (engine `Null`, one `String` column, the stamped message) and the materialized view
 *   `events_extract` that turns each line into the typed columns into `events`, inside the insert: the collector sends
 *   the NDJSON lines as they are (`TabSeparatedRaw`: JSON text holds no raw tab or newline), ClickHouse parses each
 *   message once (`JSONExtract` into one nested named tuple of the paths the columns read) and JavaScript builds no
 *   rows, as on the other stores.
 *
 * Everything is `IF NOT EXISTS` / `ADD COLUMN IF NOT EXISTS`, so any number of collectors may start at once; the view's
 * query is replaced only by a collector whose schema version is at least the one recorded (`_dlt_collector_schema`),
 * so an older collector started later does not take new columns away.
 */
import {
  COLUMNS,
  isNullable,
  literal,
  REFUSED_COLUMNS,
  typeIn,
  valueIn,
  type Column,
  type ColumnName,
  type CountKinds,
  type StoreKinds,
} from "./columns.js";

/**
 * The version of this schema; bump it when the view's query changes (a new column). 2: the dashboard's aggregates
 * (`clickhouse-rollup.ts`), built at open for a store made before them. 3: `first_run_of_version` (issue 26).
 */
export const CLICKHOUSE_SCHEMA_VERSION = 3;

/** DateTime64(6)'s range: a bound beyond it means the same as its end (no event can be there). */
export const MIN_MS = Date.UTC(1900, 0, 1);
export const MAX_MS = Date.UTC(2299, 11, 31);

/** A tree of the JSON paths the columns read: each leaf a `Nullable(String)` of the text there. */
type PathTree = Map<string, PathTree | null>;
const TREE: PathTree = new Map();

/** The text at a path of the message (strings unquoted, other JSON values as their JSON text, NULL when absent). */
function textAt(path: string): string {
  const keys = path.split(".");
  let node = TREE;
  keys.forEach((k, i) => {
    const leaf = i === keys.length - 1;
    const had = node.get(k);
    if (leaf) {
      if (had) throw new Error(`columns.ts: ${path} is read both as a value and as an object`);
      node.set(k, null);
    } else {
      if (had === null) throw new Error(`columns.ts: ${path} is read both as a value and as an object`);
      const next: PathTree = had ?? new Map();
      node.set(k, next);
      node = next;
    }
  });
  return keys.reduce((e, k) => `tupleElement(${e}, ${literal(k)})`, "x");
}

/** The ClickHouse type of the tree: a named tuple, `Nullable(String)` at its leaves. */
const tupleType = (tree: PathTree): string =>
  `Tuple(${[...tree].map(([k, sub]) => `\`${k.replaceAll("`", "")}\` ${sub ? tupleType(sub) : "Nullable(String)"}`).join(", ")})`;

const capped = (e: string, max: number): string => `leftUTF8(${e}, ${max})`;
const first = (es: readonly string[]): string => (es.length === 1 ? es[0]! : `coalesce(${es.join(", ")})`);
const time = (e: string): string => `parseDateTime64BestEffortOrNull(${e}, 6, 'UTC')`;

/**
 * The stored columns as ClickHouse types and extracts them from `x` (the message's paths as one tuple of texts), with
 * the lenient casts of the other stores: NULL for what does not cast, never an error.
 */
export const CLICKHOUSE_KINDS: StoreKinds = {
  text: { type: "String", value: (c) => `ifNull(${textAt(c.path)}, '')` },
  cappedText: { type: "LowCardinality(Nullable(String))", value: (c) => capped(first(c.paths.map(textAt)), c.max) },
  textOrMarker: {
    type: "LowCardinality(Nullable(String))",
    value: (c) => `coalesce(${capped(textAt(c.path), c.max)}, if(${textAt(c.marker.path)} IS NOT NULL, ${literal(c.marker.text)}, NULL))`,
  },
  timestamp: {
    type: "Nullable(DateTime64(6, 'UTC'))",
    value: (c) => first([...c.paths.map((p) => time(textAt(p))), ...(isNullable(c) ? [] : ["now64(6, 'UTC')"])]),
  },
  boolean: {
    type: "Nullable(Bool)",
    value: (c) =>
      `multiIf(lower(${textAt(c.path)}) IN ('true', 't', 'yes', 'y', '1'), true, lower(${textAt(c.path)}) IN ('false', 'f', 'no', 'n', '0'), false, NULL)`,
  },
  cores: {
    type: "Nullable(Int32)",
    value: (c) => {
      const n = `toFloat64OrNull(trimBoth(${textAt(c.path)}))`;
      return `if(${n} >= 1 AND ${n} < 2147483648 AND ${n} = trunc(${n}), toInt32(${n}), NULL)`;
    },
  },
  double: { type: "Nullable(Float64)", value: (c) => `toFloat64OrNull(trimBoth(${textAt(c.path)}))` },
  list: {
    type: "Nullable(String)",
    value: (c) =>
      `if(startsWith(${textAt(c.path)}, '['), ${capped(`arrayStringConcat(JSONExtract(assumeNotNull(${textAt(c.path)}), 'Array(Nullable(String))'), ',')`, c.max)}, NULL)`,
  },
  message: { type: "String", value: () => "json" },
};

/** Columns of high cardinality: a dictionary per part would cost more than it saves. */
const NOT_LOW_CARDINALITY: ReadonlySet<ColumnName> = new Set<ColumnName>(["anonymous_id", "user_id", "transaction_id", "write_key_label"]);

/** A column's ClickHouse type; the key and NOT NULL columns are not Nullable. */
export function clickhouseType(c: Column): string {
  let t = typeIn(CLICKHOUSE_KINDS, c);
  if (NOT_LOW_CARDINALITY.has(c.name as ColumnName)) t = t.replace(/^LowCardinality\((.*)\)$/, "$1");
  if (!isNullable(c)) t = t.replace(/^Nullable\((.*)\)$/, "$1").replace(/^LowCardinality\(Nullable\((.*)\)\)$/, "LowCardinality($1)");
  return t;
}

const definition = (c: Column): string => `\`${c.name}\` ${clickhouseType(c)}`;

/** `CREATE TABLE` of the events table. */
export const CREATE_EVENTS = `CREATE TABLE IF NOT EXISTS events (
  ${COLUMNS.map(definition).join(",\n  ")},
  PROJECTION by_id (SELECT message_id, received_at ORDER BY message_id)
) ENGINE = MergeTree
PARTITION BY toDate(received_at)
ORDER BY (toStartOfDay(timestamp), event, timestamp, message_id)
SETTINGS allow_nullable_key = 1, fsync_after_insert = 1, fsync_part_directory = 1, deduplicate_merge_projection_mode = 'rebuild'`;

// The values reference `x` (built at load, so TREE is whole once VALUES is).
const VALUES = COLUMNS.map((c) => `${valueIn(CLICKHOUSE_KINDS, c)} AS \`${c.name}\``).join(",\n    ");

/** The extraction: the typed columns of each stamped message `json`. */
export const EXTRACT = `SELECT ${VALUES}
  FROM (SELECT json, JSONExtract(json, ${literal(tupleType(TREE))}) AS x FROM events_input)`;

/** The refused counts' columns (`REFUSED_COLUMNS`) as ClickHouse types them. */
export const CLICKHOUSE_COUNT_KINDS: CountKinds = { day: "Int64", name: "String", count: "UInt64" };

/**
 * The refused counts: a `SummingMergeTree` on their key, so rows of one key are added up as parts merge; every read
 * sums them (`sum(n)` by key), so it is exact before the merges too.
 */
export const CREATE_REFUSED = `CREATE TABLE IF NOT EXISTS refused (${REFUSED_COLUMNS.map((c) => `\`${c.name}\` ${CLICKHOUSE_COUNT_KINDS[c.kind]}`).join(", ")})
ENGINE = SummingMergeTree ORDER BY (${REFUSED_COLUMNS.filter((c) => "key" in c)
  .map((c) => `\`${c.name}\``)
  .join(", ")})
SETTINGS fsync_after_insert = 1, fsync_part_directory = 1`;

/** The DDL run at every start, in order; every statement may run again, and from several collectors at once. */
export const SCHEMA: readonly string[] = [
  CREATE_EVENTS,
  // A table made by an earlier version lacks the newer columns (none of them is a key or NOT NULL).
  ...COLUMNS.filter(isNullable).map((c) => `ALTER TABLE events ADD COLUMN IF NOT EXISTS ${definition(c)}`),
  "CREATE TABLE IF NOT EXISTS events_input (json String) ENGINE = Null",
  CREATE_REFUSED,
  `CREATE MATERIALIZED VIEW IF NOT EXISTS events_extract TO events AS ${EXTRACT}`,
  "CREATE TABLE IF NOT EXISTS _dlt_collector_probe (id UInt8, checked_at DateTime64(6, 'UTC')) ENGINE = ReplacingMergeTree(checked_at) ORDER BY id",
  "CREATE TABLE IF NOT EXISTS _dlt_collector_schema (version UInt32, at DateTime DEFAULT now()) ENGINE = MergeTree ORDER BY version",
];

/** Replaces the view's query (run when this collector's schema version is the newest recorded). */
export const MODIFY_EXTRACT = `ALTER TABLE events_extract MODIFY QUERY ${EXTRACT}`;

/** The partition id of a UTC day (epoch ms at its start), as ClickHouse names a `toDate` partition: `YYYYMMDD`. */
export const partitionId = (dayStart: number): string => new Date(dayStart).toISOString().slice(0, 10).replaceAll("-", "");
