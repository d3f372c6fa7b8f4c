/**
 * Whether the store can take events, as last seen, and the log of its failures. Every failed write (a commit, or a
 * probe) reports its cause. A failing episode is logged once when it starts, summed up with a count per cause at most
 * once every `repeatEveryMs` while it goes on, and once more when it ends, so a failing disk under load writes a few
 * lines, not one per request, and not one per flap.
 *
 * What ends an episode must prove the store takes events again, not merely that something small still fits:
 * - a full disk fails large writes while tiny ones (a one-event post, the probe's row) still fit, so after a failure
 *   for lack of space only a write at least as large as the smallest that failed counts as recovery; smaller ones that
 *   go through are counted, and the probe is padded to that size;
 * - a stalled database (a write waiting longer than the write timeout) fails the health at once, and stays failed
 *   until that write is over, whatever a probe says.
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

/**
 * A failure for lack of space, as the stores and the OS word it: `ENOSPC` / "No space left on device" (Node, DuckDB,
 * PostgreSQL's "could not extend file"), `EFBIG` / "File too large" (a file-size limit), "disk full" (SQLSTATE 53100).
 */
export const isSpaceCause = (cause: string): boolean =>
  /ENOSPC|no space left|EFBIG|file too large|disk (is )?full|could not extend file|53100/i.test(cause);

/** The largest probe the health pads (bytes): a request is at most 500 KB on the wire. */
export const MAX_PROBE_PAD_BYTES = 1024 * 1024;

/** Tuning of a `StoreHealth`; every field has a default. */
export interface HealthOptions {
  /** While failing, a summary line at most this often (ms, default 60 s). */
  readonly repeatEveryMs?: number;
  /** While failing, `/health` probes the store at most this often (ms, default 1 s). */
  readonly probeEveryMs?: number;
  /** `/health` waits this long for a probe before it answers with what it knows (ms, default 2 s). */
  readonly probeWaitMs?: number;
  /** A write under way for longer than this is a stalled store (ms, default 10 s: PostgreSQL's statement timeout). */
  readonly writeTimeoutMs?: number;
  /** When the write under way started (epoch ms), undefined when none is: the group committer's. */
  readonly writingSince?: () => number | undefined;
}

interface Episode {
  readonly since: number;
  /** Failures per cause, in the order the causes appeared. */
  readonly counts: Map<string, number>;
  last: string;
  lastSummary: number;
  /** The smallest write (bytes) that failed for lack of space; a smaller success proves nothing. */
  spaceBytes: number | undefined;
  /** Real writes smaller than `spaceBytes` that went through meanwhile. */
  smallerThrough: number;
  /** The start of the stalled write already counted, so one stall counts once. */
  stallOf: number | undefined;
}

export class StoreHealth {
  private episode: Episode | undefined;
  private probing: Promise<void> | undefined;
  private lastProbe = 0;
  private watcher: NodeJS.Timeout | undefined;
  private readonly repeatEveryMs: number;
  private readonly probeEveryMs: number;
  private readonly probeWaitMs: number;
  private readonly writeTimeoutMs: number;
  private readonly writingSince: () => number | undefined;

  constructor(
    /** Tries a write that leaves no event behind, of at least `padBytes` bytes. */
    private readonly probe: (padBytes: number) => Promise<void>,
    private readonly log: Log,
    options: HealthOptions = {},
  ) {
    this.repeatEveryMs = options.repeatEveryMs ?? 60_000;
    this.probeEveryMs = options.probeEveryMs ?? 1_000;
    this.probeWaitMs = options.probeWaitMs ?? 2_000;
    this.writeTimeoutMs = options.writeTimeoutMs ?? 10_000;
    this.writingSince = options.writingSince ?? (() => undefined);
  }

  /** The cause while failing, undefined when the store works. */
  get failing(): string | undefined {
    this.noteStall();
    return this.episode?.last;
  }

  /**
   * Watches for a stalled write without waiting for `/health` to be asked (a timer that keeps no process alive), so
   * the log says so as soon as it happens. `stop()` ends it.
   */
  start(): void {
    this.watcher ??= setInterval(() => this.watch(), Math.max(50, Math.min(1000, this.writeTimeoutMs / 4)));
    this.watcher.unref();
  }

