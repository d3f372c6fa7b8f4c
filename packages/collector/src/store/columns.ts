/**
 * The stored columns: the one list of what every store keeps of a stamped message, each column's name, where its
 * value is in the message (JSON paths, dot-separated) and its kind. Every store derives its `events` table and its
 * extraction from this list, and types and extracts each kind its own way (`StoreKinds`, a record every store must
 * fill, so a new kind is a compile error in each until it has it). A new column is one row here (PostgreSQL also
 * appends a migration that adds it: `test/columns.test.ts` fails until the tables of both stores match this list);
 * a new store is one `StoreKinds`.
 *
 * The kinds are lenient: a value of another JSON type than the kind expects is cast where it can be (`"true"`,
 * `"1.5"`) and NULL otherwise, never an error, so a message never fails a commit because of its values; a missing
 * value is NULL. The stores give the same value for every message (`test/postgres-store.test.ts` compares odd ones).
 */

/** Dimensions the dashboard groups by are capped, so one odd client cannot bloat them. */
const DIMENSION = 200;

/** What each kind of column needs beside its name: where its value is read from. */
interface KindFields {
  /** Text as sent, uncapped: a string unquoted, another JSON value as its JSON text. */
  readonly text: { readonly path: string };
  /** Text as `text` reads it, of the first of `paths` present, cut to `max` characters. */
  readonly cappedText: { readonly paths: readonly [string, ...string[]]; readonly max: number };
  /** `cappedText` at `path`, else `marker.text` when the message holds `marker.path` (JSON null is not held). */
  readonly textOrMarker: { readonly path: string; readonly max: number; readonly marker: { readonly path: string; readonly text: string } };
  /**
   * A time, of the first of `paths` that holds one (ISO-8601 UTC: the collector writes its four times so, see
   * `stamp.ts`); a column that is not nullable falls back to the time of the commit.
   */
  readonly timestamp: { readonly paths: readonly [string, ...string[]] };
  /** DuckDB's `TRY_CAST(… AS BOOLEAN)` of the value's text: true/t/yes/y/1, false/f/no/n/0, any case. */
  readonly boolean: { readonly path: string };
  /** A count of cores: a whole number (or numeric text) of at least 1 that fits a 32-bit integer; else NULL (1.5 is no count). */
  readonly cores: { readonly path: string };
  /** A double: a number, or text DuckDB casts (`" 2.5 "`, `"1_000.5"`, `"inf"`). */
  readonly double: { readonly path: string };
  /** A JSON list of names, joined with commas (its elements as text), cut to `max` characters; not a list: NULL. */
  readonly list: { readonly path: string; readonly max: number };
  /** The stamped message itself. */
  readonly message: Record<never, never>;
}

/** How a column's value is read and typed. */
export type Kind = keyof KindFields;

/** A stored column of kind `K` (any kind by default). */
export type Column<K extends Kind = Kind> = {
  [P in K]: {
    readonly name: string;
    readonly kind: P;
    /** `false`: NOT NULL (every value has one, or a fallback). Nullable when absent. */
    readonly nullable?: false;
    /** The message's own key: replays of it are stored once (NOT NULL). */
    readonly key?: true;
  } & KindFields[P];
}[K];

/** The `events` table's columns, in order. Names are what the dashboard's SQL reads. */
export const COLUMNS = [
  { name: "message_id", kind: "text", path: "messageId", key: true },
  { name: "type", kind: "text", path: "type", nullable: false },
  { name: "event", kind: "cappedText", paths: ["event"], max: DIMENSION },
  { name: "anonymous_id", kind: "cappedText", paths: ["anonymousId"], max: DIMENSION },
  { name: "user_id", kind: "cappedText", paths: ["userId"], max: DIMENSION },
  // The client's time corrected by the skew; a message without one is placed when it was received.
  { name: "timestamp", kind: "timestamp", paths: ["timestamp", "receivedAt"], nullable: false },
  { name: "original_timestamp", kind: "timestamp", paths: ["originalTimestamp"] },
  { name: "sent_at", kind: "timestamp", paths: ["sentAt"] },
  { name: "received_at", kind: "timestamp", paths: ["receivedAt"], nullable: false },
  { name: "library_name", kind: "cappedText", paths: ["context.library.name"], max: DIMENSION },
  { name: "library_version", kind: "cappedText", paths: ["context.library.version"], max: DIMENSION },
  { name: "os_name", kind: "cappedText", paths: ["context.os.name"], max: DIMENSION },
  { name: "os_version", kind: "cappedText", paths: ["context.os.version"], max: DIMENSION },
  // dlt's Python context has `python: "3.10.10"`; ours has `runtime: {name, version}`.
  { name: "runtime_name", kind: "textOrMarker", path: "context.runtime.name", max: DIMENSION, marker: { path: "context.python", text: "python" } },
  { name: "runtime_version", kind: "cappedText", paths: ["context.runtime.version", "context.python"], max: DIMENSION },
  { name: "ci_run", kind: "boolean", path: "context.ci_run" },
  { name: "cpu", kind: "cores", path: "context.cpu" },
  // `context.exec_info` is a list of environment names.
  { name: "exec_info", kind: "list", path: "context.exec_info", max: 500 },
  { name: "event_category", kind: "cappedText", paths: ["properties.event_category"], max: DIMENSION },
  { name: "event_name", kind: "cappedText", paths: ["properties.event_name"], max: DIMENSION },
  { name: "success", kind: "boolean", path: "properties.success" },
  { name: "elapsed", kind: "double", path: "properties.elapsed" },
  // Installs counted without an id (issue 26): the first event a machine sends for a library version carries
  // `first_run_of_version: true` (packages/telemetry's `firstRunOfVersion`); the `installs` API counts them.
  { name: "first_run_of_version", kind: "boolean", path: "properties.first_run_of_version" },
  // Two vocabularies of dlt's events: the spec's (dlt 0.2–0.4, and dlt-ts) `command_init` carries `pipeline_name`
  // (the source asked for) and `destination_name`; dlt 1.x's carries `source_name` and `destination_type` (`duckdb`).
  // dlt 1.x's pipeline steps carry both `destination_name` (`duckdb`, or the name the user gave it) and
  // `destination_type` (`dlt.destinations.duckdb`). Each is kept as sent; the dashboard reads them together.
  { name: "destination_name", kind: "cappedText", paths: ["properties.destination_name"], max: DIMENSION },
  { name: "destination_type", kind: "cappedText", paths: ["properties.destination_type"], max: DIMENSION },
  { name: "pipeline_name", kind: "cappedText", paths: ["properties.pipeline_name"], max: DIMENSION },
  { name: "source_name", kind: "cappedText", paths: ["properties.source_name"], max: DIMENSION },
  { name: "transaction_id", kind: "cappedText", paths: ["properties.transaction_id"], max: DIMENSION },
  // The label of the write key that let the event in (set by the collector at ingest, see ingest.ts; never the key).
  { name: "write_key_label", kind: "cappedText", paths: ["writeKeyLabel"], max: DIMENSION },
  { name: "message", kind: "message", nullable: false },
] as const satisfies readonly Column[];

