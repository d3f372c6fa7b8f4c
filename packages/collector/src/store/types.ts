import type { StoredMessage } from "../stamp.js";

/** A value a query returns. */
export type Cell = string | number | boolean | null;

/**
 * Where events are kept. One small interface so DuckDB (embedded, default) and PostgreSQL (several collectors, one
 * database) are interchangeable: the HTTP side, the group committer and the dashboard routes only ever see this.
 * `insert` is one durable transaction; replays of a `message_id` are ignored.
 */
export interface EventStore {
  /** What the store writes to, for messages to an operator (a file path, a database URL without its password). */
  readonly location: string;
  /** Stores the messages durably (one commit), typed columns derived from each; returns how many were new. */
  insert(messages: readonly StoredMessage[]): Promise<number>;
  /**
   * Tries a write that leaves no event behind: the insert path of a message, rolled back, and one committed write
   * (so a file that opens but cannot be written, or a directory where the log cannot be created, is found).
   * Resolves when the store can take events; rejects with the cause otherwise. Used at start and by `/health`
   * while the store is failing, to see it recover without waiting for traffic.
   */
  probe(): Promise<void>;
  /** Read-only SQL for the dashboard and tests; `?` placeholders. */
  query(sql: string, params?: readonly (string | number | boolean | null)[]): Promise<Record<string, Cell>[]>;
  /** Flushes and closes. */
  close(): Promise<void>;
}