  stop(): void {
    if (this.watcher) clearInterval(this.watcher);
    this.watcher = undefined;
  }

  /** A write of `bytes` failed. */
  failed(error: unknown, bytes = 0): void {
    const cause = causeOf(error);
    const now = Date.now();
    let e = this.episode;
    if (!e) {
      e = this.episode = {
        since: now,
        counts: new Map(),
        last: cause,
        lastSummary: now,
        spaceBytes: undefined,
        smallerThrough: 0,
        stallOf: undefined,
      };
      this.log(`storage failing: ${cause}`, { level: "error", cause });
    }
    e.last = cause;
    e.counts.set(cause, (e.counts.get(cause) ?? 0) + 1);
    if (bytes > 0 && isSpaceCause(cause)) e.spaceBytes = Math.min(e.spaceBytes ?? Infinity, bytes);
    this.summarize(now);
  }

  /** A real write of `bytes` went through. */
  succeeded(bytes = Infinity): void {
    const e = this.episode;
    if (!e) return;
    if (this.stalled() !== undefined) return;
    if (e.spaceBytes !== undefined && bytes < e.spaceBytes) {
      e.smallerThrough++;
      return;
    }
    this.recover(e);
  }

  /**
   * The state for `/health`. While failing, the store is probed (at most once per `probeEveryMs`, one probe at a
   * time, padded to the smallest write that failed for lack of space) so that a recovery shows without waiting for
   * traffic; `/health` waits for it at most `probeWaitMs`.
   */
  async check(): Promise<string | undefined> {
    this.noteStall();
    const e = this.episode;
    if (e && !this.probing && Date.now() - this.lastProbe >= this.probeEveryMs) {
      const pad = e.spaceBytes ?? 0;
      this.probing = this.probe(Math.min(pad, MAX_PROBE_PAD_BYTES))
        .then(
          () => {
            // A probe smaller than what failed, or one that passed while a write is stalled, proves nothing.
            if (this.episode === e && pad <= MAX_PROBE_PAD_BYTES && this.stalled() === undefined) this.recover(e);
          },
          (err: unknown) => this.failed(err),
        )
        .finally(() => {
          this.lastProbe = Date.now();
          this.probing = undefined;
        });
    }
    if (this.probing) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.probing, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.probeWaitMs)))]);
      clearTimeout(timer);
    }
    return this.failing;
  }

  /** What the timer does: a stall noticed, a summary when one is due. */
  private watch(): void {
    this.noteStall();
    if (this.episode) this.summarize(Date.now());
  }

  /** Since when the write under way has waited past the write timeout, or undefined. */
  private stalled(): number | undefined {
    const since = this.writingSince();
    return since !== undefined && Date.now() - since > this.writeTimeoutMs ? since : undefined;
  }

  private noteStall(): void {
    const since = this.stalled();
    if (since === undefined || this.episode?.stallOf === since) return;
    this.failed(new Error(`a write has waited longer than the write timeout (${seconds(this.writeTimeoutMs)}): the store is not answering`));
    this.episode!.stallOf = since;
  }

  private summarize(now: number): void {
    const e = this.episode;
    if (!e || now - e.lastSummary < this.repeatEveryMs) return;
    e.lastSummary = now;
    this.log(`storage still failing after ${seconds(now - e.since)}: ${this.summary(e)}`, {
      level: "error",
      cause: e.last,
      duration_s: secs(now - e.since),
      failed_writes: total(e),
    });
  }

  private recover(e: Episode): void {
    this.episode = undefined;
    const smaller = e.smallerThrough > 0 ? `; ${e.smallerThrough} smaller writes went through meanwhile` : "";
    const ms = Date.now() - e.since;
    this.log(`storage recovered after ${seconds(ms)}; failed writes: ${this.summary(e)}${smaller}`, {
      level: "info",
      duration_s: secs(ms),
      failed_writes: total(e),
    });
  }

  private summary(e: Episode): string {
    return [...e.counts].map(([cause, n]) => `${n} × ${cause}`).join("; ");
  }
}

const secs = (ms: number): number => Math.round(ms / 100) / 10;
const seconds = (ms: number): string => `${secs(ms).toFixed(1)} s`;
const total = (e: Episode): number => [...e.counts.values()].reduce((a, b) => a + b, 0);
