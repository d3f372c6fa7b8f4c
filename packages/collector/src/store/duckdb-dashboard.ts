/**
 * The dashboard's SQL on DuckDB (see `dashboard/apis.ts`; what both stores write alike is in `dashboard-sql.ts`): `?` placeholders, `GROUP BY ALL`, `epoch_ms` /
 * `epoch_us` / `make_timestamp` for epoch conversions, `quantile_cont`, `string_split` + `unnest`.
 */
import { ALL_TIME, pageSize, refusedRange, type DashboardSql, type Filter } from "../dashboard/apis.js";
import { refusedSql } from "./columns.js";
import {
  CI,
  DESTINATION,
  EVENT,
  FAILURE_RATE,
  FAILURES,
  filterSql,
  ONLY,
  OS,
  RUNTIME,
  RUNTIME_MAJOR,
  SOURCE,
  SUMMARY,
  VERSION,
} from "./dashboard-sql.js";

const { where, over } = filterSql({
  placeholder: () => "?",
  range: (time, f, param) => `${time} >= epoch_ms(CAST(${param(f.from)} AS BIGINT)) AND ${time} < epoch_ms(CAST(${param(f.to)} AS BIGINT))`,
});

const bucketExpr = (f: Filter): string => `epoch_ms(date_trunc('${f.bucket === "hour" ? "hour" : "day"}', timestamp))`;

