/**
 * The dashboard's APIs answered from the aggregates (`rollup.ts`), once for every store: each store gives its dialect
 * (placeholders, epoch conversions, collation, list splitting). Every API but the live view (`events`, which returns
 * stored messages) reads a relation of `rollup` rows: the whole hours of the range from the table, its edges grouped
 * from the raw events the same way, so a range that does not start or end on the hour is answered as the raw queries
 * answer it (`splitRange`); whole days are read from the daily tables, unless the buckets are hours. Counts are `sum(n)`; a failure is `success = false`; the count of pipeline runs is the
 * count of the run's most reported step (see DESIGN.md: exact for runs that report each step once); `elapsed`'s
 * percentiles come from the histogram (`elapsedFromHistogram`), within 5 %.
 */
import { ALL_TIME, type DashboardApi, type Filter, type Rows, type SqlQuery } from "../dashboard/apis.js";
import { CI, DESTINATION, EVENT, ONLY, OS, RUNTIME, RUNTIME_MAJOR, SOURCE, VERSION } from "./dashboard-sql.js";
import { elapsedFromHistogram, elapsedOf, namesOf, rollupOf, splitRange, tableOf, type RollupDialect, type RollupKind } from "./rollup.js";

/** A query over the aggregates, and what turns its rows into the API's answer (when they differ). */
export interface RollupQuery extends SqlQuery {
  readonly finish?: (rows: Rows) => Rows;
}

/** Every API but `events`, from the aggregates. */
/** Every API but the live view (`events`) and `refused`, which read tables of their own in every store. */
export type RollupSql = { readonly [api in Exclude<DashboardApi, "events" | "refused">]: (f: Filter, rawFrom: number | undefined) => RollupQuery };

/** What a store's dialect adds to `RollupDialect` for the dashboard. */
export interface RollupQueryDialect extends RollupDialect {
  /** The placeholder of the `n`th parameter (from 1). */
  placeholder(n: number): string;
  /** A time from a placeholder of epoch ms. */
  time(placeholder: string): string;
  /** Epoch ms of a time, floored. */
  epochMs(e: string): string;
  /** After a text output: `COLLATE "C"` where the store's default collation is not byte order. */
  readonly collate: string;
  /** `NULLS LAST` where a DESC-less ORDER BY would not put NULLs last anyway. */
  readonly nullsLast: string;
  /** The rows of a comma-joined list, one per element (`unnest`). */
  unnestList(e: string): string;
  /** A ratio of two counts as a rounded number (4 decimals). */
  ratio(numerator: string, denominator: string): string;
  /** The earliest epoch ms the store's times reach (a range starting before it starts there). */
  readonly minMs: number;
  /**
   * The relation of events not yet added to the aggregates (`rollup-pending.ts`: a table, or a query over the events),
   * grouped at query time over the range the aggregate tables answer, so answers are exact while a roll-up is due;
   * none where the aggregates are always whole.
   */
  readonly pending?: () => string;
}

