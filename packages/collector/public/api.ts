// The collector's dashboard API as the page calls it: `api/<name>?<filters>`, relative to the page's <base href> (the
// collector may serve it under a base path), opened by the cookie the page's load set (never `?token=`, which the
// APIs do not read). A refusal becomes an Error naming the API, with the collector's reason.
import type { DashboardApi } from "./apis.js";

/** A value of a row: DuckDB's BIGINT and HUGEINT may arrive as strings, so numbers are read with Number(). */
export type Cell = string | number | boolean | null;
export type Row = Readonly<Record<string, Cell>>;

/** What every API answers; `summary` adds the collector's --retain-days. */
export interface Answer {
  readonly rows: readonly Row[];
  readonly ms: number;
  readonly retain_days?: number | null;
  /** `summary` only: the collector's --raw-days (raw events, for the live view), or null when they are kept as long. */
  readonly raw_days?: number | null;
  /** Set when the rows were cut at the collector's cap: how many there were. */
  readonly truncated?: number;
}

/** A row of the live view (`events`): one stored message. */
export interface EventRow {
  readonly received_at: number | string;
  readonly event: string | null;
  readonly write_key_label: string | null;
  readonly message_id: string;
  /** The stored message, as JSON text. */
  readonly message: string;
  /** `before=` of the page after this row. */
  readonly cursor: string;
}

/** A page of the live view: `next` is the cursor of the page after it, null when this one is the last. */
export interface EventsAnswer {
  readonly rows: readonly EventRow[];
  readonly next: string | null;
}

/** `api/setup`: what the empty state needs to tell a client how to send. */
export interface Setup {
  readonly basePath: string;
  readonly writeKeyLabels: readonly string[];
}

async function getJson<T>(path: string, params?: URLSearchParams): Promise<T> {
  const r = await fetch(`api/${path}${params ? `?${params}` : ""}`, { credentials: "same-origin" });
  if (!r.ok) {
    let reason = `HTTP ${r.status}`;
    try {
      reason = ((await r.json()) as { error?: string }).error ?? reason;
    } catch {
      // not JSON: the status says it
    }
    throw new Error(`${path}: ${reason}`);
  }
  return (await r.json()) as T;
}

export const answer = (name: Exclude<DashboardApi, "events">, params: URLSearchParams): Promise<Answer> => getJson(name, params);
export const rowsOf = async (name: Exclude<DashboardApi, "events">, params: URLSearchParams): Promise<readonly Row[]> =>
  (await answer(name, params)).rows;
export const events = (params: URLSearchParams): Promise<EventsAnswer> => getJson("events", params);
export const setup = (): Promise<Setup> => getJson("setup");

/**
 * The read token came in the address (`?token=…`); the API has just answered through the cookie the page set, so the
 * token leaves the address bar and the history.
 */
export function forgetToken(): void {
  const url = new URL(location.href);
  if (!url.searchParams.has("token")) return;
  url.searchParams.delete("token");
  history.replaceState(history.state, "", url.pathname + url.search + url.hash);
}
