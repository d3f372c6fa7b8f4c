/**
 * The aggregates ("roll-ups") every store keeps beside its events, in the same transaction as each insert, so the
 * dashboard answers from them in time that grows with the number of hours and groups, not of events (issue 24).
 *
 * Two tables, both derived from the lists below (a new store types them with its `StoreKinds` and a `RollupDialect`):
 * - `rollup`: per hour of `timestamp` and per value of every dimension the dashboard filters or groups by, the count
 *   of events (`n`), and the first and last `timestamp` (for `extent`). `success` is a dimension, so failures are a
 *   filter, not a measure; `has_tx` (the event carries a `transaction_id`) serves the count of pipeline runs.
 * - `rollup_elapsed`: per hour, event, library version, OS and CI flag (the filters of the `elapsed` API), a fixed
 *   log-scale histogram of `elapsed`: bin `b` holds values in [γ^b, γ^(b+1)), γ = 1.05, read back as γ^(b+½), so a
 *   percentile is within 2.5 % of the exact one (values ≤ 0 are read as 0; ±∞ and NaN as ∞).
 *
 * Rows are appended per insert (no index, nothing to look up: the cheapest write) and merged per group by
 * `compact` (both stores, from housekeeping), so the tables stay one row per hour and group.
 */
import type { Cell, Filter, Rows } from "../dashboard/apis.js";
import { COLUMNS, typeIn, type ColumnName, type StoreKinds } from "./columns.js";

/** The aggregates' time bucket: an hour. */
export const HOUR_MS = 3_600_000;

/** The stored columns `rollup` keeps as dimensions (the same names as in `events`, so the filters read them alike). */
export const ROLLUP_DIMENSIONS = [
  "type", "event", "event_category", "event_name", "library_name", "library_version", "os_name", "os_version",
  "runtime_name", "runtime_version", "ci_run", "exec_info", "success", "destination_name", "destination_type",
  "pipeline_name", "source_name", "write_key_label",
] as const satisfies readonly ColumnName[];

/** The stored columns `rollup_elapsed` keeps: the `elapsed` API's grouping and filters. */
export const ELAPSED_DIMENSIONS = ["event", "library_name", "library_version", "os_name", "ci_run"] as const satisfies readonly ColumnName[];

/** The histogram's ratio between bins: γ. A percentile read back is within √γ − 1 (2.47 %) of the exact one. */
export const BIN_RATIO = 1.05;
/** The bins of values ≤ 0 and of non-finite values. */
export const BIN_ZERO = -1_000_000;
export const BIN_INFINITE = 1_000_000;

/** How a store writes the aggregates: its types (from its `StoreKinds`) and a few expressions. */
export interface RollupDialect {
  readonly kinds: StoreKinds;
  /** SQL types of the time, count, bin and boolean columns. */
  readonly types: { readonly time: string; readonly count: string; readonly bin: string; readonly boolean: string };
  /** The start of the hour of a time expression. */
  hour(e: string): string;
  /** `e` (a double) is a finite number. */
  finite(e: string): string;
}

const column = (name: ColumnName) => COLUMNS.find((c) => c.name === name)!;
const q = (name: string): string => `"${name}"`;

/** The columns of each aggregate table, in order, with their SQL types in a store. */
export function rollupColumns(d: RollupDialect): { readonly rollup: [string, string][]; readonly rollup_elapsed: [string, string][] } {
  return {
    rollup: [
      ["hour_start", `${d.types.time} NOT NULL`],
      ...ROLLUP_DIMENSIONS.map((n): [string, string] => [n, typeIn(d.kinds, column(n))]),
      ["has_tx", `${d.types.boolean} NOT NULL`],
      ["n", `${d.types.count} NOT NULL`],
      ["first", d.types.time],
      ["last", d.types.time],
    ],
    rollup_elapsed: [
      ["hour_start", `${d.types.time} NOT NULL`],
      ...ELAPSED_DIMENSIONS.map((n): [string, string] => [n, typeIn(d.kinds, column(n))]),
      ["bin", `${d.types.bin} NOT NULL`],
      ["n", `${d.types.count} NOT NULL`],
    ],
  };
}

/** `CREATE TABLE IF NOT EXISTS` of both tables. */
export function createRollup(d: RollupDialect): string[] {
  const cols = rollupColumns(d);
  return (Object.keys(cols) as (keyof typeof cols)[]).map(
    (table) => `CREATE TABLE IF NOT EXISTS ${table} (${cols[table].map(([n, t]) => `${q(n)} ${t}`).join(", ")})`,
  );
}

/** The bin of an `elapsed` expression (NULL when it is NULL). */
export const binOf = (d: RollupDialect, e: string): string =>
  `CASE WHEN ${e} IS NULL THEN NULL WHEN ${e} <= 0 THEN ${BIN_ZERO} WHEN NOT (${d.finite(e)}) THEN ${BIN_INFINITE} ELSE CAST(floor(ln(${e}) / ${Math.log(BIN_RATIO)}) AS ${d.types.bin}) END`;

const ordinals = (k: number): string => Array.from({ length: k }, (_, i) => i + 1).join(", ");

/** The `rollup` rows of the events of `source` (a relation with the stored columns' names). */
export const rollupOf = (d: RollupDialect, source: string): string =>
  `SELECT ${d.hour(q("timestamp"))} AS hour_start, ${ROLLUP_DIMENSIONS.map(q).join(", ")}, transaction_id IS NOT NULL AS has_tx, count(*) AS n,
     min(${q("timestamp")}) AS "first", max(${q("timestamp")}) AS "last"
   FROM ${source} GROUP BY ${ordinals(ROLLUP_DIMENSIONS.length + 2)}`;

