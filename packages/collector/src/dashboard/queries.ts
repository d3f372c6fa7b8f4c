/**
 * The dashboard's APIs: their names, their filter, and the shape every store answers with. The SQL itself belongs to
 * each store (`store/duckdb-dashboard.ts`, `store/postgres-dashboard.ts`), one function per API in a
 * `DashboardSql` record: adding an API here is a compile error in every store until each has its query, and
 * `test/dashboard-api.test.ts` runs every API against every store with the same seeded events. Raw anonymous ids and
 * write keys are never selected.
 */
import type { Cell } from "../store/types.js";

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
}

/** Rows of an API's answer: numbers are JavaScript numbers on every store (counts, rates, epoch ms). */
export type Rows = Record<string, Cell>[];

/** One statement and its parameters, in the store's own placeholder style. */
export interface SqlQuery {
  readonly sql: string;
  readonly params: (string | number)[];
}

/** A store's SQL for every API. */
export type DashboardSql = { readonly [api in DashboardApi]: (f: Filter) => SqlQuery };

/** Every API by name. A Map, so only these names are found (not `constructor` & co.). */
export const QUERIES: ReadonlyMap<string, DashboardApi> = new Map(DASHBOARD_APIS.map((name) => [name, name]));
