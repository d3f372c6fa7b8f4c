/**
 * The dashboard's SQL on PostgreSQL (see `dashboard/apis.ts`; what both stores write alike is in `dashboard-sql.ts`),
 * written to give DuckDB's answers: `$n` placeholders; explicit `GROUP BY`; `percentile_cont … WITHIN GROUP` for
 * DuckDB's `quantile_cont` (both interpolate linearly); `round(…::numeric)`; text output `COLLATE "C"`, so ordered in
 * byte order, as DuckDB sorts (a database's own locale would put `a` before `B`) with NULLs last; epoch milliseconds
 * and microseconds from `extract(epoch …)` (exact: it is `numeric`), floored as DuckDB's `epoch_ms` is. Time buckets
 * are UTC: the store's connections run with `timezone=UTC`.
 */
import { ALL_TIME, pageSize, refusedRange, type DashboardSql, type Filter } from "../dashboard/apis.js";
import { refusedSql } from "./columns.js";
import {
  CI,
  DESTINATION,
  EVENT,
  FAILURE_RATE,
  FAILURES,
  FAILURE_VALUE,
  filterSql,
  ONLY,
  OS,
  RUNTIME,
  RUNTIME_MAJOR,
  SOURCE,
  SUMMARY,
  VERSION,
} from "./dashboard-sql.js";

/**
 * PostgreSQL's timestamps start in 4713 BC (DuckDB's and JavaScript's go further back): an earlier bound of a range
 * (`ALL_TIME`, or `from` far in the past) means the same as this one, where an event cannot be.
 */
const PG_MIN_MS = -210_866_803_200_000;

/** Epoch ms of a timestamp expression, floored (DuckDB's `epoch_ms`). */
const epochMs = (e: string): string => `floor(extract(epoch FROM ${e}) * 1000)::bigint`;

const { where, over } = filterSql({
  placeholder: (n) => `$${n}`,
  range: (time, f, param) =>
    `"${time}" >= to_timestamp(${param(Math.max(f.from, PG_MIN_MS))}::float8 / 1000) AND "${time}" < to_timestamp(${param(Math.max(f.to, PG_MIN_MS))}::float8 / 1000)`,
});

const bucketExpr = (f: Filter): string => epochMs(`date_trunc('${f.bucket === "hour" ? "hour" : "day"}', "timestamp")`);

const C = `COLLATE "C"`;

