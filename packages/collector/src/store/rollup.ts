/**
 * The aggregates ("roll-ups") every store keeps beside its events (a commit marks its events pending, a roll-up adds
 * them: `rollup-pending.ts`), so the dashboard answers from them in time that grows with the number of hours and
 * groups, not of events (issue 24).
 *
 * Two tables, both derived from the lists below (a new store types them with its `StoreKinds` and a `RollupDialect`):
 * - `rollup`: per hour of `timestamp` and per value of every dimension the dashboard filters or groups by, the count
 *   of events (`n`), and the first and last `timestamp` (for `extent`). `success` is a dimension, so failures are a
 *   filter, not a measure; `has_tx` (the event carries a `transaction_id`) serves the count of pipeline runs.
 * - `rollup_elapsed`: per hour, event, library version, OS and CI flag (the filters of the `elapsed` API), a fixed
 *   log-scale histogram of `elapsed`: bin `b` holds values in [γ^b, γ^(b+1)), γ = 1.1, with the smallest and largest
 *   value it holds (mergeable: min and max); a value is read back as the middle of those two, so a percentile is
 *   within 5 % of the exact one, and exact where each bin holds one distinct value (values ≤ 0 share a bin, and
 *   so do ±∞ and NaN).
 *
 * Each comes at two grains: per hour (`rollup`, `rollup_elapsed`) and per UTC day (`rollup_day`,
 * `rollup_elapsed_day`), so a range reads whole days from the daily tables, the hours of its first and last day from
 * the hourly ones, and what is left at its edges from the raw events. Rows are appended per roll-up (no index, nothing
 * to look up: the cheapest write) and merged per group by `compact` (both stores, every few hundred commits and in
 * housekeeping), so the tables stay one row per bucket and group. The bucket's start is `bucket_start`.
 */
import type { Cell, Filter, Rows } from "../dashboard/apis.js";
import { COLUMNS, typeIn, type ColumnName, type StoreKinds } from "./columns.js";

/** The aggregates' time buckets: an hour, and a UTC day. */
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** The two kinds of aggregate table, each at two grains. */
export type RollupKind = "rollup" | "rollup_elapsed";
export type Grain = "hour" | "day";
/** The four aggregate tables. */
export type RollupTable = "rollup" | "rollup_elapsed" | "rollup_day" | "rollup_elapsed_day";
export const ROLLUP_TABLES: readonly RollupTable[] = ["rollup", "rollup_elapsed", "rollup_day", "rollup_elapsed_day"];
export const tableOf = (kind: RollupKind, grain: Grain): RollupTable => (grain === "hour" ? kind : `${kind}_day`);
const kindOf = (table: RollupTable): RollupKind => (table.startsWith("rollup_elapsed") ? "rollup_elapsed" : "rollup");

/** The stored columns `rollup` keeps as dimensions (the same names as in `events`, so the filters read them alike). */
export const ROLLUP_DIMENSIONS = [
  "type",
  "event",
  "event_category",
  "event_name",
  "library_name",
  "library_version",
  "os_name",
  "os_version",
  "runtime_name",
  "runtime_version",
  "ci_run",
  "exec_info",
  "success",
  "destination_name",
  "destination_type",
  "pipeline_name",
  "source_name",
  "write_key_label",
  // Issue 26: the `installs` API counts the events that carry it.
  "first_run_of_version",
] as const satisfies readonly ColumnName[];

/** The stored columns `rollup_elapsed` keeps: the `elapsed` API's grouping and filters. */
export const ELAPSED_DIMENSIONS = ["event", "library_name", "library_version", "os_name", "ci_run"] as const satisfies readonly ColumnName[];

/**
 * The histogram's ratio between bins: γ. A value is read back as the middle of the smallest and largest of its bin,
 * so within (γ − 1) / 2 = 5 % of itself, and a percentile (interpolated between two such values) as well.
 */
export const BIN_RATIO = 1.1;
/** The bins of values ≤ 0 and of non-finite values. */
export const BIN_ZERO = -1_000_000;
export const BIN_INFINITE = 1_000_000;

/** How a store writes the aggregates: its types (from its `StoreKinds`) and a few expressions. */
export interface RollupDialect {
  readonly kinds: StoreKinds;
  /** SQL types of the time, count, bin and boolean columns. */
  readonly types: { readonly time: string; readonly count: string; readonly bin: string; readonly boolean: string; readonly double: string };
  /** The start of the hour (or UTC day) of a time expression. */
  trunc(grain: Grain, e: string): string;
  /** `e` (a double) is a finite number. */
  finite(e: string): string;
}

const column = (name: ColumnName) => COLUMNS.find((c) => c.name === name)!;
const q = (name: string): string => `"${name}"`;

/**
 * The columns of each aggregate table, in order, with their SQL types in a store. `dimensions`: `rollup`'s, when not
 * today's (a PostgreSQL migration is kept as it was made: later dimensions are added by later migrations).
 */
