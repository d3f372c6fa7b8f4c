/**
 * Whether the store can take events, as last seen, and the log of its failures. Every failed write (a commit, or a
 * probe) reports its cause; each distinct cause is logged once when it first appears, and the episode is summed up
 * with a count per cause when the store recovers (and every `repeatEveryMs` while it keeps failing), so a failing
 * disk under load writes a few lines, not one per request.
 */

import type { Log } from "./log.js";

/** The cause of a store failure as a single line, for the log and for `/health`. */
export function causeOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s+/g, " ").trim().slice(0, 300) || "unknown error";
}

/**
 * The cause as `/health` shows it to anyone who can reach the collector: directories are cut from the paths in it
 * (the operator's log keeps them).
 */
export const publicCause = (cause: string): string => cause.replace(/(?:\/[^/\s"':]+)+\/([^/\s"':]+)/g, "$1");

interface Episode {
  readonly since: number;
  /** Failures per cause, in the order the causes appeared. */
  readonly counts: Map<string, number>;
  last: string;
  lastSummary: number;
}

export class StoreHealth {
  private episode: Episode | undefined;
  private probing: Promise<void> | undefined;
  private lastProbe = 0;

  constructor(
    private readonly probe: () => Promise<void>,
    private readonly log: Log,
    private readonly repeatEveryMs = 60_000,
    private readonly probeEveryMs = 1_000,
  ) {}

  /** The cause while failing, undefined when the store works. */
  get failing(): string | undefined {
    return this.episode?.last;
  }

  /** A write failed. */
  failed(error: unknown): void {
    const cause = causeOf(error);
    const now = Date.now();
    if (!this.episode) {
      this.episode = { since: now, counts: new Map(), last: cause, lastSummary: now };
    }
    const e = this.episode;
    e.last = cause;
    const n = (e.counts.get(cause) ?? 0) + 1;
    e.counts.set(cause, n);
    if (n === 1) this.log(`storage failing: ${cause}`, { level: "error", cause });
    else if (now - e.lastSummary >= this.repeatEveryMs) {
      e.lastSummary = now;
      this.log(`storage still failing after ${seconds(now - e.since)}: ${this.summary(e)}`, { level: "error", cause, duration_s: secs(now - e.since), failed_writes: total(e) });
    }
  }

  /** A write went through. */
  succeeded(): void {
    const e = this.episode;
    if (!e) return;
    this.episode = undefined;
    const ms = Date.now() - e.since;
    this.log(`storage recovered after ${seconds(ms)}; failed writes: ${this.summary(e)}`, { level: "info", duration_s: secs(ms), failed_writes: total(e) });
  }

  /**
   * The state for `/health`. While failing, the store is probed (at most once per `probeEveryMs`, one probe at a
   * time) so that a recovery shows without waiting for traffic.
   */
  async check(): Promise<string | undefined> {
    if (this.episode && Date.now() - this.lastProbe >= this.probeEveryMs) {
      this.probing ??= this.probe()
        .then(() => this.succeeded(), (e: unknown) => this.failed(e))
        .finally(() => {
          this.lastProbe = Date.now();
          this.probing = undefined;
        });
      await this.probing;
    }
    return this.failing;
  }

  private summary(e: Episode): string {
    return [...e.counts].map(([cause, n]) => `${n} × ${cause}`).join("; ");
  }
}

const secs = (ms: number): number => Math.round(ms / 100) / 10;
const seconds = (ms: number): string => `${secs(ms).toFixed(1)} s`;
const total = (e: Episode): number => [...e.counts.values()].reduce((a, b) => a + b, 0);