export const POSTGRES_DASHBOARD: DashboardSql = {
  summary: (f) => over(f, SUMMARY),
  events_over_time: (f) =>
    over(f, (w) => `SELECT ${bucketExpr(f)} AS t, ${EVENT} ${C} AS event, count(*) AS n FROM events WHERE ${w} GROUP BY 1, 2 ORDER BY t, event`),
  commands: (f) =>
    over(
      f,
      (w) => `SELECT event_name ${C} AS command, count(*) AS n FROM events WHERE ${w} GROUP BY 1 ORDER BY n DESC, command NULLS LAST`,
      ONLY.commands,
    ),
  destinations: (f) =>
    over(
      f,
      (w) => `SELECT ${DESTINATION} ${C} AS destination,
              count(DISTINCT transaction_id) FILTER (WHERE event_category = 'pipeline') AS runs,
              count(*) FILTER (WHERE event = 'command_init') AS inits
       FROM events WHERE ${w} GROUP BY 1 ORDER BY runs DESC, inits DESC, destination`,
      ONLY.destinations,
    ),
  sources: (f) =>
    over(f, (w) => `SELECT ${SOURCE} ${C} AS source, count(*) AS n FROM events WHERE ${w} GROUP BY 1 ORDER BY n DESC, source`, ONLY.inits),
  success_rate: (f) =>
    over(
      f,
      (w) => `SELECT ${bucketExpr(f)} AS t, event ${C} AS event, count(*) AS n, round(avg(CASE WHEN success THEN 1.0 ELSE 0.0 END), 4) AS rate
       FROM events WHERE ${w} GROUP BY 1, 2 ORDER BY t, event NULLS LAST`,
      ONLY.reported,
    ),
  elapsed: (f) =>
    over(
      f,
      (w) => `SELECT event ${C} AS event, count(*) AS n,
              round((percentile_cont(0.5) WITHIN GROUP (ORDER BY elapsed))::numeric, 3) AS p50,
              round((percentile_cont(0.95) WITHIN GROUP (ORDER BY elapsed))::numeric, 3) AS p95
       FROM events WHERE ${w} GROUP BY 1 ORDER BY event NULLS LAST`,
      ONLY.timed,
    ),
  versions: (f) => over(f, (w) => `SELECT (${VERSION}) ${C} AS version, count(*) AS n FROM events WHERE ${w} GROUP BY 1 ORDER BY n DESC, version`),
  platforms: (f) =>
    over(
      f,
      (w) => `SELECT coalesce(os_name, '?') ${C} AS os, (${RUNTIME_MAJOR}) ${C} AS runtime, count(*) AS n
       FROM events WHERE ${w} GROUP BY 1, 2 ORDER BY n DESC, os, runtime`,
    ),
  ci: (f) => over(f, (w) => `SELECT ${CI} ${C} AS ci, count(*) AS n FROM events WHERE ${w} GROUP BY 1 ORDER BY n DESC, ci`),
  exec_info: (f) =>
    over(
      f,
      (w) =>
        `SELECT env ${C} AS env, count(*) AS n FROM (SELECT unnest(string_to_array(exec_info, ',')) AS env FROM events WHERE ${w}) AS e GROUP BY 1 ORDER BY n DESC, env`,
      ONLY.environments,
    ),
  event_names: (f) =>
    over({ ...f, event: undefined }, (w) => `SELECT ${EVENT} ${C} AS event, count(*) AS n FROM events WHERE ${w} GROUP BY 1 ORDER BY event`),

  events: (f) => {
    const w = where(f, "", "received_at");
    if (f.before) {
      // The cursor's µs as a timestamp in whole microseconds (exact by construction, not by float8 rounding); the row
      // comparison is the index's own order (events_received), so the page is read from the index where it points.
      w.params.push(f.before.receivedUs, f.before.messageId);
      const [us, id] = [w.params.length - 1, w.params.length];
      const at = `to_timestamp(0) + $${us}::bigint * interval '1 microsecond'`;
      // `received_at <= …` too: it lets PostgreSQL skip the newer days' partitions, which the row comparison does not.
      w.sql += ` AND received_at <= ${at} AND (received_at, message_id ${C}) < (${at}, $${id}::text)`;
    }
    return {
      // The message as jsonb's text: the same JSON as DuckDB's, its keys in jsonb's order (by length, then bytes).
      sql: `SELECT ${epochMs("received_at")} AS received_at, ${EVENT} AS event, write_key_label, message_id,
              (extract(epoch FROM received_at) * 1000000)::bigint || '.' || message_id AS cursor, message::text AS message
       FROM events WHERE ${w.sql} ORDER BY events.received_at DESC, events.message_id ${C} DESC LIMIT ${pageSize(f)}`,
      params: w.params,
    };
  },
  failures: (f) => over(f, FAILURES(FAILURE_VALUE, ` ${C}`), ONLY.reported),
  failure_rate: (f) => over(f, FAILURE_RATE(bucketExpr(f)), ONLY.reported),
  version_share: (f) =>
    over(f, (w) => `SELECT ${bucketExpr(f)} AS t, (${VERSION}) ${C} AS version, count(*) AS n FROM events WHERE ${w} GROUP BY 1, 2 ORDER BY 1, 2`),
  installs: (f) =>
    over(
      f,
      (w) => `SELECT ${bucketExpr(f)} AS t, (${VERSION}) ${C} AS version, count(*) AS n FROM events WHERE ${w} GROUP BY 1, 2 ORDER BY 1, 2`,
      ONLY.installs,
    ),
  runtimes: (f) => over(f, (w) => `SELECT (${RUNTIME}) ${C} AS runtime, count(*) AS n FROM events WHERE ${w} GROUP BY 1 ORDER BY n DESC, runtime`),
  os_versions: (f) => over(f, (w) => `SELECT (${OS}) ${C} AS os, count(*) AS n FROM events WHERE ${w} GROUP BY 1 ORDER BY n DESC, os`),
  inits: (f) =>
    over(
      f,
      (w) => `SELECT ${SOURCE} ${C} AS source, ${DESTINATION} ${C} AS destination,
              count(*) AS n, count(*) FILTER (WHERE NOT success) AS failed
       FROM events WHERE ${w} GROUP BY 1, 2 ORDER BY n DESC, source, destination`,
      ONLY.inits,
    ),
  steps_by_destination: (f) =>
    // Grouped on the stored columns first, so DESTINATION runs per group, not per event.
    over(
      f,
      (w) => `SELECT ${DESTINATION} ${C} AS destination, step ${C} AS step, sum(n) AS n, sum(failed) AS failed
       FROM (SELECT destination_name, destination_type, event_name AS step, count(*) AS n, count(*) FILTER (WHERE NOT success) AS failed
             FROM events WHERE ${w} GROUP BY 1, 2, 3) g
       GROUP BY 1, 2 ORDER BY destination, step NULLS LAST`,
      ONLY.steps,
    ),
  filter_values: (f) =>
    // One set of parameters serves both halves: `$n` may be used twice.
    over(
      { ...f, event: undefined, version: undefined, os: undefined, ci: undefined },
      (w) => `SELECT 'version' ${C} AS kind, (${VERSION}) ${C} AS value, count(*) AS n FROM events WHERE ${w} GROUP BY 2
       UNION ALL
       SELECT 'os' ${C} AS kind, os_name ${C} AS value, count(*) AS n FROM events WHERE ${w} AND os_name IS NOT NULL GROUP BY 2
       ORDER BY kind DESC, n DESC, value`,
    ),
  extent: (f) =>
    over(
      { ...f, ...ALL_TIME },
      (w) => `SELECT ${epochMs(`min("timestamp")`)} AS first, ${epochMs(`max("timestamp")`)} AS last, count(*) AS n FROM events WHERE ${w}`,
    ),
  refused: (f) => ({ sql: refusedSql("$1", "$2"), params: refusedRange(f) }),
};
