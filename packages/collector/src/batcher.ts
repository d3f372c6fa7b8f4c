/**
 * Group commit: requests add their rows and wait; one flush at a time takes everything pending and stores it in a
 * single transaction, then answers all of them. Concurrent requests therefore share a commit. Bounded: when more
 * than `maxPendingEvents` wait, `add` refuses at once (the server answers 503 + Retry-After) instead of growing.
 */
import type { EventRow } from "./row.js";
import type { EventStore } from "./store/types.js";

/** Thrown by `add` when the write path is full. */
export class OverloadedError extends Error {
  constructor() {
    super("write path is full");
    this.name = "OverloadedError";
  }
}

interface Waiting {
  rows: readonly EventRow[];
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class GroupCommitter {
  private pending: Waiting[] = [];
  private pendingEvents = 0;
  private flushing: Promise<void> | undefined;
  /** Commits made, for tests and metrics. */
  commits = 0;

  constructor(
    private readonly store: EventStore,
    private readonly maxPendingEvents: number,
  ) {}

  /** Resolves once the rows are durably committed. */
  add(rows: readonly EventRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    if (this.pendingEvents + rows.length > this.maxPendingEvents) return Promise.reject(new OverloadedError());
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ rows, resolve, reject });
      this.pendingEvents += rows.length;
      this.kick();
    });
  }

  private kick(): void {
    if (this.flushing) return;
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = undefined;
      if (this.pending.length > 0) this.kick();
    });
  }

  private async flushLoop(): Promise<void> {
    while (this.pending.length > 0) {
      const group = this.pending;
      this.pending = [];
      const rows = group.flatMap((w) => w.rows);
      try {
        await this.store.insert(rows);
        this.commits++;
        for (const w of group) w.resolve();
      } catch (e) {
        for (const w of group) w.reject(e);
      } finally {
        this.pendingEvents -= rows.length;
      }
    }
  }

  /** Resolves when everything added so far is committed (or failed). */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }
}