export function rollupColumns(
  d: RollupDialect,
  dimensions: readonly ColumnName[] = ROLLUP_DIMENSIONS,
): Readonly<Record<RollupKind, [string, string][]>> {
  return {
    rollup: [
      ["bucket_start", `${d.types.time} NOT NULL`],
      ...dimensions.map((n): [string, string] => [n, typeIn(d.kinds, column(n))]),
      ["has_tx", `${d.types.boolean} NOT NULL`],
      ["n", `${d.types.count} NOT NULL`],
      ["first", d.types.time],
      ["last", d.types.time],
    ],
    rollup_elapsed: [
      ["bucket_start", `${d.types.time} NOT NULL`],
      ...ELAPSED_DIMENSIONS.map((n): [string, string] => [n, typeIn(d.kinds, column(n))]),
      ["bin", `${d.types.bin} NOT NULL`],
      ["n", `${d.types.count} NOT NULL`],
      ["lo", d.types.double],
      ["hi", d.types.double],
    ],
  };
}

/** The columns of an aggregate table, by name, in order. */
export const namesOf = (d: RollupDialect, table: RollupTable): string =>
  rollupColumns(d)
    [kindOf(table)].map(([n]) => q(n))
    .join(", ");

/** `CREATE TABLE IF NOT EXISTS` of the four tables (`dimensions`: see `rollupColumns`). */
export function createRollup(d: RollupDialect, dimensions: readonly ColumnName[] = ROLLUP_DIMENSIONS): string[] {
  const cols = rollupColumns(d, dimensions);
  return ROLLUP_TABLES.map((table) => `CREATE TABLE IF NOT EXISTS ${table} (${cols[kindOf(table)].map(([n, t]) => `${q(n)} ${t}`).join(", ")})`);
}

/**
 * `ALTER TABLE … ADD COLUMN IF NOT EXISTS` of every `rollup` dimension, for the tables an earlier version made (a
 * DuckDB file: its aggregates' rows of then hold NULL there, as the events of then do). Every statement that writes
 * the tables names its columns, so the order they were added in does not matter.
 */
export function addDimensions(d: RollupDialect): string[] {
  const cols = rollupColumns(d).rollup.filter(([n]) => (ROLLUP_DIMENSIONS as readonly string[]).includes(n));
  return ROLLUP_TABLES.filter((t) => kindOf(t) === "rollup").flatMap((t) =>
    cols.map(([n, type]) => `ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS ${q(n)} ${type}`),
  );
}

/** The bin of an `elapsed` expression (NULL when it is NULL). */
export const binOf = (d: RollupDialect, e: string): string =>
  `CASE WHEN ${e} IS NULL THEN NULL WHEN ${e} <= 0 THEN ${BIN_ZERO} WHEN NOT (${d.finite(e)}) THEN ${BIN_INFINITE} ELSE CAST(floor(ln(${e}) / ${Math.log(BIN_RATIO)}) AS ${d.types.bin}) END`;

const ordinals = (k: number): string => Array.from({ length: k }, (_, i) => i + 1).join(", ");

/** The `rollup` rows of the events of `source` (a relation with the stored columns' names), at a grain. */
export const rollupOf = (d: RollupDialect, source: string, grain: Grain = "hour"): string =>
  `SELECT ${d.trunc(grain, q("timestamp"))} AS bucket_start, ${ROLLUP_DIMENSIONS.map(q).join(", ")}, transaction_id IS NOT NULL AS has_tx, count(*) AS n,
     min(${q("timestamp")}) AS "first", max(${q("timestamp")}) AS "last"
   FROM ${source} GROUP BY ${ordinals(ROLLUP_DIMENSIONS.length + 2)}`;

/** The `rollup_elapsed` rows of the events of `source`, at a grain. */
export const elapsedOf = (d: RollupDialect, source: string, grain: Grain = "hour"): string =>
  `SELECT ${d.trunc(grain, q("timestamp"))} AS bucket_start, ${ELAPSED_DIMENSIONS.map(q).join(", ")}, ${binOf(d, "elapsed")} AS bin, count(*) AS n,
     min(elapsed) AS lo, max(elapsed) AS hi
   FROM ${source} WHERE elapsed IS NOT NULL GROUP BY ${ordinals(ELAPSED_DIMENSIONS.length + 2)}`;

/** `INSERT INTO` the four tables from the events of `source`: run in the transaction that inserts those events. */
export function insertRollups(d: RollupDialect, source: string): string[] {
  return ROLLUP_TABLES.map((table) => {
    const grain: Grain = table.endsWith("_day") ? "day" : "hour";
    const select = kindOf(table) === "rollup" ? rollupOf(d, source, grain) : elapsedOf(d, source, grain);
    return `INSERT INTO ${table} (${namesOf(d, table)}) ${select}`;
  });
}

