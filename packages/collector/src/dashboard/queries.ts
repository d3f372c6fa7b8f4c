/**
 * The SQL behind every plot, computed in the database. Every query takes the same filter: a time range on the
 * corrected `timestamp` and an optional event name. Raw anonymous ids and write keys are never selected.
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
}

type Params = (string | number)[];

function where(f: Filter, extra = ""): { sql: string; params: Params } {
  const params: Params = [f.from, f.to];
  let sql = "timestamp >= epoch_ms(CAST(? AS BIGINT)) AND timestamp < epoch_ms(CAST(? AS BIGINT))";
  if (f.event) {
    sql += " AND event = ?";
    params.push(f.event);
  }
  if (extra) sql += ` AND ${extra}`;
  return { sql, params };
}

const bucketExpr = (f: Filter): string => `epoch_ms(date_trunc('${f.bucket === "hour" ? "hour" : "day"}', timestamp))`;

export type Rows = Record<string, Cell>[];

/** One plot's query. */
export type Query = (store: EventStore, f: Filter) => Promise<Rows>;

/**
 * A destination as dlt names it, from either vocabulary: `destination_name` (the spec's, dlt-ts's, and dlt 1.x's
 * pipeline steps) or the last part of dlt 1.x's `destination_type` (`duckdb` in `dlt init`,
 * `dlt.destinations.duckdb` in pipeline steps).
 */
const DESTINATION = "coalesce(destination_name, nullif(regexp_extract(destination_type, '[^.]+$'), ''), 'unknown')";

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
};

/** Every API of the dashboard: name → query. A Map, so only these names are found (not `constructor` & co.). */
export const QUERIES: ReadonlyMap<string, Query> = new Map(Object.entries(LIST));
