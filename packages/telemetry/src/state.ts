/**
 * Small pieces of state shared by every process on the machine, in `<dataDir>/telemetry`:
 * the circuit breaker (`breaker.json`) and the sender lock (`sender.lock`).
 */
import { openSync, closeSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { telemetryDir } from "./spool.js";

/** The breaker: after repeated failed deliveries, no attempt until `openUntil`. */
export interface BreakerState {
  /** Consecutive failed delivery episodes (a sender run that gave up). */
  readonly failures: number;
  /** Epoch ms until which no sender is started and no socket opened; 0 when closed. */
  readonly openUntil: number;
}

/** When the breaker opens and for how long. */
export interface BreakerPolicy {
  /** Failed episodes before it opens. */
  readonly threshold: number;
  /** First open period; it doubles with every further failure. */
  readonly baseMs: number;
  /** Longest open period. */
  readonly maxMs: number;
}

export const DEFAULT_BREAKER: BreakerPolicy = { threshold: 2, baseMs: 3600_000, maxMs: 24 * 3600_000 };

const breakerFile = (dataDir: string): string => join(telemetryDir(dataDir), "breaker.json");

export function readBreaker(dataDir: string): BreakerState {
  try {
    const s = JSON.parse(readFileSync(breakerFile(dataDir), "utf8")) as Partial<BreakerState>;
    return { failures: Number(s.failures) || 0, openUntil: Number(s.openUntil) || 0 };
  } catch {
    return { failures: 0, openUntil: 0 };
  }
}

export function isOpen(state: BreakerState, now = Date.now()): boolean {
  return state.openUntil > now;
}

function writeBreaker(dataDir: string, state: BreakerState): void {
  try {
    mkdirSync(telemetryDir(dataDir), { recursive: true, mode: 0o700 });
    const tmp = `${breakerFile(dataDir)}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
    renameSync(tmp, breakerFile(dataDir));
  } catch {
    /* best effort */
  }
}

/** Records a delivery that reached the endpoint: the breaker closes. */
export function recordSuccess(dataDir: string): void {
  const s = readBreaker(dataDir);
  if (s.failures !== 0 || s.openUntil !== 0) writeBreaker(dataDir, { failures: 0, openUntil: 0 });
}

/** Records a failed episode; opens the breaker for a period that doubles up to the cap. */
export function recordFailure(dataDir: string, policy: BreakerPolicy, now = Date.now()): BreakerState {
  const failures = readBreaker(dataDir).failures + 1;
  const over = failures - policy.threshold;
  const openUntil = over >= 0 ? now + Math.min(policy.maxMs, policy.baseMs * 2 ** over) : 0;
  const state = { failures, openUntil };
  writeBreaker(dataDir, state);
  return state;
}

const lockFile = (dataDir: string): string => join(telemetryDir(dataDir), "sender.lock");

/** Whether a process with this pid runs (on Linux a zombie, exited but not yet reaped, does not). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  if (process.platform !== "linux") return true;
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** The sender holding the lock, if it is alive and within its lifetime. */
export function lockHolder(dataDir: string, lifetimeMs: number, now = Date.now()): { pid: number; started: number } | undefined {
  try {
    const l = JSON.parse(readFileSync(lockFile(dataDir), "utf8")) as { pid: number; started: number };
    // A crashed sender cannot hold the lock past its lifetime (plus a margin), nor once its pid is gone.
    if (pidAlive(l.pid) && now - l.started < lifetimeMs + 5000) return l;
  } catch {
    /* no lock, or unreadable: treated as free */
  }
  return undefined;
}

/** Takes the sender lock (O_EXCL); a stale lock is broken once. */
export function acquireLock(dataDir: string, lifetimeMs: number): boolean {
  const file = lockFile(dataDir);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      mkdirSync(telemetryDir(dataDir), { recursive: true, mode: 0o700 });
      const fd = openSync(file, "wx", 0o600);
      writeSync(fd, JSON.stringify({ pid: process.pid, started: Date.now() }));
      closeSync(fd);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") return false;
      let seen: string;
      try {
        seen = readFileSync(file, "utf8");
      } catch {
        continue; // released meanwhile: try again
      }
      if (lockHolder(dataDir, lifetimeMs)) return false;
      try {
        // Break only the stale lock we looked at, not one a live sender has just taken.
        if (readFileSync(file, "utf8") === seen) unlinkSync(file);
      } catch {
        /* someone else broke it first */
      }
    }
  }
  return false;
}

export function releaseLock(dataDir: string): void {
  try {
    const l = JSON.parse(readFileSync(lockFile(dataDir), "utf8")) as { pid: number };
    if (l.pid === process.pid) unlinkSync(lockFile(dataDir));
  } catch {
    /* not ours or gone */
  }
}
