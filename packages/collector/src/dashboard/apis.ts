/**
 * The dashboard's APIs: their names, their filter, and the rows every store answers with. The SQL itself belongs to
 * each store (`store/duckdb-dashboard.ts`, `store/postgres-dashboard.ts`, with what they share in
 * `store/dashboard-sql.ts`), one function per API in a `DashboardSql` record: adding an API here is a compile error
 * in every store until each has its query, and `test/dashboard-api.test.ts` runs every API against every store with
 * the same seeded events. Write keys are never stored, so never selected; raw anonymous ids only by `events` (the
 * live view), which returns stored messages as they are. This module imports nothing: the stores import it.
 */

/** Every API, in the order the page lists them: `GET <base>/api/<name>`. */
export const DASHBOARD_APIS = [
  /** Totals for the header. */
  "summary",
  /** Events per bucket, per event name (stacked). */
  "events_over_time",
  /** Which CLI commands are used. */
  "commands",
  /** Per destination (either of dlt's vocabularies): pipeline runs (distinct transaction ids) and `dlt init`s. */
  "destinations",
  /** Sources asked for by `dlt init`: dlt 1.x's `source_name`, or the spec's `pipeline_name`. */
  "sources",
  /** Success rate of each pipeline step and command, per bucket. */
  "success_rate",
  /** Median and p95 of `elapsed` per step / command. */
  "elapsed",
  /** Library versions in use: adoption of a release. */
  "versions",
  /** OS and runtime versions. */
  "platforms",
  /** Share of CI runs. */
  "ci",
  /** exec_info environments (an event may name several). */
  "exec_info",
  /** Event names present in the range, for the filter. */
  "event_names",
  /**
   * The live view: stored events, newest received first, a page at a time, keyset-paged on (`received_at`,
   * `message_id`), never OFFSET, so a page deep in the table costs what the first one does. Each row: when it was
   * received (epoch ms), the event (or the message type), the label of the write key that let it in, the message id,
   * the stored message as JSON text, and the row's `cursor` (`before=` of the next page). The range applies to
   * `received_at`.
   */
  "events",
  /**
   * Failures, drilled down: of the events that report `success` (commands and pipeline steps), how many ran and how
   * many failed, by command or step (`event`), by library version, by OS (name and version) and by runtime (name and
   * version). One row per value of each dimension: `{dimension, value, n, failed}`.
   */
  "failures",
  /** The failure rate's trend: per bucket, events that report `success` and how many of them failed. */
  "failure_rate",
  /** Adoption of releases: events per bucket per library version (the page draws each version's share). */
  "version_share",
  /**
   * New installs per bucket per library version: the events that carry `first_run_of_version: true` (the first a
   * machine sends for a version; there is no id, so this counts first runs, not machines). Rows `{t, version, n}`.
   */
  "installs",
  /** Runtimes in full: `node 20.20.2`, `python 3.12.3`. */
  "runtimes",
  /** Operating systems in full: `Linux 6.1.0`, `Darwin 23.4.0`. */
  "os_versions",
  /** `dlt init` by source and destination, in either vocabulary, with failures. */
  "inits",
  /** Pipeline steps by destination (either vocabulary): how many of each step, and how many failed. */
  "steps_by_destination",
  /**
   * The choices of the version and OS filters: the values present in the range, whatever those two filters and the
   * event and CI filters say (so choosing one does not hide the others). Rows `{kind: "version" | "os", value, n}`.
   */
  "filter_values",
  /**
   * Where the data lies in time, whatever the chosen range (the other filters apply): the first and last event
   * (epoch ms) and how many there are. The page fits its default range to data younger than it, and shows how to
   * send events when there are none.
   */
  "extent",
  /**
   * What the collector's plan refused, and why, in the range (by UTC day; the other filters do not apply: a refused
   * message is not stored): rows `{reason, event, n}`, `event` null when the name is not a bounded identifier.
   */
  "refused",
] as const;

/** The name of one dashboard API. */
export type DashboardApi = (typeof DASHBOARD_APIS)[number];

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

/** The rows `events` returns for a filter: its `limit` within 1–`MAX_EVENTS_LIMIT`, else the default. */
export const pageSize = (f: Filter): number => Math.min(MAX_EVENTS_LIMIT, Math.max(1, Math.trunc(f.limit ?? DEFAULT_EVENTS_LIMIT)));

/** The whole time axis (JavaScript's range of dates): for queries that ignore the chosen range. */
export const ALL_TIME = { from: -8.64e15, to: 8.64e15 } as const;

/** A value a query returns. */
export type Cell = string | number | boolean | null;

/** Rows of an API's answer: numbers are JavaScript numbers on every store (counts, rates, epoch ms). */
export type Rows = Record<string, Cell>[];

/** One statement and its parameters, in the store's own placeholder style. */
export interface SqlQuery {
  readonly sql: string;
  readonly params: (string | number)[];
}

/** A store's SQL for every API. */
export type DashboardSql = { readonly [api in DashboardApi]: (f: Filter) => SqlQuery };

/** A day in epoch ms. */
const DAY_MS = 86_400_000;

/** The range of `refused`, in whole UTC days (its counts are kept per day): from the start of `from`'s day to `to`. */
export const refusedRange = (f: Filter): [number, number] => [Math.floor(f.from / DAY_MS) * DAY_MS, Math.ceil(f.to)];

/** Every API by name. A Map, so only these names are found (not `constructor` & co.). */
export const QUERIES: ReadonlyMap<string, DashboardApi> = new Map(DASHBOARD_APIS.map((name) => [name, name]));
