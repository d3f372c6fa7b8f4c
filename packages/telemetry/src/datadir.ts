/**
 * Every file the library keeps in a host's data dir, named once, and the private fallback used when that dir
 * cannot be written (a read-only home, a container).
 *
 * ```
 * <dataDir>/telemetry-notice-shown          the user has been told (the host prints the notice)
 * <dataDir>/telemetry/spool/<ms>-<rand>-<bytes>.json   events waiting for a sender (and .claimed-<pid>, .tmp)
 * <dataDir>/telemetry/breaker.json          the circuit breaker (written via breaker.json.<rand>.tmp)
 * <dataDir>/telemetry/sender.lock           the one sender at work
 * <dataDir>/telemetry/dropped.log           one line per drop: how many events
 * <dataDir>/telemetry/first-run/<name>@<version>   this version has sent its first event on this machine
 * <dataDir>/telemetry/ledger.jsonl          what was handed to the network, newest last (and ledger.1.jsonl before it)
 * ```
 */
import { lstatSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The paths of the library's files in one data dir. */
export interface TelemetryFiles {
  /** `<dataDir>/telemetry`: the spool, lock, breaker and drop counter live here. */
  readonly dir: string;
  readonly spool: string;
  readonly breaker: string;
  readonly lock: string;
  readonly dropped: string;
  readonly notice: string;
  /** Markers of the versions that sent their first event here (`first-run.ts`). */
  readonly firstRun: string;
  /** The ledger being written: one line per message handed to the network. */
  readonly ledger: string;
  /** The ledger's previous part, renamed from `ledger` when that was full. */
  readonly ledgerPrevious: string;
}

export function telemetryFiles(dataDir: string): TelemetryFiles {
  const dir = join(dataDir, "telemetry");
  return {
    dir,
    spool: join(dir, "spool"),
    breaker: join(dir, "breaker.json"),
    lock: join(dir, "sender.lock"),
    dropped: join(dir, "dropped.log"),
    notice: join(dataDir, "telemetry-notice-shown"),
    firstRun: join(dir, "first-run"),
    ledger: join(dir, "ledger.jsonl"),
    ledgerPrevious: join(dir, "ledger.1.jsonl"),
  };
}

/** Largest state file read (breaker, lock): they hold a few numbers. */
export const MAX_STATE_BYTES = 4096;

/**
 * A data dir of this user's own in the temp dir, for when the real one cannot be written:
 * `<tmp>/<prefix>-telemetry-<uid>`, created `0700`. It is used only if it is a real folder (not a link), owned by
 * this user and closed to everyone else, so another user of a shared /tmp cannot plant or read it. Gives one spool
 * and one sender lock per user, instead of a sender per run. Undefined when there is no such folder to be had.
 * With `create: false` only an existing one is returned (for readers, which must not make folders).
 */
export function privateFallbackDir(prefix: string, create = true): string | undefined {
  try {
    const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
    const dir = join(tmpdir(), `${prefix.toLowerCase()}-telemetry-${uid ?? "user"}`);
    if (create) {
      try {
        mkdirSync(dir, { mode: 0o700 });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") return undefined;
      }
    }
    const st = lstatSync(dir, { throwIfNoEntry: false });
    if (!st?.isDirectory()) return undefined;
    if (uid !== undefined && (st.uid !== uid || (st.mode & 0o077) !== 0)) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}