/** The `rollup_elapsed` rows of the events of `source`. */
export const elapsedOf = (d: RollupDialect, source: string): string =>
  `SELECT ${d.hour(q("timestamp"))} AS hour_start, ${ELAPSED_DIMENSIONS.map(q).join(", ")}, ${binOf(d, "elapsed")} AS bin, count(*) AS n
   FROM ${source} WHERE elapsed IS NOT NULL GROUP BY ${ordinals(ELAPSED_DIMENSIONS.length + 2)}`;

/** `INSERT INTO` both tables from the events of `source`: run in the transaction that inserts those events. */
export function insertRollups(d: RollupDialect, source: string): [string, string] {
  const cols = rollupColumns(d);
  return [
    `INSERT INTO rollup (${cols.rollup.map(([n]) => q(n)).join(", ")}) ${rollupOf(d, source)}`,
    `INSERT INTO rollup_elapsed (${cols.rollup_elapsed.map(([n]) => q(n)).join(", ")}) ${elapsedOf(d, source)}`,
  ];
}

/** The rows of `table` merged per hour and group: what replaces them when compacting. */
export function merged(d: RollupDialect, table: "rollup" | "rollup_elapsed", source: string): string {
  if (table === "rollup") {
    return `SELECT hour_start, ${ROLLUP_DIMENSIONS.map(q).join(", ")}, has_tx, sum(n), min(${q("first")}), max(${q("last")}) FROM ${source}
      GROUP BY ${ordinals(ROLLUP_DIMENSIONS.length + 2)}`;
  }
  return `SELECT hour_start, ${ELAPSED_DIMENSIONS.map(q).join(", ")}, bin, sum(n) FROM ${source} GROUP BY ${ordinals(ELAPSED_DIMENSIONS.length + 2)}`;
}

/**
 * Which part of a range the aggregates answer and which the raw events: whole hours `[from, to)` from the aggregates,
 * the edges `[f.from, from)` and `[to, f.to)` from the events, so any range is answered as the events would answer
 * it. Raw events exist from `rawFrom` (epoch ms; `--raw-days`): an edge before it is answered by its whole hour from
 * the aggregates instead (the range snaps outward to the hour; the page says so).
 */
export interface Split {
  readonly from: number;
  readonly to: number;
  /** Raw-event edges, each `[start, end)`; empty ones left out. */
  readonly edges: readonly (readonly [number, number])[];
}

export function splitRange(f: Pick<Filter, "from" | "to">, rawFrom: number | undefined): Split {
  let from = Math.ceil(f.from / HOUR_MS) * HOUR_MS;
  let to = Math.floor(f.to / HOUR_MS) * HOUR_MS;
  if (from >= to) {
    // Within one hour, or across one hour boundary: the events answer it all, where they are kept.
    if (rawFrom === undefined || Math.floor(f.from / HOUR_MS) * HOUR_MS >= rawFrom) return { from: 0, to: 0, edges: [[f.from, f.to]] };
    return { from: Math.floor(f.from / HOUR_MS) * HOUR_MS, to: Math.ceil(f.to / HOUR_MS) * HOUR_MS, edges: [] };
  }
  const edges: [number, number][] = [];
  if (f.from < from) {
    if (rawFrom !== undefined && from - HOUR_MS < rawFrom) from -= HOUR_MS;
    else edges.push([f.from, from]);
  }
  if (to < f.to) {
    if (rawFrom !== undefined && to < rawFrom) to += HOUR_MS;
    else edges.push([to, f.to]);
  }
  return { from, to, edges };
}

/** The value a bin is read back as. */
export const binValue = (bin: number): number => (bin <= BIN_ZERO ? 0 : bin >= BIN_INFINITE ? Infinity : BIN_RATIO ** (bin + 0.5));

/**
 * `quantile_cont` (linear interpolation between the two closest ranks, as DuckDB's and PostgreSQL's
 * `percentile_cont`) over a histogram in ascending bin order: exact ranks, values read back from their bins.
 */
export function histogramQuantile(bins: readonly (readonly [number, number])[], p: number): number | null {
  const total = bins.reduce((a, [, n]) => a + n, 0);
  if (total === 0) return null;
  const h = (total - 1) * p;
  const at = (rank: number): number => {
    let seen = 0;
    for (const [bin, n] of bins) {
      seen += n;
      if (rank < seen) return binValue(bin);
    }
    return binValue(bins[bins.length - 1]![0]);
  };
  const lo = at(Math.floor(h));
  if (h === Math.floor(h)) return lo;
  const hi = at(Math.ceil(h));
  return lo === hi ? lo : lo + (h - Math.floor(h)) * (hi - lo);
}

const round3 = (v: number | null): Cell => (v === null || !Number.isFinite(v) ? null : Math.round(v * 1000) / 1000);

/**
 * The `elapsed` API's rows from histogram rows `{event, bin, n}` in the order the query gives (by event, then bin):
 * `{event, n, p50, p95}` per event, in the same order, rounded to 3 decimals as the raw query rounds them.
 */
export function elapsedFromHistogram(rows: Rows): Rows {
  const out: Rows = [];
  let current: { event: Cell; bins: [number, number][] } | undefined;
  const flush = (): void => {
    if (!current) return;
    const n = current.bins.reduce((a, [, k]) => a + k, 0);
    out.push({ event: current.event, n, p50: round3(histogramQuantile(current.bins, 0.5)), p95: round3(histogramQuantile(current.bins, 0.95)) });
  };
  for (const r of rows) {
    if (!current || current.event !== r["event"]) {
      flush();
      current = { event: r["event"] ?? null, bins: [] };
    }
    current.bins.push([Number(r["bin"]), Number(r["n"])]);
  }
  flush();
  return out;
}