export function rollupSql(d: RollupQueryDialect): RollupSql {
  const C = d.collate;
  const NL = d.nullsLast;

  /** The filter's relation and conditions, with their parameters in the order they appear. */
  function over(f: Filter, table: RollupKind, rawFrom: number | undefined, sql: (source: string, where: string) => string, extra = ""): SqlQuery {
    const params: (string | number)[] = [];
    const p = (v: string | number): string => {
      params.push(v);
      return d.placeholder(params.length);
    };
    const range = { from: Math.max(f.from, d.minMs), to: Math.max(f.to, d.minMs) };
    const split = splitRange(range, rawFrom);
    // Hourly buckets need hourly rows: the days are read from the hourly table then.
    const [days, hours] = f.bucket === "hour" ? [[], [...split.days, ...split.hours]] : [split.days, split.hours];
    const names = namesOf(d, tableOf(table, "hour"));
    const parts: string[] = [];
    // One part per span, each a plain range: an OR of ranges would keep the stores from skipping what lies outside
    // them (DuckDB's zone maps, PostgreSQL's BRIN), and the raw events would be read whole.
    for (const [grain, spans] of [
      ["day", days],
      ["hour", hours],
    ] as const) {
      for (const [a, b] of spans)
        parts.push(`SELECT ${names} FROM ${tableOf(table, grain)} WHERE bucket_start >= ${d.time(p(a))} AND bucket_start < ${d.time(p(b))}`);
    }
    // The pending tail, over what the tables answer (the raw edges hold pending events already): one contiguous span.
    const spans = [...days, ...hours];
    if (d.pending && spans.length > 0) {
      const [a, b] = [Math.min(...spans.map((s) => s[0])), Math.max(...spans.map((s) => s[1]))];
      const pending = `(SELECT * FROM ${d.pending()} AS p WHERE "timestamp" >= ${d.time(p(a))} AND "timestamp" < ${d.time(p(b))}) AS q`;
      parts.push(table === "rollup" ? rollupOf(d, pending) : elapsedOf(d, pending));
    }
    for (const [a, b] of split.edges) {
      const events = `(SELECT * FROM events WHERE "timestamp" >= ${d.time(p(a))} AND "timestamp" < ${d.time(p(b))}) AS e`;
      parts.push(table === "rollup" ? rollupOf(d, events) : elapsedOf(d, events));
    }
    if (parts.length === 0) parts.push(`SELECT ${names} FROM ${tableOf(table, "hour")} WHERE false`);
    const source = `(${parts.join(" UNION ALL ")}) AS g`;
    let where = "true";
    if (f.event) where += ` AND event = ${p(f.event)}`;
    if (f.version) where += ` AND ${VERSION} = ${p(f.version)}`;
    if (f.os) where += ` AND os_name = ${p(f.os)}`;
    if (f.ci !== undefined) where += f.ci ? " AND ci_run" : " AND NOT ci_run";
    if (extra) where += ` AND ${extra}`;
    // The parameters are numbered in the order they were added: source first, then the conditions, as written.
    return { sql: sql(source, where), params };
  }
  const bucket = (f: Filter): string => d.epochMs(`date_trunc('${f.bucket === "hour" ? "hour" : "day"}', bucket_start)`);
  const failed = "coalesce(sum(n) FILTER (WHERE NOT success), 0)";

  return {
    summary: (f, raw) =>
      over(
        f,
        "rollup",
        raw,
        (g, w) => `SELECT coalesce(sum(k), 0) AS events, coalesce(max(r), 0) AS pipeline_runs, coalesce(sum(c), 0) AS commands,
              ${d.ratio("sum(s)", "sum(rep)")} AS success_rate
       FROM (SELECT event, sum(n) AS k, sum(n) FILTER (WHERE has_tx) AS r, sum(n) FILTER (WHERE event_category = 'command') AS c,
                    sum(n) FILTER (WHERE success) AS s, sum(n) FILTER (WHERE success IS NOT NULL) AS rep
             FROM ${g} WHERE ${w} GROUP BY 1) AS e`,
      ),
    events_over_time: (f, raw) =>
      over(
        f,
        "rollup",
        raw,
        (g, w) => `SELECT ${bucket(f)} AS t, ${EVENT} ${C} AS event, sum(n) AS n FROM ${g} WHERE ${w} GROUP BY 1, 2 ORDER BY t, event`,
      ),
    commands: (f, raw) =>
      over(
        f,
        "rollup",
        raw,
        (g, w) => `SELECT event_name ${C} AS command, sum(n) AS n FROM ${g} WHERE ${w} GROUP BY 1 ORDER BY n DESC, command ${NL}`,
        ONLY.commands,
      ),
    destinations: (f, raw) =>
      over(
        f,
        "rollup",
        raw,
        // Pipeline runs: the count of the most reported step, per destination (all of a run's steps name its destination).
        (g, w) => `SELECT destination, coalesce(max(runs), 0) AS runs, coalesce(sum(inits), 0) AS inits
       FROM (SELECT ${DESTINATION} ${C} AS destination, event, sum(n) FILTER (WHERE event_category = 'pipeline' AND has_tx) AS runs,
                    sum(n) FILTER (WHERE event = 'command_init') AS inits
             FROM ${g} WHERE ${w} GROUP BY 1, 2) AS s
       GROUP BY 1 ORDER BY runs DESC, inits DESC, destination`,
        ONLY.destinations,
      ),
    sources: (f, raw) =>
      over(
        f,
        "rollup",
        raw,
        (g, w) => `SELECT ${SOURCE} ${C} AS source, sum(n) AS n FROM ${g} WHERE ${w} GROUP BY 1 ORDER BY n DESC, source`,
        ONLY.inits,
      ),
    success_rate: (f, raw) =>
      over(
        f,
        "rollup",
        raw,
        (
          g,
          w,
        ) => `SELECT ${bucket(f)} AS t, event ${C} AS event, sum(n) AS n, ${d.ratio("coalesce(sum(n) FILTER (WHERE success), 0)", "sum(n)")} AS rate
       FROM ${g} WHERE ${w} GROUP BY 1, 2 ORDER BY t, event ${NL}`,
        ONLY.reported,
      ),
    elapsed: (f, raw) => ({
      ...over(
        f,
        "rollup_elapsed",
        raw,
        (g, w) =>
          `SELECT event ${C} AS event, bin, sum(n) AS n, min(lo) AS lo, max(hi) AS hi FROM ${g} WHERE ${w} GROUP BY 1, 2 ORDER BY event ${NL}, bin`,
      ),
      finish: elapsedFromHistogram,
    }),
    versions: (f, raw) =>
      over(f, "rollup", raw, (g, w) => `SELECT (${VERSION}) ${C} AS version, sum(n) AS n FROM ${g} WHERE ${w} GROUP BY 1 ORDER BY n DESC, version`),
    platforms: (f, raw) =>
      over(
        f,
        "rollup",
        raw,
        (g, w) => `SELECT coalesce(os_name, '?') ${C} AS os, (${RUNTIME_MAJOR}) ${C} AS runtime, sum(n) AS n
       FROM ${g} WHERE ${w} GROUP BY 1, 2 ORDER BY n DESC, os, runtime`,
      ),
    ci: (f, raw) => over(f, "rollup", raw, (g, w) => `SELECT ${CI} ${C} AS ci, sum(n) AS n FROM ${g} WHERE ${w} GROUP BY 1 ORDER BY n DESC, ci`),
    exec_info: (f, raw) =>
      over(
        f,
        "rollup",
        raw,
        (g, w) =>
          `SELECT env ${C} AS env, sum(n) AS n FROM (SELECT ${d.unnestList("exec_info")} AS env, n FROM ${g} WHERE ${w}) AS x GROUP BY 1 ORDER BY n DESC, env`,
        ONLY.environments,
      ),
    event_names: (f, raw) =>
      over(
        { ...f, event: undefined },
        "rollup",
        raw,
        (g, w) => `SELECT ${EVENT} ${C} AS event, sum(n) AS n FROM ${g} WHERE ${w} GROUP BY 1 ORDER BY event`,
      ),
    failures: (f, raw) =>
      over(
        f,
        "rollup",
        raw,
        (g, w) => `SELECT CASE WHEN GROUPING(event) = 0 THEN 'event' WHEN GROUPING(library_name) = 0 THEN 'version'
                   WHEN GROUPING(os_name) = 0 THEN 'os' ELSE 'runtime' END ${C} AS dimension,
              (CASE WHEN GROUPING(event) = 0 THEN coalesce(event, '?')
                   WHEN GROUPING(library_name) = 0 THEN ${VERSION}
                   WHEN GROUPING(os_name) = 0 THEN ${OS}
                   ELSE ${RUNTIME} END) ${C} AS value,
              sum(n) AS n, ${failed} AS failed
       FROM ${g} WHERE ${w}
       GROUP BY GROUPING SETS ((event), (library_name, library_version), (os_name, os_version), (runtime_name, runtime_version))
       ORDER BY dimension, failed DESC, n DESC, value`,
        ONLY.reported,
      ),
    failure_rate: (f, raw) =>
      over(
        f,
        "rollup",
        raw,
        (g, w) => `SELECT ${bucket(f)} AS t, sum(n) AS n, ${failed} AS failed FROM ${g} WHERE ${w} GROUP BY 1 ORDER BY 1`,
        ONLY.reported,
      ),
    version_share: (f, raw) =>
      over(
        f,
        "rollup",
        raw,
        (g, w) => `SELECT ${bucket(f)} AS t, (${VERSION}) ${C} AS version, sum(n) AS n FROM ${g} WHERE ${w} GROUP BY 1, 2 ORDER BY 1, 2`,
      ),
    installs: (f, raw) =>
      over(
        f,
        "rollup",
        raw,
        (g, w) => `SELECT ${bucket(f)} AS t, (${VERSION}) ${C} AS version, sum(n) AS n FROM ${g} WHERE ${w} GROUP BY 1, 2 ORDER BY 1, 2`,
        ONLY.installs,
      ),
    runtimes: (f, raw) =>
      over(f, "rollup", raw, (g, w) => `SELECT (${RUNTIME}) ${C} AS runtime, sum(n) AS n FROM ${g} WHERE ${w} GROUP BY 1 ORDER BY n DESC, runtime`),
    os_versions: (f, raw) =>
      over(f, "rollup", raw, (g, w) => `SELECT (${OS}) ${C} AS os, sum(n) AS n FROM ${g} WHERE ${w} GROUP BY 1 ORDER BY n DESC, os`),
    inits: (f, raw) =>
      over(
        f,
        "rollup",
        raw,
        (g, w) => `SELECT ${SOURCE} ${C} AS source, ${DESTINATION} ${C} AS destination, sum(n) AS n, ${failed} AS failed
       FROM ${g} WHERE ${w} GROUP BY 1, 2 ORDER BY n DESC, source, destination`,
        ONLY.inits,
      ),
    steps_by_destination: (f, raw) =>
      over(
        f,
        "rollup",
        raw,
        (g, w) => `SELECT ${DESTINATION} ${C} AS destination, step ${C} AS step, sum(n) AS n, sum(failed) AS failed
       FROM (SELECT destination_name, destination_type, event_name AS step, sum(n) AS n, ${failed} AS failed FROM ${g} WHERE ${w} GROUP BY 1, 2, 3) AS s
       GROUP BY 1, 2 ORDER BY destination, step ${NL}`,
        ONLY.steps,
      ),
    filter_values: (f, raw) => {
      const all = { ...f, event: undefined, version: undefined, os: undefined, ci: undefined };
      const a = over(
        all,
        "rollup",
        raw,
        (g, w) => `SELECT 'version' ${C} AS kind, (${VERSION}) ${C} AS value, sum(n) AS n FROM ${g} WHERE ${w} GROUP BY 2`,
      );
      // The second half's placeholders continue the first's numbering.
      const b = over(
        all,
        "rollup",
        raw,
        (g, w) => `SELECT 'os' ${C} AS kind, os_name ${C} AS value, sum(n) AS n FROM ${g} WHERE ${w} AND os_name IS NOT NULL GROUP BY 2`,
      );
      const shift = a.params.length;
      const second = shift === 0 ? b.sql : renumber(d, b.sql, b.params.length, shift);
      return { sql: `${a.sql} UNION ALL ${second} ORDER BY kind DESC, n DESC, value`, params: [...a.params, ...b.params] };
    },
    extent: (f, raw) =>
      over(
        { ...f, ...ALL_TIME },
        "rollup",
        raw,
        (g, w) => `SELECT ${d.epochMs(`min("first")`)} AS first, ${d.epochMs(`max("last")`)} AS last, coalesce(sum(n), 0) AS n FROM ${g} WHERE ${w}`,
      ),
  };
}

/** `sql`'s placeholders 1…count as count+shift…: a second query's parameters after a first's (numbered dialects). */
function renumber(d: RollupQueryDialect, sql: string, count: number, shift: number): string {
  if (d.placeholder(1) === d.placeholder(2)) return sql; // positional `?`: order is all that counts
  let out = sql;
  // Highest first, so `$1` does not match inside `$12`.
  for (let i = count; i >= 1; i--) out = out.replaceAll(d.placeholder(i), `\u0000${i + shift}\u0000`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL marks the renumbered placeholders; SQL text holds none.
  return out.replace(/\u0000(\d+)\u0000/g, (_, n: string) => d.placeholder(Number(n)));
}
