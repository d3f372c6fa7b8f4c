/**
 * The dashboard's SQL on ClickHouse (see `dashboard/apis.ts`; what all stores write alike is in `dashboard-sql.ts`),
 * written to give DuckDB's answers: `{pN:String}` placeholders (a number is bound as its text and cast where it is a
 * time), `countIf`-style `FILTER`, `quantileExactInclusive` for `quantile_cont` (both interpolate linearly),
 * `splitByChar(…)[-1]` for `split_part(…, -1)`, `arrayJoin` for `unnest`, `minOrNull` so an empty range is NULL as
 * elsewhere. Strings sort in byte order and NULLs last, as DuckDB's do. Times are UTC (the columns are
 * `DateTime64(6, 'UTC')`).
 */
import { ALL_TIME, pageSize, refusedRange, type DashboardSql, type Filter } from "../dashboard/apis.js";
import { MAX_MS, MIN_MS } from "./clickhouse-schema.js";
import { CI, EVENT, FAILURE_RATE, FAILURES, filterSql, ONLY, OS, RUNTIME, SOURCE, SUMMARY, VERSION } from "./dashboard-sql.js";

const clamp = (ms: number): number => Math.min(MAX_MS, Math.max(MIN_MS, ms));

/** `split_part(destination_type, '.', -1)` as ClickHouse writes it. */
const DESTINATION = "coalesce(destination_name, nullIf(splitByChar('.', ifNull(destination_type, ''))[-1], ''), 'unknown')";
const RUNTIME_MAJOR = "coalesce(runtime_name, '?') || ' ' || coalesce(splitByChar('.', runtime_version)[1], '?')";
const FAILURE_VALUE = `CASE WHEN GROUPING(event) = 0 THEN coalesce(event, '?')
                   WHEN GROUPING(library_name) = 0 THEN ${VERSION}
                   WHEN GROUPING(os_name) = 0 THEN ${OS}
                   ELSE ${RUNTIME} END`;

const { where, over } = filterSql({
  placeholder: (n) => `{p${n}:String}`,
  range: (time, f, param) =>
    `${time} >= fromUnixTimestamp64Milli(toInt64(${param(clamp(f.from))}), 'UTC') AND ${time} < fromUnixTimestamp64Milli(toInt64(${param(clamp(f.to))}), 'UTC')`,
});

const epochMs = (e: string): string => `toUnixTimestamp64Milli(${e})`;
/** A row's bucket, epoch ms floored to its UTC hour or day (before 1970 too, where `DateTime` cannot go). */
const bucketExpr = (f: Filter): string =>
  `(${epochMs("timestamp")} - positiveModulo(${epochMs("timestamp")}, ${f.bucket === "hour" ? 3_600_000 : 86_400_000}))`;

