/**
 * The dashboard's SQL on PostgreSQL (see `dashboard/queries.ts`), written to give DuckDB's answers: `$n`
 * placeholders; explicit `GROUP BY`; `percentile_cont … WITHIN GROUP` for DuckDB's `quantile_cont` (both interpolate
 * linearly); `round(…::numeric)`; text output `COLLATE "C"`, so ordered in byte order, as DuckDB sorts; a database's own locale
 * would put `a` before `B`) with NULLs last. Time buckets are UTC: the store's connections run with `timezone=UTC`.
 */
import type { DashboardSql, Filter, SqlQuery } from "../dashboard/queries.js";

function where(f: Filter, extra = ""): SqlQuery {
  const params: (string | number)[] = [f.from, f.to];
  let sql = `"timestamp" >= to_timestamp($1::float8 / 1000) AND "timestamp" < to_timestamp($2::float8 / 1000)`;
  if (f.event) {
    params.push(f.event);
    sql += ` AND event = $${params.length}`;
  }
  if (extra) sql += ` AND ${extra}`;
  return { sql, params };
}

const bucketExpr = (f: Filter): string => `(extract(epoch FROM date_trunc('${f.bucket === "hour" ? "hour" : "day"}', "timestamp")) * 1000)::bigint`;

/** See DuckDB's DESTINATION: `destination_name`, else the last part of `destination_type`. */
const DESTINATION = `coalesce(destination_name, nullif(substring(destination_type FROM '[^.]+$'), ''), 'unknown')`;
const C = `COLLATE "C"`;

/** An API of issue 14 before its PostgreSQL SQL is written (the commit after this merge writes it). */
const notYet = (api: string) => (): SqlQuery => {
  throw new Error(`${api}: not on PostgreSQL yet`);
};

const over = (f: Filter, sql: (where: string) => string, extra = ""): SqlQuery => {
  const w = where(f, extra);
  return { sql: sql(w.sql), params: w.params };
};

export const POSTGRES_DASHBOARD: DashboardSql = {
  summary: (f) =>
    over(
      f,
      (w) => `SELECT count(*) AS events, count(DISTINCT transaction_id) AS pipeline_runs,
              count(*) FILTER (WHERE event_category = 'command') AS commands,
              round(avg(CASE WHEN success THEN 1.0 WHEN NOT success THEN 0.0 END), 4) AS success_rate
       FROM events WHERE ${w}`,
    ),
  events_over_time: (f) =>
    over(f, (w) => `SELECT ${bucketExpr(f)} AS t, coalesce(event, type) ${C} AS event, count(*) AS n FROM events WHERE ${w} GROUP BY 1, 2 ORDER BY t, event`),
  commands: (f) =>
    over(f, (w) => `SELECT event_name ${C} AS command, count(*) AS n FROM events WHERE ${w} GROUP BY 1 ORDER BY n DESC, command NULLS LAST`, "event_category = 'command'"),
  destinations: (f) =>
    over(
      f,
      (w) => `SELECT ${DESTINATION} ${C} AS destination,
              count(DISTINCT transaction_id) FILTER (WHERE event_category = 'pipeline') AS runs,
              count(*) FILTER (WHERE event = 'command_init') AS inits
       FROM events WHERE ${w} GROUP BY 1 ORDER BY runs DESC, inits DESC, destination`,
      "(event_category = 'pipeline' OR event = 'command_init')",
    ),
  sources: (f) =>
    over(
      f,
      (w) => `SELECT coalesce(source_name, pipeline_name, 'unknown') ${C} AS source, count(*) AS n FROM events WHERE ${w} GROUP BY 1 ORDER BY n DESC, source`,
      "event = 'command_init'",
    ),
  success_rate: (f) =>
    over(
      f,
      (w) => `SELECT ${bucketExpr(f)} AS t, event ${C} AS event, count(*) AS n, round(avg(CASE WHEN success THEN 1.0 ELSE 0.0 END), 4) AS rate
       FROM events WHERE ${w} GROUP BY 1, 2 ORDER BY t, event NULLS LAST`,
      "success IS NOT NULL",
    ),
  elapsed: (f) =>
    over(
      f,
      (w) => `SELECT event ${C} AS event, count(*) AS n,
              round((percentile_cont(0.5) WITHIN GROUP (ORDER BY elapsed))::numeric, 3) AS p50,
              round((percentile_cont(0.95) WITHIN GROUP (ORDER BY elapsed))::numeric, 3) AS p95
       FROM events WHERE ${w} GROUP BY 1 ORDER BY event NULLS LAST`,
      "elapsed IS NOT NULL",
    ),
  versions: (f) =>
    over(
      f,
      (w) => `SELECT (coalesce(library_name, '?') || ' ' || coalesce(library_version, '?')) ${C} AS version, count(*) AS n FROM events WHERE ${w} GROUP BY 1 ORDER BY n DESC, version`,
    ),
  platforms: (f) =>
    over(
      f,
      (w) => `SELECT coalesce(os_name, '?') ${C} AS os, (coalesce(runtime_name, '?') || ' ' || coalesce(split_part(runtime_version, '.', 1), '?')) ${C} AS runtime, count(*) AS n
       FROM events WHERE ${w} GROUP BY 1, 2 ORDER BY n DESC, os, runtime`,
    ),
  ci: (f) =>
    over(
      f,
      (w) => `SELECT CASE WHEN ci_run THEN 'ci' WHEN NOT ci_run THEN 'not ci' ELSE 'unknown' END ${C} AS ci, count(*) AS n FROM events WHERE ${w} GROUP BY 1 ORDER BY n DESC, ci`,
    ),
  exec_info: (f) =>
    over(
      f,
      (w) => `SELECT env ${C} AS env, count(*) AS n FROM (SELECT unnest(string_to_array(exec_info, ',')) AS env FROM events WHERE ${w}) AS e GROUP BY 1 ORDER BY n DESC, env`,
      "exec_info IS NOT NULL AND exec_info <> ''",
    ),
  event_names: (f) =>
    over({ ...f, event: undefined }, (w) => `SELECT coalesce(event, type) ${C} AS event, count(*) AS n FROM events WHERE ${w} GROUP BY 1 ORDER BY event`),
  events: notYet("events"),
  failures: notYet("failures"),
  failure_rate: notYet("failure_rate"),
  version_share: notYet("version_share"),
  runtimes: notYet("runtimes"),
  os_versions: notYet("os_versions"),
  inits: notYet("inits"),
  steps_by_destination: notYet("steps_by_destination"),
  filter_values: notYet("filter_values"),
  extent: notYet("extent"),
};