export const DUCKDB_DASHBOARD: DashboardSql = {
  summary: (f) => over(f, SUMMARY),
  events_over_time: (f) =>
    over(f, (w) => `SELECT ${bucketExpr(f)} AS t, ${EVENT} AS event, count(*) AS n FROM events WHERE ${w} GROUP BY ALL ORDER BY t, event`),
  commands: (f) =>
    over(f, (w) => `SELECT event_name AS command, count(*) AS n FROM events WHERE ${w} GROUP BY ALL ORDER BY n DESC, command`, ONLY.commands),
  destinations: (f) =>
    over(
      f,
      (w) => `SELECT ${DESTINATION} AS destination,
              count(DISTINCT transaction_id) FILTER (WHERE event_category = 'pipeline') AS runs,
              count(*) FILTER (WHERE event = 'command_init') AS inits
       FROM events WHERE ${w} GROUP BY ALL ORDER BY runs DESC, inits DESC, destination`,
      ONLY.destinations,
    ),
  sources: (f) => over(f, (w) => `SELECT ${SOURCE} AS source, count(*) AS n FROM events WHERE ${w} GROUP BY ALL ORDER BY n DESC, source`, ONLY.inits),
  success_rate: (f) =>
    over(
      f,
      (w) => `SELECT ${bucketExpr(f)} AS t, event, count(*) AS n, round(avg(CASE WHEN success THEN 1.0 ELSE 0.0 END), 4) AS rate
       FROM events WHERE ${w} GROUP BY ALL ORDER BY t, event`,
      ONLY.reported,
    ),
  elapsed: (f) =>
    over(
      f,
      (w) => `SELECT event, count(*) AS n, round(quantile_cont(elapsed, 0.5), 3) AS p50, round(quantile_cont(elapsed, 0.95), 3) AS p95
       FROM events WHERE ${w} GROUP BY ALL ORDER BY event`,
      ONLY.timed,
    ),
  versions: (f) => over(f, (w) => `SELECT ${VERSION} AS version, count(*) AS n FROM events WHERE ${w} GROUP BY ALL ORDER BY n DESC, version`),
  platforms: (f) =>
    over(
      f,
      (w) => `SELECT coalesce(os_name, '?') AS os, ${RUNTIME_MAJOR} AS runtime, count(*) AS n
       FROM events WHERE ${w} GROUP BY ALL ORDER BY n DESC, os, runtime`,
    ),
  ci: (f) => over(f, (w) => `SELECT ${CI} AS ci, count(*) AS n FROM events WHERE ${w} GROUP BY ALL ORDER BY n DESC, ci`),
  exec_info: (f) =>
    over(
      f,
      (w) =>
        `SELECT env, count(*) AS n FROM (SELECT unnest(string_split(exec_info, ',')) AS env FROM events WHERE ${w}) GROUP BY ALL ORDER BY n DESC, env`,
      ONLY.environments,
    ),
  event_names: (f) =>
    over({ ...f, event: undefined }, (w) => `SELECT ${EVENT} AS event, count(*) AS n FROM events WHERE ${w} GROUP BY ALL ORDER BY event`),

  events: (f) => {
    const w = where(f, "", "received_at");
    if (f.before) {
      // make_timestamp(µs): the cursor round-trips exactly.
      w.sql += " AND (received_at < make_timestamp(CAST(? AS BIGINT)) OR (received_at = make_timestamp(CAST(? AS BIGINT)) AND message_id < ?))";
      w.params.push(f.before.receivedUs, f.before.receivedUs, f.before.messageId);
    }
    return {
      // A top-N reads the message only for the rows it keeps up to `late_materialization_max_rows`, which the store's
      // read connection raises to 1,000 (see duckdb.ts): past DuckDB's default of 50 this read every stored message.
      sql: `SELECT epoch_ms(received_at) AS received_at, ${EVENT} AS event, write_key_label, message_id,
              CAST(epoch_us(received_at) AS VARCHAR) || '.' || message_id AS cursor, message
       FROM events WHERE ${w.sql} ORDER BY events.received_at DESC, events.message_id DESC LIMIT ${pageSize(f)}`,
      params: w.params,
    };
  },
  failures: (f) => over(f, FAILURES(), ONLY.reported),
  failure_rate: (f) => over(f, FAILURE_RATE(bucketExpr(f)), ONLY.reported),
  version_share: (f) =>
    over(f, (w) => `SELECT ${bucketExpr(f)} AS t, ${VERSION} AS version, count(*) AS n FROM events WHERE ${w} GROUP BY 1, 2 ORDER BY 1, 2`),
  installs: (f) =>
    over(
      f,
      (w) => `SELECT ${bucketExpr(f)} AS t, ${VERSION} AS version, count(*) AS n FROM events WHERE ${w} GROUP BY 1, 2 ORDER BY 1, 2`,
      ONLY.installs,
    ),
  runtimes: (f) => over(f, (w) => `SELECT ${RUNTIME} AS runtime, count(*) AS n FROM events WHERE ${w} GROUP BY 1 ORDER BY n DESC, runtime`),
  os_versions: (f) => over(f, (w) => `SELECT ${OS} AS os, count(*) AS n FROM events WHERE ${w} GROUP BY 1 ORDER BY n DESC, os`),
  inits: (f) =>
    over(
      f,
      (w) => `SELECT ${SOURCE} AS source, ${DESTINATION} AS destination,
              count(*) AS n, count(*) FILTER (WHERE NOT success) AS failed
       FROM events WHERE ${w} GROUP BY 1, 2 ORDER BY n DESC, source, destination`,
      ONLY.inits,
    ),
  steps_by_destination: (f) =>
    // Grouped on the stored columns first, so DESTINATION runs per group, not per event.
    over(
      f,
      (w) => `SELECT ${DESTINATION} AS destination, step, sum(n) AS n, sum(failed) AS failed
       FROM (SELECT destination_name, destination_type, event_name AS step, count(*) AS n, count(*) FILTER (WHERE NOT success) AS failed
             FROM events WHERE ${w} GROUP BY 1, 2, 3) g
       GROUP BY 1, 2 ORDER BY destination, step`,
      ONLY.steps,
    ),
  filter_values: (f) => {
    const w = where({ ...f, event: undefined, version: undefined, os: undefined, ci: undefined });
    return {
      sql: `SELECT 'version' AS kind, ${VERSION} AS value, count(*) AS n FROM events WHERE ${w.sql} GROUP BY 2
       UNION ALL
       SELECT 'os' AS kind, os_name AS value, count(*) AS n FROM events WHERE ${w.sql} AND os_name IS NOT NULL GROUP BY 2
       ORDER BY kind DESC, n DESC, value`,
      params: [...w.params, ...w.params],
    };
  },
  extent: (f) =>
    over(
      { ...f, ...ALL_TIME },
      (w) => `SELECT epoch_ms(min(timestamp)) AS first, epoch_ms(max(timestamp)) AS last, count(*) AS n FROM events WHERE ${w}`,
    ),
  refused: (f) => ({ sql: refusedSql("?", "?"), params: refusedRange(f) }),
};
