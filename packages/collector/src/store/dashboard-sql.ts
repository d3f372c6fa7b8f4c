/**
 * The dashboard SQL every store shares (see `dashboard/apis.ts`): the filter's conditions, the names the APIs build
 * from the stored columns, which events each API counts, and the queries both dialects write alike. Each store keeps
 * only what its dialect writes differently (`duckdb-dashboard.ts`, `postgres-dashboard.ts`): placeholders, time
 * conversions, grouping, collation.
 */
import type { Filter, SqlQuery } from "../dashboard/apis.js";

/** A library and its version as one name, as the version filter and the version APIs spell it. */
export const VERSION = "coalesce(library_name, '?') || ' ' || coalesce(library_version, '?')";

/**
 * A destination as dlt names it, from either vocabulary: `destination_name` (the spec's, dlt-ts's, and dlt 1.x's
 * pipeline steps) or the last part of dlt 1.x's `destination_type` (`duckdb` in `dlt init`,
 * `dlt.destinations.duckdb` in pipeline steps).
 */
// split_part with a negative position (the last part) rather than regexp_extract: DuckDB's coalesce evaluates it for
// every row, and it made `destinations` ~40 % slower on 1M events (measured 50 → 32 ms for the grouping alone).
export const DESTINATION = "coalesce(destination_name, nullif(split_part(destination_type, '.', -1), ''), 'unknown')";

/** The source `dlt init` asked for: dlt 1.x's `source_name`, or the spec's `pipeline_name`. */
export const SOURCE = "coalesce(source_name, pipeline_name, 'unknown')";

/** An event's name, or its message type for the messages that have none (`identify`, `page` …). */
export const EVENT = "coalesce(event, type)";

/** An OS in full: `Linux 6.1.0`. */
export const OS = "coalesce(os_name, '?') || coalesce(' ' || os_version, '')";

/** A runtime in full: `node 20.20.2`, `python 3.12.3`. */
export const RUNTIME = "coalesce(runtime_name, '?') || coalesce(' ' || runtime_version, '')";

/** A runtime and its major version: `node 20`. */
export const RUNTIME_MAJOR = "coalesce(runtime_name, '?') || ' ' || coalesce(split_part(runtime_version, '.', 1), '?')";

/** Whether an event ran in CI, as the `ci` API names it. */
export const CI = "CASE WHEN ci_run THEN 'ci' WHEN NOT ci_run THEN 'not ci' ELSE 'unknown' END";

/** The events an API counts, beside the filter. */
export const ONLY = {
  /** CLI commands. */
  commands: "event_category = 'command'",
  /** Pipeline steps. */
  steps: "event_category = 'pipeline'",
  /** `dlt init`s. */
  inits: "event = 'command_init'",
  /** Pipeline steps and `dlt init`s: the events that name a destination. */
  destinations: "(event_category = 'pipeline' OR event = 'command_init')",
  /** Events that report `success` (commands and pipeline steps). */
  reported: "success IS NOT NULL",
  /** Events that report `elapsed`. */
  timed: "elapsed IS NOT NULL",
  /** The first event of a library version on a machine: an install (`first_run_of_version`, issue 26). */
  installs: "first_run_of_version",
  /** Events that name an environment. */
  environments: "exec_info IS NOT NULL AND exec_info <> ''",
} as const;

/** The stored column a range applies to: the corrected `timestamp`, or `received_at` for the live view. */
export type TimeColumn = "timestamp" | "received_at";

/** A filter's conditions and the values of their placeholders. */
export interface Where {
  sql: string;
  readonly params: (string | number)[];
}

/** How a store writes a filter: its placeholders, and a range of epoch ms on a time column. */
export interface FilterDialect {
  /** The placeholder of the `n`th parameter (from 1). */
  placeholder(n: number): string;
  /** `time` within the filter's range, its bounds added with `param` (which answers their placeholders). */
  range(time: TimeColumn, f: Filter, param: (value: number) => string): string;
}

