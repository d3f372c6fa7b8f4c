/**
 * The circuit breaker shared by every process on the machine (`<dataDir>/telemetry/breaker.json`): after repeated
 * failed deliveries no sender starts and no socket opens for a while. Read without following symlinks and within a
 * few KB; written only into a file created exclusively (`0600`) and renamed into place.
 */
import { renameSync, unlinkSync } from "node:fs";
import { MAX_STATE_BYTES, telemetryFiles } from "./datadir.js";
import { makePrivateDir, readOwnFile, writeNewFile } from "./files.js";
import { randomHex32 } from "./random.js";

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

export function readBreaker(dataDir: string): BreakerState {
  try {
    const s = JSON.parse(readOwnFile(telemetryFiles(dataDir).breaker, MAX_STATE_BYTES) ?? "{}") as Partial<BreakerState>;
    return { failures: Number(s.failures) || 0, openUntil: Number(s.openUntil) || 0 };
  } catch {
    return { failures: 0, openUntil: 0 };
  }
}

export function isOpen(state: BreakerState, now = Date.now()): boolean {
  return state.openUntil > now;
}

function writeBreaker(dataDir: string, state: BreakerState): void {
  const files = telemetryFiles(dataDir);
  // A fresh random temp name, created exclusively: a link planted at a predictable name cannot redirect the write.
  const tmp = `${files.breaker}.${randomHex32().slice(0, 12)}.tmp`;
  try {
    makePrivateDir(files.dir, dataDir);
    writeNewFile(tmp, JSON.stringify(state));
    renameSync(tmp, files.breaker);
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      /* not created */
    }
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
