/**
 * What a host tells the library when it creates a client. The parts that configure one module live beside it
 * (`SettingsOptions` and `SettingNames` in `settings.ts`, `HostInfo` in `context.ts`, the spool's and breaker's
 * limits in theirs); this module only puts them together, so every import points down to them.
 */
import type { HostInfo } from "./context.js";
import type { SettingsOptions } from "./settings.js";
import type { SpoolLimits } from "./spool.js";
import type { BreakerPolicy } from "./breaker.js";

/** Everything the host tells the library; nothing in it is dlt-specific. */
export interface TelemetryOptions extends SettingsOptions {
  /** The host's name and version, sent as `context.library`. */
  readonly library: HostInfo;
  /** Most events held in memory; later ones are dropped and counted (default 1000). */
  readonly queueCap?: number;
  /** A background flush starts this long after the first queued event (default 10 s). */
  readonly flushIntervalMs?: number;
  /** A background flush starts at once when this many events are queued (default 50). */
  readonly flushAt?: number;
  /** Longest wait for one answer of an in-process send (default 10 s). */
  readonly requestTimeoutMs?: number;
  /** The detached sender exits after this long, delivered or not (default 30 s). */
  readonly handOffLifetimeMs?: number;
  /** Caps of the on-disk spool of undelivered events (default 2000 files, 4 MB, 7 days). */
  readonly spool?: Partial<SpoolLimits>;
  /** When repeated failures stop all attempts, and for how long (default: after 2, 1 h doubling to 24 h). */
  readonly breaker?: Partial<BreakerPolicy>;
  /**
   * Count installs without an id: the first event this machine sends for `library.version` carries
   * `first_run_of_version: true` (once per version per machine, remembered in the data dir). Off unless the host
   * asks, since it adds to what is sent: tell your users (dlt-ts lists it in its event catalogue).
   */
  readonly firstRunOfVersion?: boolean;
  /** Where debug and dry-run output goes (default: `process.stderr`). */
  readonly debugWrite?: (line: string) => void;
}
