/**
 * Group commit: requests add their messages and wait; one flush at a time takes everything pending and stores it in
 * a single transaction, then answers all of them. Concurrent requests therefore share a commit. Bounded: when more
 * than `maxPendingEvents` wait, `add` refuses at once (the server answers 503 + Retry-After) instead of growing.
 */
import type { StoredMessage } from "./stamp.js";
import { mergeCounts } from "./plan/refused.js";
import type { EventStore, RefusedCount } from "./store/types.js";

/** Thrown by `add` when the write path is full. */
export class OverloadedError extends Error {
  constructor() {
    super("write path is full");
    this.name = "OverloadedError";
  }
}

interface Waiting {
  messages: readonly StoredMessage[];
  refused: readonly RefusedCount[];
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class GroupCommitter {
  private pending: Waiting[] = [];
  private pendingEvents = 0;
  private flushing: Promise<void> | undefined;
  /** Commits made, for tests and metrics. */
  commits = 0;
  /** When the store write under way started (epoch ms); undefined between writes. Health reads it to see a stall. */
  writingSince: number | undefined;

  constructor(
    private readonly store: EventStore,
    private readonly maxPendingEvents: number,
    /** Told how long each commit took, and whether it held. */
    private readonly onCommit: (seconds: number, ok: boolean) => void = () => undefined,
  ) {}

  /** Events waiting for a commit now (for metrics). */
  get queued(): number {
    return this.pendingEvents;
  }

  /** Resolves once the messages (and the counts of what a plan refused) are durably committed. */
  add(messages: readonly StoredMessage[], refused: readonly RefusedCount[] = []): Promise<void> {
    if (messages.length === 0 && refused.length === 0) return Promise.resolve();
    if (this.pendingEvents + messages.length > this.maxPendingEvents) return Promise.reject(new OverloadedError());
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ messages, refused, resolve, reject });
      this.pendingEvents += messages.length;
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
      const messages = group.flatMap((w) => w.messages);
      const t0 = performance.now();
      const refused = group.some((w) => w.refused.length > 0) ? mergeCounts(group.map((w) => w.refused)) : [];
      try {
        await this.write(messages, refused);
        this.commits++;
        this.onCommit((performance.now() - t0) / 1000, true);
        for (const w of group) w.resolve();
      } catch (e) {
        this.onCommit((performance.now() - t0) / 1000, false);
        if (group.length === 1) group[0]!.reject(e);
        // One request the store cannot take must not fail the others that shared its commit: each on its own.
        else
          for (const w of group)
            await this.write(w.messages, w.refused).then(
              () => w.resolve(),
              (err: unknown) => w.reject(err),
            );
      } finally {
        this.pendingEvents -= messages.length;
      }
    }
  }

  private async write(messages: readonly StoredMessage[], refused: readonly RefusedCount[]): Promise<void> {
    this.writingSince = Date.now();
    try {
      await this.store.insert(messages, refused);
    } finally {
      this.writingSince = undefined;
    }
  }

  /** Resolves when everything added so far is committed (or failed). */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }
}