export const CLICKHOUSE_DASHBOARD: DashboardSql = {
  summary: (f) => over(f, SUMMARY),
  events_over_time: (f) =>
    // An alias is seen by the whole query in ClickHouse: `AS event` inside would be what the filter's `event = …` reads.
    over(
      f,
      (w) =>
        `SELECT t, e AS event, n FROM (SELECT ${bucketExpr(f)} AS t, ${EVENT} AS e, count(*) AS n FROM events WHERE ${w} GROUP BY t, e) ORDER BY t, event`,
    ),
  commands: (f) =>
    over(f, (w) => `SELECT event_name AS command, count(*) AS n FROM events WHERE ${w} GROUP BY command ORDER BY n DESC, command`, ONLY.commands),
  destinations: (f) =>
    over(
      f,
      (w) => `SELECT ${DESTINATION} AS destination,
              count(DISTINCT transaction_id) FILTER (WHERE event_category = 'pipeline') AS runs,
              count(*) FILTER (WHERE event = 'command_init') AS inits
       FROM events WHERE ${w} GROUP BY destination ORDER BY runs DESC, inits DESC, destination`,
      ONLY.destinations,
    ),
  sources: (f) =>
    over(f, (w) => `SELECT ${SOURCE} AS source, count(*) AS n FROM events WHERE ${w} GROUP BY source ORDER BY n DESC, source`, ONLY.inits),
  success_rate: (f) =>
    over(
      f,
      (w) => `SELECT ${bucketExpr(f)} AS t, event, count(*) AS n, round(avg(CASE WHEN success THEN 1.0 ELSE 0.0 END), 4) AS rate
       FROM events WHERE ${w} GROUP BY t, event ORDER BY t, event`,
      ONLY.reported,
    ),
  elapsed: (f) =>
    over(
      f,
      (
        w,
      ) => `SELECT event, count(*) AS n, round(quantileExactInclusive(0.5)(elapsed), 3) AS p50, round(quantileExactInclusive(0.95)(elapsed), 3) AS p95
       FROM events WHERE ${w} GROUP BY event ORDER BY event`,
      ONLY.timed,
    ),
  versions: (f) => over(f, (w) => `SELECT ${VERSION} AS version, count(*) AS n FROM events WHERE ${w} GROUP BY version ORDER BY n DESC, version`),
  platforms: (f) =>
    over(
      f,
      (w) => `SELECT coalesce(os_name, '?') AS os, ${RUNTIME_MAJOR} AS runtime, count(*) AS n
       FROM events WHERE ${w} GROUP BY os, runtime ORDER BY n DESC, os, runtime`,
    ),
  ci: (f) => over(f, (w) => `SELECT ${CI} AS ci, count(*) AS n FROM events WHERE ${w} GROUP BY ci ORDER BY n DESC, ci`),
  exec_info: (f) =>
    over(
      f,
      (w) =>
        `SELECT env, count(*) AS n FROM (SELECT arrayJoin(splitByChar(',', assumeNotNull(exec_info))) AS env FROM events WHERE ${w}) GROUP BY env ORDER BY n DESC, env`,
      ONLY.environments,
    ),
  event_names: (f) =>
    over(
      { ...f, event: undefined },
      (w) => `SELECT e AS event, n FROM (SELECT ${EVENT} AS e, count(*) AS n FROM events WHERE ${w} GROUP BY e) ORDER BY event`,
    ),

  events: (f) => {
    const w = where(f, "", "received_at");
    if (f.before) {
      w.params.push(f.before.receivedUs, f.before.messageId);
      const [us, id] = [w.params.length - 1, w.params.length];
      const at = `fromUnixTimestamp64Micro(toInt64({p${us}:String}), 'UTC')`;
      w.sql += ` AND (received_at < ${at} OR (received_at = ${at} AND message_id < {p${id}:String}))`;
    }
    return {
      // Renamed inside, named outside: see events_over_time.
      sql: `SELECT ${epochMs("r")} AS received_at, e AS event, write_key_label, message_id,
              toString(toUnixTimestamp64Micro(r)) || '.' || message_id AS cursor, message
       FROM (SELECT received_at AS r, ${EVENT} AS e, write_key_label, message_id, message
             FROM events WHERE ${w.sql} ORDER BY received_at DESC, message_id DESC LIMIT ${pageSize(f)})
       ORDER BY r DESC, message_id DESC`,
      params: w.params,
    };
  },
  failures: (f) => over(f, FAILURES(FAILURE_VALUE), ONLY.reported),
  failure_rate: (f) => over(f, FAILURE_RATE(bucketExpr(f)), ONLY.reported),
  version_share: (f) =>
    over(
      f,
      (w) => `SELECT ${bucketExpr(f)} AS t, ${VERSION} AS version, count(*) AS n FROM events WHERE ${w} GROUP BY t, version ORDER BY t, version`,
    ),
  installs: (f) =>
    over(
      f,
      (w) => `SELECT ${bucketExpr(f)} AS t, ${VERSION} AS version, count(*) AS n FROM events WHERE ${w} GROUP BY t, version ORDER BY t, version`,
      ONLY.installs,
    ),
  runtimes: (f) => over(f, (w) => `SELECT ${RUNTIME} AS runtime, count(*) AS n FROM events WHERE ${w} GROUP BY runtime ORDER BY n DESC, runtime`),
  os_versions: (f) => over(f, (w) => `SELECT ${OS} AS os, count(*) AS n FROM events WHERE ${w} GROUP BY os ORDER BY n DESC, os`),
  inits: (f) =>
    over(
      f,
      (w) => `SELECT ${SOURCE} AS source, ${DESTINATION} AS destination,
              count(*) AS n, count(*) FILTER (WHERE NOT success) AS failed
       FROM events WHERE ${w} GROUP BY source, destination ORDER BY n DESC, source, destination`,
      ONLY.inits,
    ),
  steps_by_destination: (f) =>
    over(
      f,
      (w) => `SELECT ${DESTINATION} AS destination, step, sum(n) AS n, sum(failed) AS failed
       FROM (SELECT destination_name, destination_type, event_name AS step, count(*) AS n, count(*) FILTER (WHERE NOT success) AS failed
             FROM events WHERE ${w} GROUP BY destination_name, destination_type, step) AS g
       GROUP BY destination, step ORDER BY destination, step`,
      ONLY.steps,
    ),
  filter_values: (f) =>
    // `{pN}` may be used twice: one set of parameters serves both halves.
    over(
      { ...f, event: undefined, version: undefined, os: undefined, ci: undefined },
      (w) => `SELECT kind, value, n FROM (
         SELECT 'version' AS kind, ${VERSION} AS value, count(*) AS n FROM events WHERE ${w} GROUP BY value
         UNION ALL
         SELECT 'os' AS kind, os_name AS value, count(*) AS n FROM events WHERE ${w} AND os_name IS NOT NULL GROUP BY value)
       ORDER BY kind DESC, n DESC, value`,
    ),
  refused: (f) => ({
    // refusedSql's shape; `nullIf(event, '') AS event` would be its own alias here, so it is named outside.
    sql: `SELECT reason, nullIf(e, '') AS event, n FROM (
            SELECT reason, event AS e, sum(n) AS n FROM refused WHERE day >= toInt64({p1:String}) AND day < toInt64({p2:String}) GROUP BY reason, e)
          ORDER BY n DESC, reason, event LIMIT 200`,
    params: refusedRange(f),
  }),
  extent: (f) =>
    over(
      { ...f, ...ALL_TIME },
      (w) => `SELECT ${epochMs("minOrNull(timestamp)")} AS first, ${epochMs("maxOrNull(timestamp)")} AS last, count(*) AS n FROM events WHERE ${w}`,
    ),
};
