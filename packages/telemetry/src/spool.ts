/**
 * The on-disk spool in the global data dir: events that are waiting for a sender. The host writes one file per
 * exit (mode 0600, created exclusively, then renamed); a sender claims files by renaming them (so no two senders
 * deliver the same file), deletes what was delivered and puts back what it could not deliver. Bounded in files,
 * bytes and age; every drop is counted. A file's size and age are read from the file itself (`lstat`), never from
 * its name, and anything but a regular file is ignored: a planted name cannot slip past the caps.
 */
import { lstatSync, readdirSync, renameSync, unlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { MAX_CONFIG_BYTES, appendToOwnFile, isPrivateDir, makePrivateDir, readOwnFile, writeNewFile } from "./files.js";
import { telemetryFiles } from "./datadir.js";
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

/** The spool folder of a data dir. */
export function spoolDir(dataDir: string): string {
  return telemetryFiles(dataDir).spool;
}

/** A spooled file: its name, and its age and size as the file system reports them. */
export interface SpoolEntry {
  readonly name: string;
  readonly createdMs: number;
  readonly bytes: number;
}

/** `<ms>-<rand>-<bytes>.json`: the name orders files; its numbers are not trusted for caps. */
const NAME = /^(\d+)-([0-9a-f]+)-(\d+)\.json$/;

/**
 * Waiting files, oldest first (claimed and temporary files are not listed). A spool folder that is a link, or not
 * this user's, holds nothing to send. An entry with a spool file's name that is a link or another non-file will never
 * be sent: it is removed (a link's target is left as it is).
 */
export function listSpool(dir: string): SpoolEntry[] {
  let names: string[];
  try {
    if (!isPrivateDir(dir) || !isPrivateDir(dirname(dir))) return [];
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: SpoolEntry[] = [];
  for (const name of names) {
    const m = NAME.exec(name);
    if (!m) continue;
    const st = lstatSync(join(dir, name), { throwIfNoEntry: false });
    if (!st?.isFile()) {
      if (st && !st.isDirectory()) removeQuietly(join(dir, name));
      continue;
    }
    // A name from the future does not make a file young: the older of name and mtime counts.
    out.push({ name, createdMs: Math.min(Number(m[1]), st.mtimeMs), bytes: st.size });
  }
  return out.sort((a, b) => a.createdMs - b.createdMs || a.name.localeCompare(b.name));
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* gone, or not ours to remove */
  }
}

/** Adds `n` to the drop counter (one line per drop event; O_APPEND keeps concurrent writers whole). */
export function countDropped(dataDir: string, n: number): void {
  if (n <= 0) return;
  try {
    const files = telemetryFiles(dataDir);
    // Into the library's own folder only: a `telemetry` that is a link would put the log where it points.
    makePrivateDir(files.dir, dataDir);
    appendToOwnFile(files.dropped, `${n}\n`);
  } catch {
    /* best effort */
  }
}

/** Messages dropped so far on this machine (queue full, over caps, too old, refused for good). */
export function droppedCount(dataDir: string): number {
  // One short line per drop: 1 MB is some 300,000 drops; a longer log is not read (the count shows 0).
  const text = readOwnFile(telemetryFiles(dataDir).dropped, MAX_CONFIG_BYTES) ?? "";
  return text.split("\n").reduce((sum, l) => sum + (Number(l) || 0), 0);
}

/** Reads a spooled job (a claimed file, or the name of a waiting one); undefined when unusable. */
export function readSpooled(path: string, maxBytes: number): DeliveryJob | undefined {
  const text = readOwnFile(path, maxBytes);
  if (text === undefined) return undefined;
  try {
    const j = JSON.parse(text) as DeliveryJob;
    return typeof j.url === "string" && Array.isArray(j.messages) ? j : undefined;
  } catch {
    return undefined;
  }
}

function messagesIn(dir: string, name: string, maxBytes: number): number {
  return readSpooled(join(dir, name), maxBytes)?.messages.length ?? 0;
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
    const n = messagesIn(dir, e.name, limits.maxBytes);
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
    makePrivateDir(dir, dataDir);
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
    writeNewFile(tmp, text);
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
