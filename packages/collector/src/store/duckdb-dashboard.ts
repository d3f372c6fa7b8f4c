/** The dashboard's SQL on DuckDB (see `dashboard/queries.ts`): `?` placeholders, `GROUP BY ALL`. */
import type { DashboardSql, Filter, SqlQuery } from "../dashboard/queries.js";

function where(f: Filter, extra = ""): SqlQuery {
  const params: (string | number)[] = [f.from, f.to];
  let sql = "timestamp >= epoch_ms(CAST(? AS BIGINT)) AND timestamp < epoch_ms(CAST(? AS BIGINT))";
  if (f.event) {
    sql += " AND event = ?";
    params.push(f.event);
  }
  if (extra) sql += ` AND ${extra}`;
  return { sql, params };
}

const bucketExpr = (f: Filter): string => `epoch_ms(date_trunc('${f.bucket === "hour" ? "hour" : "day"}', timestamp))`;

/**
 * A destination as dlt names it, from either vocabulary: `destination_name` (the spec's, dlt-ts's, and dlt 1.x's
 * pipeline steps) or the last part of dlt 1.x's `destination_type` (`duckdb` in `dlt init`,
 * `dlt.destinations.duckdb` in pipeline steps).
 */
const DESTINATION = "coalesce(destination_name, nullif(regexp_extract(destination_type, '[^.]+$'), ''), 'unknown')";

/** `sql` over the events that pass the filter (and `extra`). */
const over = (f: Filter, sql: (where: string) => string, extra = ""): SqlQuery => {
  const w = where(f, extra);
  return { sql: sql(w.sql), params: w.params };
};

export const DUCKDB_DASHBOARD: DashboardSql = {
  summary: (f) =>
    over(
      f,
      (w) => `SELECT count(*) AS events, count(DISTINCT transaction_id) AS pipeline_runs,
              count(*) FILTER (WHERE event_category = 'command') AS commands,
              round(avg(CASE WHEN success THEN 1.0 WHEN NOT success THEN 0.0 END), 4) AS success_rate
       FROM events WHERE ${w}`,
    ),
  events_over_time: (f) =>
    over(f, (w) => `SELECT ${bucketExpr(f)} AS t, coalesce(event, type) AS event, count(*) AS n FROM events WHERE ${w} GROUP BY ALL ORDER BY t, event`),
  commands: (f) =>
    over(f, (w) => `SELECT event_name AS command, count(*) AS n FROM events WHERE ${w} GROUP BY ALL ORDER BY n DESC, command`, "event_category = 'command'"),
  destinations: (f) =>
    over(
      f,
      (w) => `SELECT ${DESTINATION} AS destination,
              count(DISTINCT transaction_id) FILTER (WHERE event_category = 'pipeline') AS runs,
              count(*) FILTER (WHERE event = 'command_init') AS inits
       FROM events WHERE ${w} GROUP BY ALL ORDER BY runs DESC, inits DESC, destination`,
      "(event_category = 'pipeline' OR event = 'command_init')",
    ),
  sources: (f) =>
    over(
      f,
      (w) => `SELECT coalesce(source_name, pipeline_name, 'unknown') AS source, count(*) AS n FROM events WHERE ${w} GROUP BY ALL ORDER BY n DESC, source`,
      "event = 'command_init'",
    ),
  success_rate: (f) =>
    over(
      f,
      (w) => `SELECT ${bucketExpr(f)} AS t, event, count(*) AS n, round(avg(CASE WHEN success THEN 1.0 ELSE 0.0 END), 4) AS rate
       FROM events WHERE ${w} GROUP BY ALL ORDER BY t, event`,
      "success IS NOT NULL",
    ),
  elapsed: (f) =>
    over(
      f,
      (w) => `SELECT event, count(*) AS n, round(quantile_cont(elapsed, 0.5), 3) AS p50, round(quantile_cont(elapsed, 0.95), 3) AS p95
       FROM events WHERE ${w} GROUP BY ALL ORDER BY event`,
      "elapsed IS NOT NULL",
    ),
  versions: (f) =>
    over(
      f,
      (w) => `SELECT coalesce(library_name, '?') || ' ' || coalesce(library_version, '?') AS version, count(*) AS n FROM events WHERE ${w} GROUP BY ALL ORDER BY n DESC, version`,
    ),
  platforms: (f) =>
    over(
      f,
      (w) => `SELECT coalesce(os_name, '?') AS os, coalesce(runtime_name, '?') || ' ' || coalesce(split_part(runtime_version, '.', 1), '?') AS runtime, count(*) AS n
       FROM events WHERE ${w} GROUP BY ALL ORDER BY n DESC, os, runtime`,
    ),
  ci: (f) =>
    over(
      f,
      (w) => `SELECT CASE WHEN ci_run THEN 'ci' WHEN NOT ci_run THEN 'not ci' ELSE 'unknown' END AS ci, count(*) AS n FROM events WHERE ${w} GROUP BY ALL ORDER BY n DESC, ci`,
    ),
  exec_info: (f) =>
    over(
      f,
      (w) => `SELECT env, count(*) AS n FROM (SELECT unnest(string_split(exec_info, ',')) AS env FROM events WHERE ${w}) GROUP BY ALL ORDER BY n DESC, env`,
      "exec_info IS NOT NULL AND exec_info <> ''",
    ),
  event_names: (f) =>
    over({ ...f, event: undefined }, (w) => `SELECT coalesce(event, type) AS event, count(*) AS n FROM events WHERE ${w} GROUP BY ALL ORDER BY event`),
};