/** The rows of `table` merged per bucket and group: what replaces them when compacting. */
export function merged(_d: RollupDialect, table: RollupTable, source: string): string {
  if (kindOf(table) === "rollup") {
    return `SELECT bucket_start, ${ROLLUP_DIMENSIONS.map(q).join(", ")}, has_tx, sum(n), min(${q("first")}), max(${q("last")}) FROM ${source}
      GROUP BY ${ordinals(ROLLUP_DIMENSIONS.length + 2)}`;
  }
  return `SELECT bucket_start, ${ELAPSED_DIMENSIONS.map(q).join(", ")}, bin, sum(n), min(lo), max(hi) FROM ${source} GROUP BY ${ordinals(ELAPSED_DIMENSIONS.length + 2)}`;
}

/**
 * Which part of a range each source answers: whole UTC days from the daily tables, whole hours of the first and last
 * day from the hourly ones, the edges (`[f.from, first hour)`, `[last hour, f.to)`) from the raw events, so any range
 * is answered as the events would answer it. Raw events exist from `rawFrom` (epoch ms; `--raw-days`): an edge before
 * it is answered by its whole hour instead (the range snaps outward to the hour; the page says so).
 */
export interface Split {
  /** `[start, end)` spans (epoch ms) of each source; empty ones left out. */
  readonly days: readonly (readonly [number, number])[];
  readonly hours: readonly (readonly [number, number])[];
  readonly edges: readonly (readonly [number, number])[];
}

export function splitRange(f: Pick<Filter, "from" | "to">, rawFrom: number | undefined): Split {
  const floor = (t: number, unit: number): number => Math.floor(t / unit) * unit;
  const ceil = (t: number, unit: number): number => Math.ceil(t / unit) * unit;
  const raw = (t: number): boolean => rawFrom === undefined || t >= rawFrom;
  let from = ceil(f.from, HOUR_MS);
  let to = floor(f.to, HOUR_MS);
  const edges: [number, number][] = [];
  if (from >= to) {
    // Within one hour, or across one hour boundary: the events answer it all, where they are kept.
    if (raw(floor(f.from, HOUR_MS))) return { days: [], hours: [], edges: [[f.from, f.to]] };
    from = floor(f.from, HOUR_MS);
    to = ceil(f.to, HOUR_MS);
  } else {
    if (f.from < from) {
      if (raw(from - HOUR_MS)) edges.push([f.from, from]);
      else from -= HOUR_MS;
    }
    if (to < f.to) {
      if (raw(to)) edges.push([to, f.to]);
      else to += HOUR_MS;
    }
  }
  const dayFrom = ceil(from, DAY_MS);
  const dayTo = floor(to, DAY_MS);
  const span = (a: number, b: number): [number, number][] => (a < b ? [[a, b]] : []);
  if (dayFrom >= dayTo) return { days: [], hours: span(from, to), edges };
  return { days: [[dayFrom, dayTo]], hours: [...span(from, dayFrom), ...span(dayTo, to)], edges };
}

/** A histogram's bin as a query returns it: how many values, the smallest and the largest. */
export interface Bin {
  readonly n: number;
  readonly lo: number;
  readonly hi: number;
}

/**
 * `quantile_cont` (linear interpolation between the two closest ranks, as DuckDB's and PostgreSQL's
 * `percentile_cont`) over a histogram in ascending bin order: exact ranks, values read back from their bins.
 */
export function histogramQuantile(bins: readonly Bin[], p: number): number | null {
  const total = bins.reduce((a, b) => a + b.n, 0);
  if (total === 0) return null;
  const h = (total - 1) * p;
  const value = (b: Bin): number => (b.lo === b.hi ? b.lo : b.lo + (b.hi - b.lo) / 2);
  const at = (rank: number): number => {
    let seen = 0;
    for (const b of bins) {
      seen += b.n;
      if (rank < seen) return value(b);
    }
    return value(bins[bins.length - 1]!);
  };
  const lo = at(Math.floor(h));
  if (h === Math.floor(h)) return lo;
  const hi = at(Math.ceil(h));
  return lo === hi ? lo : lo + (h - Math.floor(h)) * (hi - lo);
}

const round3 = (v: number | null): Cell => (v === null || !Number.isFinite(v) ? null : Math.round(v * 1000) / 1000);

/**
 * The `elapsed` API's rows from histogram rows `{event, bin, n, lo, hi}` in the order the query gives (by event, then bin):
 * `{event, n, p50, p95}` per event, in the same order, rounded to 3 decimals as the raw query rounds them.
 */
export function elapsedFromHistogram(rows: Rows): Rows {
  const out: Rows = [];
  let current: { event: Cell; bins: Bin[] } | undefined;
  const flush = (): void => {
    if (!current) return;
    const n = current.bins.reduce((a, b) => a + b.n, 0);
    out.push({ event: current.event, n, p50: round3(histogramQuantile(current.bins, 0.5)), p95: round3(histogramQuantile(current.bins, 0.95)) });
  };
  for (const r of rows) {
    if (!current || current.event !== r["event"]) {
      flush();
      current = { event: r["event"] ?? null, bins: [] };
    }
    current.bins.push({ n: Number(r["n"]), lo: Number(r["lo"]), hi: Number(r["hi"]) });
  }
  flush();
  return out;
}