/** The name of a stored column. */
export type ColumnName = (typeof COLUMNS)[number]["name"];

/** How one store types and extracts each kind: its SQL type, and the SQL of a column's value from the message. */
export type StoreKinds = {
  readonly [K in Kind]: { readonly type: string; readonly value: (column: Column<K>) => string };
};

/** Whether a column may hold NULL: neither the key nor declared NOT NULL. */
export const isNullable = (column: Column): boolean => column.nullable !== false && column.key !== true;

/** A column's SQL type in a store. */
export const typeIn = (kinds: StoreKinds, column: Column): string => kinds[column.kind].type;

/** The SQL of a column's value in a store. */
export const valueIn = <K extends Kind>(kinds: StoreKinds, column: Column<K>): string => kinds[column.kind].value(column);

/** The first of several expressions that is not NULL (the one alone as it is). */
export const firstOf = (expressions: readonly string[]): string =>
  expressions.length === 1 ? expressions[0]! : `coalesce(${expressions.join(", ")})`;

/** Text as an SQL string literal (standard quoting, as both dialects read it). */
export const literal = (text: string): string => `'${text.replaceAll("'", "''")}'`;

/**
 * The `refused` table: what a plan refused (`plan/enforce.ts`), counted per UTC day, reason and event name (the name
 * only when it is a bounded identifier, else ""), never a message. Listed once, as `COLUMNS`: each store creates the
 * table, upserts its rows and reads `GET /api/refused` from this list (`CountKinds`, a record every store fills).
 */
interface CountKindFields {
  /** The epoch ms of a UTC day's start (a number: both stores compare it with the dashboard's range as it is). */
  readonly day: Record<never, never>;
  /** A short name (a reason, an event name). */
  readonly name: Record<never, never>;
  /** A count. */
  readonly count: Record<never, never>;
}
export type CountKind = keyof CountKindFields;

/** A column of the refused counts. */
export interface CountColumn {
  readonly name: string;
  readonly kind: CountKind;
  /** Part of the key: a row per distinct key, whose `count` columns are added to. */
  readonly key?: true;
}

export const REFUSED_COLUMNS = [
  { name: "day", kind: "day", key: true },
  { name: "reason", kind: "name", key: true },
  { name: "event", kind: "name", key: true },
  { name: "n", kind: "count" },
] as const satisfies readonly CountColumn[];

/** A store's SQL type of each kind of the refused counts' columns. */
export type CountKinds = { readonly [K in CountKind]: string };

const REFUSED_KEY = REFUSED_COLUMNS.filter((c) => "key" in c)
  .map((c) => `"${c.name}"`)
  .join(", ");

/** `CREATE TABLE` of the refused counts in a store (every column NOT NULL; the key is the primary key). */
export const createRefused = (kinds: CountKinds): string =>
  `CREATE TABLE IF NOT EXISTS refused (${REFUSED_COLUMNS.map((c) => `"${c.name}" ${kinds[c.kind]} NOT NULL`).join(", ")}, PRIMARY KEY (${REFUSED_KEY}))`;

/**
 * The upsert of refused counts, from `source` (rows of the columns, in order): counts are added to a row that exists
 * (`add`, live counting), or the larger of the two is kept (`max`: a copy of counts, which a second run leaves as
 * they are, as `migrate` needs).
 */
export const upsertRefused = (source: string, merge: "add" | "max" = "add"): string =>
  `INSERT INTO refused (${REFUSED_COLUMNS.map((c) => `"${c.name}"`).join(", ")}) ${source}
   ON CONFLICT (${REFUSED_KEY}) DO UPDATE SET ${REFUSED_COLUMNS.filter((c) => c.kind === "count")
     .map(
       (c) =>
         `"${c.name}" = ${merge === "add" ? `refused."${c.name}" + excluded."${c.name}"` : `greatest(refused."${c.name}", excluded."${c.name}")`}`,
     )
     .join(", ")}`;

/** `GET /api/refused`: per reason and event, how many were refused in a range of days (the two bounds' placeholders). */
export const refusedSql = (from: string, to: string): string =>
  `SELECT reason, nullif(event, '') AS event, sum(n) AS n FROM refused WHERE day >= ${from} AND day < ${to}
   GROUP BY reason, event ORDER BY n DESC, reason, event LIMIT 200`;
