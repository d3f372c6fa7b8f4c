import { randomBytes } from "node:crypto";
import type { Cell, DashboardApi, Filter, Rows } from "../dashboard/apis.js";
import type { StoredMessage } from "../stamp.js";

/** Messages a plan refused: how many, on a UTC day (epoch ms of its start), for a reason, by event name. */
export interface RefusedCount {
  readonly day: number;
  readonly reason: string;
  /** The event's name when it is a bounded identifier, else "" (the content of a refused message is never stored). */
  readonly event: string;
  readonly n: number;
}

/** What one round of housekeeping did. */
export interface Housekeeping {
  /** Events removed by the retention (0 when events are kept forever). */
  readonly removed: number;
  /** Events received before this time (epoch ms, the start of a UTC day) are gone; undefined: kept forever. */
  readonly cutoff: number | undefined;
  /** With `--raw-days`: raw events removed past it (the aggregates stay), and where it cut (epoch ms). */
  readonly rawRemoved?: number;
  readonly rawCutoff?: number;
}

/**
 * What a dashboard API is answered from: the aggregates (the default; the live view always reads events), or the
 * raw events (the reference the aggregates are tested against).
 */
export type DashboardSource = "aggregates" | "events";

/** Told how far a store has built the aggregates of events stored before them: events done, of `total`. */
export type OpenProgress = (done: number, total: number) => void;

const DAY_MS = 86_400_000;

/**
 * Where a retention of `days` cuts at `now`: the start of the UTC day that holds `now − days`. Every event is kept at
 * least `days` days and at most one day more, and whole days go at once (PostgreSQL drops a day's partition; DuckDB
 * deletes the same rows).
 */
export const retentionCutoff = (days: number, now: number): number => Math.floor((now - days * DAY_MS) / DAY_MS) * DAY_MS;

/**
 * Where events are kept. One small interface so DuckDB (embedded, default) and PostgreSQL (several collectors, one
 * database) are interchangeable: the HTTP side, the group committer and the dashboard routes only ever see this.
 * `insert` is one durable transaction; replays of a `message_id` are ignored.
 */
export interface EventStore {
  /** What the store writes to, for messages to an operator (a file path, a database URL without its password). */
  readonly location: string;
  /**
   * Stores the messages durably (one commit), typed columns derived from each, and adds `refused` to the refused
   * counts in the same commit; returns how many messages were new.
   */
  insert(messages: readonly StoredMessage[], refused?: readonly RefusedCount[]): Promise<number>;
  /**
   * Tries a write that leaves no event behind: the insert path of a message, rolled back, and one committed write
   * (so a file that opens but cannot be written, or a directory where the log cannot be created, is found).
   * Resolves when the store can take events; rejects with the cause otherwise. Used at start and by `/health`
   * while the store is failing, to see it recover without waiting for traffic. `padBytes` makes the probe's message
   * at least that large (random, so it does not compress): after a write failed for lack of space, a tiny probe
   * would still fit and prove nothing.
   */
  probe(padBytes?: number): Promise<void>;
  /**
   * One dashboard API over the filter, with the store's own SQL for it (numbers as numbers), from the aggregates
   * unless `source` says `events`.
   */
  dashboard(api: DashboardApi, filter: Filter, source?: DashboardSource): Promise<Rows>;
  /**
   * Removes events received before `retentionCutoff(retainDays, now)` (nothing when `retainDays` is undefined) and
   * the aggregates' hours before it; with `rawDays`, the events received before `retentionCutoff(rawDays, now)`
   * while their aggregates stay; merges the aggregates' rows; and
   * does the store's own upkeep (PostgreSQL: partitions for the days ahead, old dedup ids). Run at start and daily;
   * safe to run from several collectors at once.
   */
  housekeep(retainDays: number | undefined, now?: number, rawDays?: number): Promise<Housekeeping>;
  /** Read-only SQL for tools and tests, in the store's dialect; `?` placeholders. */
  query(sql: string, params?: readonly (string | number | boolean | null)[]): Promise<Record<string, Cell>[]>;
  /** Flushes and closes. */
  close(): Promise<void>;
}

/** `bytes` random hex characters: a probe's padding that no store's compression shrinks. */
export const randomPad = (bytes: number): string =>
  randomBytes(Math.ceil(bytes / 2))
    .toString("hex")
    .slice(0, bytes);
