/**
 * The SQL behind every plot, computed in the database. Every query takes the same filter: a time range on the
 * corrected `timestamp`, an optional event name, library version, OS and CI flag. Write keys are never stored, so
 * never selected; raw anonymous ids only by `events` (the live view), which returns stored messages as they are.
 *
 * Dialect: the queries are meant to be ported to PostgreSQL as they are, so they keep to SQL both understand
 * (`count(*) FILTER (WHERE …)`, `date_trunc`, `coalesce`, `GROUP BY 1, 2` in the newer ones); what is DuckDB's own
 * is marked `dialect:` (`epoch_ms`/`epoch_us`/`make_timestamp` for epoch conversions), or is one of the older
 * queries' `quantile_cont`, `string_split`/`unnest`, `GROUP BY ALL`.
 */
import type { Cell, EventStore } from "../store/types.js";

/** The dashboard's filter. */
export interface Filter {
  /** Epoch ms, inclusive. */
  readonly from: number;
  /** Epoch ms, exclusive. */
  readonly to: number;
  /** Only this event (e.g. `pipeline_load`), or all. */
  readonly event?: string | undefined;
  /** Bucket of time series. */
  readonly bucket: "hour" | "day";
  /** Only this library and version, as `versions` names it (`dlt-ts 0.1.0`), or all. */
  readonly version?: string | undefined;
  /** Only this OS (`os_name`, e.g. `Linux`), or all. */
  readonly os?: string | undefined;
  /** Only CI runs (true), only the others (false), or all. */
  readonly ci?: boolean | undefined;
  /** `events` only: rows per page (default 50). */
  readonly limit?: number | undefined;
  /** `events` only: the page after this row (its `cursor`, parsed): events received before it. */
  readonly before?: EventCursor | undefined;
}

/** A position in the live view's order (newest first): the time received, in µs since the epoch, then the id. */
export interface EventCursor {
  readonly receivedUs: number;
  readonly messageId: string;
}

/** The most rows `events` returns at once (each holds a stored message of up to 32 KB), and how many by default. */
export const MAX_EVENTS_LIMIT = 500;
export const DEFAULT_EVENTS_LIMIT = 50;

type Params = (string | number)[];

/** A library and its version as one name, as the version filter and the version APIs spell it. */
const VERSION = "coalesce(library_name, '?') || ' ' || coalesce(library_version, '?')";

/** The filter as SQL. `time` is the column the range applies to: `received_at` for the live view. */
function where(f: Filter, extra = "", time: "timestamp" | "received_at" = "timestamp"): { sql: string; params: Params } {
  const params: Params = [f.from, f.to];
  // dialect: epoch_ms(ms) makes a timestamp in DuckDB (PostgreSQL: to_timestamp(ms / 1000.0)).
  let sql = `${time} >= epoch_ms(CAST(? AS BIGINT)) AND ${time} < epoch_ms(CAST(? AS BIGINT))`;
  if (f.event) {
    sql += " AND event = ?";
    params.push(f.event);
  }
  if (f.version) {
    sql += ` AND ${VERSION} = ?`;
    params.push(f.version);
  }
  if (f.os) {
    sql += " AND os_name = ?";
    params.push(f.os);
  }
  if (f.ci !== undefined) sql += f.ci ? " AND ci_run" : " AND NOT ci_run";
  if (extra) sql += ` AND ${extra}`;
  return { sql, params };
}

/** The whole time axis: for queries that ignore the chosen range. */
const ALL_TIME = { from: -8.64e15, to: 8.64e15 } as const;

const bucketExpr = (f: Filter): string => `epoch_ms(date_trunc('${f.bucket === "hour" ? "hour" : "day"}', timestamp))`;

export type Rows = Record<string, Cell>[];

/** One plot's query. */
export type Query = (store: EventStore, f: Filter) => Promise<Rows>;

/**
 * A destination as dlt names it, from either vocabulary: `destination_name` (the spec's, dlt-ts's, and dlt 1.x's
 * pipeline steps) or the last part of dlt 1.x's `destination_type` (`duckdb` in `dlt init`,
 * `dlt.destinations.duckdb` in pipeline steps).
 */
