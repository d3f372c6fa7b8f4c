import type { StoredMessage } from "../stamp.js";

/** A value a query returns. */
export type Cell = string | number | boolean | null;

/**
 * Where events are kept. One small interface so DuckDB (embedded, default) and PostgreSQL (several collectors, one
 * database) are interchangeable. `insert` is one durable transaction; replays of a `message_id` are ignored.
 */
export interface EventStore {
  /** Stores the messages durably (one commit), typed columns derived from each; returns how many were new. */
  insert(messages: readonly StoredMessage[]): Promise<number>;
  /** Read-only SQL for the dashboard and tests; `?` placeholders. */
  query(sql: string, params?: readonly (string | number | boolean | null)[]): Promise<Record<string, Cell>[]>;
  /** Flushes and closes. */
  close(): Promise<void>;
}
