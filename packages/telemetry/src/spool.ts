/**
 * The on-disk spool in the global data dir: events that are waiting for a sender. The host writes one file per
 * exit (mode 0600, atomically); a sender claims files by renaming them (so no two senders deliver the same file),
 * deletes what was delivered and puts back what it could not deliver. Bounded in files, bytes and age; every
 * drop is counted. File names carry time and size (`<ms>-<rand>-<bytes>.json`) so caps need no `stat`.
 */
import {
  appendFileSync, mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { DeliveryJob } from "./deliver.js";
import { randomHex32 } from "./random.js";

/** Caps of the spool. */
export interface SpoolLimits {
  /** Most files kept (one file per host exit). */
  readonly maxFiles: number;
  /** Most bytes kept. */
  readonly maxBytes: number;
  /** Files older than this are dropped. */
  readonly maxAgeMs: number;
}

export const DEFAULT_SPOOL_LIMITS: SpoolLimits = { maxFiles: 2000, maxBytes: 4 * 1024 * 1024, maxAgeMs: 7 * 24 * 3600 * 1000 };

/** `<dataDir>/telemetry`: the spool, the sender lock, the breaker state and the drop counter. */
export function telemetryDir(dataDir: string): string {
  return join(dataDir, "telemetry");
}
export function spoolDir(dataDir: string): string {
  return join(telemetryDir(dataDir), "spool");
}

/** A spooled file as its name describes it. */
export interface SpoolEntry {
  readonly name: string;
  readonly createdMs: number;
  readonly bytes: number;
}

const NAME = /^(\d+)-([0-9a-f]+)-(\d+)\.json$/;

/** Waiting files, oldest first (claimed and temporary files are not listed). */
export function listSpool(dir: string): SpoolEntry[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: SpoolEntry[] = [];
  for (const name of names) {
    const m = NAME.exec(name);
    if (m) out.push({ name, createdMs: Number(m[1]), bytes: Number(m[3]) });
  }
  return out.sort((a, b) => a.createdMs - b.createdMs || a.name.localeCompare(b.name));
}

/** Adds `n` to the drop counter (one line per drop event; O_APPEND keeps concurrent writers whole). */
export function countDropped(dataDir: string, n: number): void {
  if (n <= 0) return;
  try {
    appendFileSync(join(telemetryDir(dataDir), "dropped.log"), `${n}\n`, { mode: 0o600 });
  } catch {
    /* best effort */
  }
}

/** Messages dropped so far on this machine (queue full, over caps, too old, refused for good). */
export function droppedCount(dataDir: string): number {
  try {
    return readFileSync(join(telemetryDir(dataDir), "dropped.log"), "utf8")
      .split("\n")
      .reduce((sum, l) => sum + (Number(l) || 0), 0);
  } catch {
    return 0;
  }
}

function messagesIn(dir: string, name: string): number {
  try {
    return (JSON.parse(readFileSync(join(dir, name), "utf8")) as DeliveryJob).messages.length;
  } catch {
    return 0;
  }
}

/** Drops files that are too old, then the oldest ones until `extraFiles`/`extraBytes` more would fit. */
export function enforceLimits(dataDir: string, limits: SpoolLimits, extraFiles = 0, extraBytes = 0, now = Date.now()): void {
  const dir = spoolDir(dataDir);
  const entries = listSpool(dir);
  let files = entries.length + extraFiles;
  let bytes = entries.reduce((s, e) => s + e.bytes, 0) + extraBytes;
  let dropped = 0;
  for (const e of entries) {
    const expired = now - e.createdMs > limits.maxAgeMs;
    if (!expired && files <= limits.maxFiles && bytes <= limits.maxBytes) break;
    const n = messagesIn(dir, e.name);
    try {
      unlinkSync(join(dir, e.name));
      dropped += n;
    } catch {
      /* a sender claimed it meanwhile */
    }
    files--;
    bytes -= e.bytes;
  }
  countDropped(dataDir, dropped);
}

/**
 * Writes a job into the spool (0600, temp name then rename so senders never see half a file).
 * Returns false when the data dir cannot be written (the caller then falls back to a temp file).
 */
export function spoolWrite(dataDir: string, job: DeliveryJob, limits: SpoolLimits): boolean {
  if (job.messages.length === 0) return true;
  const dir = spoolDir(dataDir);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const text = JSON.stringify({ url: job.url, writeKey: job.writeKey, messages: job.messages });
    const bytes = Buffer.byteLength(text);
    if (bytes > limits.maxBytes) {
      countDropped(dataDir, job.messages.length);
      return true;
    }
    enforceLimits(dataDir, limits, 1, bytes);
    const rand = randomHex32().slice(0, 12);
    const name = `${Date.now()}-${rand}-${bytes}.json`;
    const tmp = join(dir, `.${name}.tmp`);
    writeFileSync(tmp, text, { mode: 0o600, flag: "wx" });
    renameSync(tmp, join(dir, name));
    return true;
  } catch {
    return false;
  }
}

/** Claims a waiting file for this process: the rename succeeds for exactly one claimant. */
export function claim(dir: string, name: string): string | undefined {
  const claimed = join(dir, `${name}.claimed-${process.pid}`);
  try {
    renameSync(join(dir, name), claimed);
    return claimed;
  } catch {
    return undefined;
  }
}

/** Puts a claimed file back for a later sender. */
export function unclaim(claimedPath: string): void {
  try {
    renameSync(claimedPath, claimedPath.replace(/\.claimed-\d+$/, ""));
  } catch {
    /* gone */
  }
}

/** Files claimed by senders that died (their pid is gone) go back to the spool. */
export function recoverOrphans(dir: string, isAlive: (pid: number) => boolean): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /\.claimed-(\d+)$/.exec(name);
    if (m && !isAlive(Number(m[1]))) unclaim(join(dir, name));
  }
}