// split_part with a negative position (the last part; PostgreSQL 14+ has it too) rather than regexp_extract: the
// coalesce evaluates it for every row, and it made `destinations` ~40 % slower on 1M events (measured 50 → 32 ms for
// the grouping alone).
const DESTINATION = "coalesce(destination_name, nullif(split_part(destination_type, '.', -1), ''), 'unknown')";

const LIST: Record<string, Query> = {
  /** Totals for the header. */
  summary(store, f) {
    const w = where(f);
    return store.query(
      `SELECT count(*) AS events, count(DISTINCT transaction_id) AS pipeline_runs,
              count(*) FILTER (WHERE event_category = 'command') AS commands,
              round(avg(CASE WHEN success THEN 1.0 WHEN NOT success THEN 0.0 END), 4) AS success_rate
       FROM events WHERE ${w.sql}`,
      w.params,
    );
  },
  /** Events per bucket, per event name (stacked). */
  events_over_time(store, f) {
    const w = where(f);
    return store.query(`SELECT ${bucketExpr(f)} AS t, coalesce(event, type) AS event, count(*) AS n FROM events WHERE ${w.sql} GROUP BY ALL ORDER BY t, event`, w.params);
  },
  /** Which CLI commands are used. */
  commands(store, f) {
    const w = where(f, "event_category = 'command'");
    return store.query(`SELECT event_name AS command, count(*) AS n FROM events WHERE ${w.sql} GROUP BY ALL ORDER BY n DESC, command`, w.params);
  },
  /**
   * Per destination: pipeline runs (distinct transaction ids) and `dlt init` commands that asked for it, in either
   * vocabulary (see DESTINATION).
   */
  destinations(store, f) {
    const w = where(f, "(event_category = 'pipeline' OR event = 'command_init')");
    return store.query(
      `SELECT ${DESTINATION} AS destination,
              count(DISTINCT transaction_id) FILTER (WHERE event_category = 'pipeline') AS runs,
              count(*) FILTER (WHERE event = 'command_init') AS inits
       FROM events WHERE ${w.sql} GROUP BY ALL ORDER BY runs DESC, inits DESC, destination`,
      w.params,
    );
  },
  /** Sources asked for by `dlt init`: dlt 1.x's `source_name`, or the spec's `pipeline_name`. */
  sources(store, f) {
    const w = where(f, "event = 'command_init'");
    return store.query(
      `SELECT coalesce(source_name, pipeline_name, 'unknown') AS source, count(*) AS n FROM events WHERE ${w.sql} GROUP BY ALL ORDER BY n DESC, source`,
      w.params,
    );
  },
  /** Success rate of each pipeline step and command, per bucket. */
  success_rate(store, f) {
    const w = where(f, "success IS NOT NULL");
    return store.query(
      `SELECT ${bucketExpr(f)} AS t, event, count(*) AS n, round(avg(CASE WHEN success THEN 1.0 ELSE 0.0 END), 4) AS rate
       FROM events WHERE ${w.sql} GROUP BY ALL ORDER BY t, event`,
      w.params,
    );
  },
  /** Median and p95 of `elapsed` per step / command. */
  elapsed(store, f) {
    const w = where(f, "elapsed IS NOT NULL");
    return store.query(
      `SELECT event, count(*) AS n, round(quantile_cont(elapsed, 0.5), 3) AS p50, round(quantile_cont(elapsed, 0.95), 3) AS p95
       FROM events WHERE ${w.sql} GROUP BY ALL ORDER BY event`,
      w.params,
    );
  },
  /** Library versions in use: adoption of a release. */
  versions(store, f) {
    const w = where(f);
    return store.query(
      `SELECT coalesce(library_name, '?') || ' ' || coalesce(library_version, '?') AS version, count(*) AS n FROM events WHERE ${w.sql} GROUP BY ALL ORDER BY n DESC, version`,
      w.params,
    );
  },
  /** OS and runtime versions. */
  platforms(store, f) {
    const w = where(f);
    return store.query(
      `SELECT coalesce(os_name, '?') AS os, coalesce(runtime_name, '?') || ' ' || coalesce(split_part(runtime_version, '.', 1), '?') AS runtime, count(*) AS n
       FROM events WHERE ${w.sql} GROUP BY ALL ORDER BY n DESC, os, runtime`,
      w.params,
    );
  },
  /** Share of CI runs. */
  ci(store, f) {
    const w = where(f);
    return store.query(
      `SELECT CASE WHEN ci_run THEN 'ci' WHEN NOT ci_run THEN 'not ci' ELSE 'unknown' END AS ci, count(*) AS n FROM events WHERE ${w.sql} GROUP BY ALL ORDER BY n DESC, ci`,
      w.params,
    );
  },
  /** exec_info environments (an event may name several). */
  exec_info(store, f) {
    const w = where(f, "exec_info IS NOT NULL AND exec_info <> ''");
    return store.query(
      `SELECT env, count(*) AS n FROM (SELECT unnest(string_split(exec_info, ',')) AS env FROM events WHERE ${w.sql}) GROUP BY ALL ORDER BY n DESC, env`,
      w.params,
    );
  },
  /** Event names present in the range, for the filter. */
  event_names(store, f) {
    const w = where({ ...f, event: undefined });
    return store.query(`SELECT coalesce(event, type) AS event, count(*) AS n FROM events WHERE ${w.sql} GROUP BY ALL ORDER BY event`, w.params);
  },

  /**
   * The live view: stored events, newest received first, a page at a time. Keyset paging on (received_at,
   * message_id), never OFFSET, so a page deep in the table costs what the first one does. Each row: when it was
   * received (epoch ms), the event (or the message type), the label of the write key that let it in, the stored
   * message as JSON text, and the row's `cursor` (`before=` of the next page). The range applies to `received_at`.
   */
  events(store, f) {
    const w = where(f, "", "received_at");
    const limit = Math.min(MAX_EVENTS_LIMIT, Math.max(1, Math.trunc(f.limit ?? DEFAULT_EVENTS_LIMIT)));
    if (f.before) {
      // dialect: make_timestamp(µs) (PostgreSQL: to_timestamp(µs / 1e6)); the cursor must round-trip exactly.
      w.sql += " AND (received_at < make_timestamp(CAST(? AS BIGINT)) OR (received_at = make_timestamp(CAST(? AS BIGINT)) AND message_id < ?))";
      w.params.push(f.before.receivedUs, f.before.receivedUs, f.before.messageId);
    }
    return store.query(
      // dialect: epoch_ms / epoch_us of a timestamp (PostgreSQL: extract(epoch FROM …) * 1000 / * 1e6, as bigint).
      `SELECT epoch_ms(received_at) AS received_at, coalesce(event, type) AS event, write_key_label, message_id,
              CAST(epoch_us(received_at) AS VARCHAR) || '.' || message_id AS cursor, message
       FROM events WHERE ${w.sql} ORDER BY received_at DESC, message_id DESC LIMIT ${limit}`,
      w.params,
    );
  },
  /**
   * Failures, drilled down: of the events that report `success` (commands and pipeline steps), how many ran and how
   * many failed, by command or step (`event`), by library version, by OS (name and version) and by runtime (name and
   * version). One row per value of each dimension: `{dimension, value, n, failed}`.
   */
  failures(store, f) {
    const w = where(f, "success IS NOT NULL");
    // Grouped on the stored columns and named after grouping: 3x faster on 1M events than grouping by the joined names.
    return store.query(
      `SELECT CASE WHEN GROUPING(event) = 0 THEN 'event' WHEN GROUPING(library_name) = 0 THEN 'version'
                   WHEN GROUPING(os_name) = 0 THEN 'os' ELSE 'runtime' END AS dimension,
              CASE WHEN GROUPING(event) = 0 THEN coalesce(event, '?')
                   WHEN GROUPING(library_name) = 0 THEN ${VERSION}
                   WHEN GROUPING(os_name) = 0 THEN coalesce(os_name, '?') || coalesce(' ' || os_version, '')
                   ELSE coalesce(runtime_name, '?') || coalesce(' ' || runtime_version, '') END AS value,
              count(*) AS n, count(*) FILTER (WHERE NOT success) AS failed
       FROM events WHERE ${w.sql}
       GROUP BY GROUPING SETS ((event), (library_name, library_version), (os_name, os_version), (runtime_name, runtime_version))
       ORDER BY dimension, failed DESC, n DESC, value`,
      w.params,
    );
  },
  /** The failure rate's trend: per bucket, events that report `success` and how many of them failed. */
  failure_rate(store, f) {
    const w = where(f, "success IS NOT NULL");
    return store.query(
      `SELECT ${bucketExpr(f)} AS t, count(*) AS n, count(*) FILTER (WHERE NOT success) AS failed FROM events WHERE ${w.sql} GROUP BY 1 ORDER BY 1`,
      w.params,
    );
  },
  /** Adoption of releases: events per bucket per library version (the page draws each version's share). */
  version_share(store, f) {
    const w = where(f);
    return store.query(`SELECT ${bucketExpr(f)} AS t, ${VERSION} AS version, count(*) AS n FROM events WHERE ${w.sql} GROUP BY 1, 2 ORDER BY 1, 2`, w.params);
  },
  /** Runtimes in full: `node 20.20.2`, `python 3.12.3`. */
  runtimes(store, f) {
    const w = where(f);
    return store.query(
      `SELECT coalesce(runtime_name, '?') || coalesce(' ' || runtime_version, '') AS runtime, count(*) AS n FROM events WHERE ${w.sql} GROUP BY 1 ORDER BY n DESC, runtime`,
      w.params,
    );
  },
  /** Operating systems in full: `Linux 6.1.0`, `Darwin 23.4.0`. */
  os_versions(store, f) {
    const w = where(f);
    return store.query(
      `SELECT coalesce(os_name, '?') || coalesce(' ' || os_version, '') AS os, count(*) AS n FROM events WHERE ${w.sql} GROUP BY 1 ORDER BY n DESC, os`,
      w.params,
    );
  },
  /** `dlt init` by source and destination, in either vocabulary (see DESTINATION and `sources`), with failures. */
  inits(store, f) {
    const w = where(f, "event = 'command_init'");
    return store.query(
      `SELECT coalesce(source_name, pipeline_name, 'unknown') AS source, ${DESTINATION} AS destination,
              count(*) AS n, count(*) FILTER (WHERE NOT success) AS failed
       FROM events WHERE ${w.sql} GROUP BY 1, 2 ORDER BY n DESC, source, destination`,
      w.params,
    );
  },
  /** Pipeline steps by destination (either vocabulary): how many of each step, and how many failed. */
  steps_by_destination(store, f) {
    const w = where(f, "event_category = 'pipeline'");
    // Grouped on the stored columns first, so DESTINATION runs per group, not per event.
    return store.query(
      `SELECT ${DESTINATION} AS destination, step, sum(n) AS n, sum(failed) AS failed
       FROM (SELECT destination_name, destination_type, event_name AS step, count(*) AS n, count(*) FILTER (WHERE NOT success) AS failed
             FROM events WHERE ${w.sql} GROUP BY 1, 2, 3) g
       GROUP BY 1, 2 ORDER BY destination, step`,
      w.params,
    );
  },
  /**
   * The choices of the version and OS filters: the values present in the range, whatever those two filters and the
   * event and CI filters say (so choosing one does not hide the others). Rows `{kind: "version" | "os", value, n}`.
   */
  filter_values(store, f) {
    const w = where({ ...f, event: undefined, version: undefined, os: undefined, ci: undefined });
    return store.query(
      `SELECT 'version' AS kind, ${VERSION} AS value, count(*) AS n FROM events WHERE ${w.sql} GROUP BY 2
       UNION ALL
       SELECT 'os' AS kind, os_name AS value, count(*) AS n FROM events WHERE ${w.sql} AND os_name IS NOT NULL GROUP BY 2
       ORDER BY kind DESC, n DESC, value`,
      [...w.params, ...w.params],
    );
  },
  /**
   * Where the data lies in time, whatever the chosen range (the other filters apply): the first and last event
   * (epoch ms) and how many there are. The page fits its default range to data younger than it, and shows how to
   * send events when there are none.
   */
  extent(store, f) {
    const w = where({ ...f, ...ALL_TIME });
    // dialect: epoch_ms of a timestamp (see events).
    return store.query(`SELECT epoch_ms(min(timestamp)) AS first, epoch_ms(max(timestamp)) AS last, count(*) AS n FROM events WHERE ${w.sql}`, w.params);
  },
};

/** Every API of the dashboard: name → query. A Map, so only these names are found (not `constructor` & co.). */
export const QUERIES: ReadonlyMap<string, Query> = new Map(Object.entries(LIST));