/** The filter's SQL in a store's dialect, and `over()`: `sql` over the events that pass it. */
export function filterSql(dialect: FilterDialect): {
  /** The filter's conditions (and `extra`), with the range on `time`. */
  where(f: Filter, extra?: string, time?: TimeColumn): Where;
  /** `sql` over the events that pass the filter (and `extra`): `sql` gets the conditions. */
  over(f: Filter, sql: (where: string) => string, extra?: string): SqlQuery;
} {
  function where(f: Filter, extra = "", time: TimeColumn = "timestamp"): Where {
    const params: (string | number)[] = [];
    const param = (v: string | number): string => {
      params.push(v);
      return dialect.placeholder(params.length);
    };
    let sql = dialect.range(time, f, param);
    if (f.event) sql += ` AND event = ${param(f.event)}`;
    if (f.version) sql += ` AND ${VERSION} = ${param(f.version)}`;
    if (f.os) sql += ` AND os_name = ${param(f.os)}`;
    if (f.ci !== undefined) sql += f.ci ? " AND ci_run" : " AND NOT ci_run";
    if (extra) sql += ` AND ${extra}`;
    return { sql, params };
  }
  const over = (f: Filter, sql: (where: string) => string, extra = ""): SqlQuery => {
    const w = where(f, extra);
    return { sql: sql(w.sql), params: w.params };
  };
  return { where, over };
}

/** Totals for the header. */
export const SUMMARY = (w: string): string => `SELECT count(*) AS events, count(DISTINCT transaction_id) AS pipeline_runs,
              count(*) FILTER (WHERE event_category = 'command') AS commands,
              round(avg(CASE WHEN success THEN 1.0 WHEN NOT success THEN 0.0 END), 4) AS success_rate
       FROM events WHERE ${w}`;

/** The failure rate's trend, per bucket (`bucket`: the store's expression of a row's bucket, epoch ms). */
export const FAILURE_RATE =
  (bucket: string) =>
  (w: string): string =>
    `SELECT ${bucket} AS t, count(*) AS n, count(*) FILTER (WHERE NOT success) AS failed FROM events WHERE ${w} GROUP BY 1 ORDER BY 1`;

// `failures` is grouped on the stored columns and named after grouping: 3x faster on 1M events than grouping by the
// joined names.
/** A `failures` row's dimension: `event`, `version`, `os` or `runtime`. */
export const FAILURE_DIMENSION = `CASE WHEN GROUPING(event) = 0 THEN 'event' WHEN GROUPING(library_name) = 0 THEN 'version'
                   WHEN GROUPING(os_name) = 0 THEN 'os' ELSE 'runtime' END`;
/** A `failures` row's value, named as the version, OS and runtime APIs name it. */
export const FAILURE_VALUE = `CASE WHEN GROUPING(event) = 0 THEN coalesce(event, '?')
                   WHEN GROUPING(library_name) = 0 THEN ${VERSION}
                   WHEN GROUPING(os_name) = 0 THEN ${OS}
                   ELSE ${RUNTIME} END`;
/** The groups of `failures`, one set per dimension. */
export const FAILURE_GROUPS = "GROUPING SETS ((event), (library_name, library_version), (os_name, os_version), (runtime_name, runtime_version))";
/**
 * The `failures` query over the events of `w`: per dimension and value, the events and the failed ones. A store
 * passes its own value expression where it names them otherwise, and a collation for its text (PostgreSQL's byte
 * order, as DuckDB sorts).
 */
export const FAILURES =
  (value = FAILURE_VALUE, collate = "") =>
  (w: string): string =>
    `SELECT ${FAILURE_DIMENSION}${collate} AS dimension, (${value})${collate} AS value,
       count(*) AS n, count(*) FILTER (WHERE NOT success) AS failed
     FROM events WHERE ${w}
     GROUP BY ${FAILURE_GROUPS}
     ORDER BY dimension, failed DESC, n DESC, value`;
