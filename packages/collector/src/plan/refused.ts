/**
 * The refused messages of one request (or one commit), counted by UTC day, reason and event name: the rows the store
 * adds to its `refused` table (`store/columns.ts`, `REFUSED_COLUMNS`). An event whose name is not a bounded
 * identifier is counted under the empty name, so no content of a refused message is ever stored.
 */
import type { RefusedCount } from "../store/types.js";

const DAY_MS = 86_400_000;

export class RefusedCounts {
  private readonly counts = new Map<string, RefusedCount>();
  private readonly day: number;
  /** How many were counted. */
  total = 0;

  /** Counts for the UTC day of `at` (epoch ms). */
  constructor(at: number) {
    this.day = Math.floor(at / DAY_MS) * DAY_MS;
  }

  add(reason: string, event: string | null, n = 1): void {
    const name = event ?? "";
    const key = `${reason}\u0000${name}`;
    const row = this.counts.get(key);
    this.counts.set(key, { day: this.day, reason, event: name, n: (row?.n ?? 0) + n });
    this.total += n;
  }

  rows(): RefusedCount[] {
    return [...this.counts.values()];
  }
}

/** Rows of several requests as one set: one row per day, reason and event (a store upserts each once). */
export function mergeCounts(groups: readonly (readonly RefusedCount[])[]): RefusedCount[] {
  const out = new Map<string, RefusedCount>();
  for (const rows of groups) {
    for (const r of rows) {
      const key = `${r.day}\u0000${r.reason}\u0000${r.event}`;
      out.set(key, { ...r, n: (out.get(key)?.n ?? 0) + r.n });
    }
  }
  return [...out.values()];
}
