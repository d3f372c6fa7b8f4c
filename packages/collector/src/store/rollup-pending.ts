/**
 * The aggregates off the commit path (issue 24): a commit writes its events and, in the same transaction, the columns
 * the aggregates need of each new event into `rollup_pending` (a plain append, no `GROUP BY`). A roll-up, in the
 * collector's own process and off the request path, moves the pending rows into the four aggregate tables in one
 * transaction (`insertRollups` over the pending rows), thousands of events at a time. The dashboard adds the pending
 * rows at query time (`RollupQueryDialect.pending`), so its answers are exact at every moment; a store whose
 * aggregates are always whole (ClickHouse's materialized views) names no pending table.
 *
 * Guarantees: a pending row is written by the transaction that inserts its event (a replay, a refused or rolled-back
 * write leaves none), and leaves the queue in the transaction that adds it to the aggregates, so `kill -9` at any
 * moment leaves aggregates + pending = events; the next open rolls the leftovers up. On PostgreSQL the roll-up takes
 * the queue with `DELETE … RETURNING`, which sees only committed rows: a concurrent collector's commit is either taken
 * whole or left for the next roll-up, never counted twice (a sequence watermark would not do: sequence values commit
 * out of order).
 */
import { COLUMNS, typeIn, type ColumnName } from "./columns.js";
import { ELAPSED_DIMENSIONS, ROLLUP_DIMENSIONS, type RollupDialect } from "./rollup.js";

/** The queue of events not yet aggregated. */
export const PENDING_TABLE = "rollup_pending";

/** The events' columns the aggregates read (`rollupOf`, `elapsedOf`), and so the pending table's, in order. */
export const PENDING_COLUMNS: readonly ColumnName[] = [
  ...new Set<ColumnName>(["timestamp", "transaction_id", "elapsed", ...ROLLUP_DIMENSIONS, ...ELAPSED_DIMENSIONS]),
];
/** The pending columns' names, quoted, comma-joined. */
export const PENDING_NAMES = PENDING_COLUMNS.map((n) => `"${n}"`).join(", ");

/** `CREATE TABLE IF NOT EXISTS` of the pending table (no key, no index: appended, then emptied). */
export function createPending(d: RollupDialect): string {
  const column = (name: ColumnName) => COLUMNS.find((c) => c.name === name)!;
  return `CREATE TABLE IF NOT EXISTS ${PENDING_TABLE} (${PENDING_COLUMNS.map((n) => `"${n}" ${typeIn(d.kinds, column(n))}`).join(", ")})`;
}

/** When to roll up: after this many pending events, or this long after the first of them. */
export interface RollUpPolicy {
  readonly rows: number;
  readonly ms: number;
}
export const DEFAULT_ROLL_UP: RollUpPolicy = { rows: 20_000, ms: 1_000 };

/**
 * Decides when a store rolls up, from the events its own commits queued: at `rows` of them, or `ms` after the first
 * (a timer, so a quiet collector rolls up too). One roll-up at a time; a roll-up that did nothing (another collector
 * held the lock) or failed leaves the count, so it is tried again.
 */
export class RollUpTrigger {
  private rows = 0;
  private since = 0;
  private running: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;

  /** `rollUp` resolves true when it took the queue, false when it skipped (another collector is at it). */
  constructor(
    private readonly rollUp: () => Promise<boolean>,
    private readonly policy: RollUpPolicy = DEFAULT_ROLL_UP,
  ) {
    const tick = Math.min(1_000, Math.max(10, policy.ms / 4));
    this.timer = setInterval(() => {
      if (this.rows > 0 && Date.now() - this.since >= this.policy.ms) this.fire();
    }, tick);
    this.timer.unref();
  }

  /** Events this collector queued that no roll-up of its own has taken yet. */
  get queued(): number {
    return this.rows;
  }

  /** A commit queued `n` events. */
  added(n: number): void {
    if (n <= 0) return;
    if (this.rows === 0) this.since = Date.now();
    this.rows += n;
    if (this.rows >= this.policy.rows || Date.now() - this.since >= this.policy.ms) this.fire();
  }

  private fire(): void {
    if (this.running) return;
    const { rows, since } = this;
    this.rows = 0;
    const restore = (): void => {
      if (this.rows === 0) this.since = since;
      this.rows += rows;
    };
    this.running = this.rollUp()
      .then((took) => (took ? undefined : restore()), restore)
      .finally(() => {
        this.running = undefined;
      });
  }

  /** Stops the timer and waits for a roll-up under way. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
