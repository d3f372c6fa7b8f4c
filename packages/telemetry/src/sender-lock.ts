/**
 * The sender lock shared by every process on the machine (`<dataDir>/telemetry/sender.lock`): at most one sender
 * delivers at a time, and a host that starts one takes the lock for it. Read without following symlinks and within a
 * few KB; created exclusively (`0600`); a lock whose pid is gone or whose holder is past its lifetime is broken.
 */
import { closeSync, constants, ftruncateSync, lstatSync, openSync, unlinkSync, writeSync } from "node:fs";
import { MAX_STATE_BYTES, telemetryFiles } from "./datadir.js";
import { makePrivateDir, readBounded, readOwnFile } from "./files.js";

/** Whether a process with this pid runs (on Linux a zombie, exited but not yet reaped, does not). */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  if (process.platform !== "linux") return true;
  const stat = readBounded(`/proc/${pid}/stat`, { maxBytes: MAX_STATE_BYTES, followSymlinks: true });
  return stat.kind === "text" && !/^\d+ \(.*\) [ZX]/.test(stat.text);
}

/** What `sender.lock` holds. */
interface LockRecord {
  readonly pid: number;
  readonly started: number;
}

function readLock(dataDir: string): { text: string; lock: LockRecord | undefined } | undefined {
  const text = readOwnFile(telemetryFiles(dataDir).lock, MAX_STATE_BYTES);
  if (text === undefined) return undefined;
  try {
    const l = JSON.parse(text) as Partial<LockRecord>;
    return { text, lock: typeof l.pid === "number" && typeof l.started === "number" ? { pid: l.pid, started: l.started } : undefined };
  } catch {
    return { text, lock: undefined };
  }
}

/** The sender holding the lock, if it is alive and within its lifetime. */
export function lockHolder(dataDir: string, lifetimeMs: number, now = Date.now()): LockRecord | undefined {
  const l = readLock(dataDir)?.lock;
  // A crashed sender cannot hold the lock past its lifetime (plus a margin), nor once its pid is gone.
  return l && pidAlive(l.pid) && now - l.started < lifetimeMs + 5000 ? l : undefined;
}

/**
 * Takes the sender lock (O_EXCL) for this process; a stale lock (dead pid, past its lifetime, unreadable, or not a
 * regular file) is broken once. Returns the open fd of the lock, or undefined when a live sender holds it.
 */
function takeLock(dataDir: string, lifetimeMs: number): number | undefined {
  const files = telemetryFiles(dataDir);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      makePrivateDir(files.dir, dataDir);
      const fd = openSync(files.lock, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o600);
      writeSync(fd, JSON.stringify({ pid: process.pid, started: Date.now() }));
      return fd;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") return undefined;
      const seen = readLock(dataDir);
      if (lockHolder(dataDir, lifetimeMs)) return undefined;
      // A lock created this instant may not hold its record yet: only an old unreadable one is stale.
      if (seen && !seen.lock && Date.now() - (lstatSync(files.lock, { throwIfNoEntry: false })?.mtimeMs ?? 0) < 2000) return undefined;
      try {
        // Break only the stale lock we looked at, not one a live sender has just taken. A link or other non-file
        // (`seen` undefined both times) is removed too: unlink removes the entry itself, never its target.
        if (readLock(dataDir)?.text === seen?.text) unlinkSync(files.lock);
      } catch {
        /* someone else broke it first */
      }
    }
  }
  return undefined;
}

/** Takes the sender lock for this process (the sender itself). */
export function acquireLock(dataDir: string, lifetimeMs: number): boolean {
  const fd = takeLock(dataDir, lifetimeMs);
  if (fd === undefined) return false;
  closeSync(fd);
  return true;
}

/**
 * Takes the lock on behalf of a sender about to be started, so that no other host starts a second one meanwhile.
 * `start` runs while the lock is held and returns the child's pid (or undefined: the lock is released); the lock
 * is then rewritten in place to name that pid, which the sender recognises as its own.
 * Returns whether a sender was started; false when a live sender holds the lock already (or `start` failed).
 */
export function startUnderLock(dataDir: string, lifetimeMs: number, start: () => number | undefined): "started" | "held" | "failed" {
  const fd = takeLock(dataDir, lifetimeMs);
  if (fd === undefined) return "held";
  try {
    const pid = start();
    if (pid === undefined) {
      unlinkSync(telemetryFiles(dataDir).lock);
      return "failed";
    }
    ftruncateSync(fd, 0);
    writeSync(fd, JSON.stringify({ pid, started: Date.now() }), 0);
    return "started";
  } catch {
    return "failed";
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether the lock names this process, taken for it by the host that started it. While that host is still
 * rewriting the lock it names the host, this process's parent: that counts as ours too.
 */
export function ownsLock(dataDir: string, pids: readonly number[] = [process.pid]): boolean {
  const pid = readLock(dataDir)?.lock?.pid;
  return pid !== undefined && pids.includes(pid);
}

/** Removes the lock if it names one of `pids` (default: this process). */
export function releaseLock(dataDir: string, pids: readonly number[] = [process.pid]): void {
  try {
    if (ownsLock(dataDir, pids)) unlinkSync(telemetryFiles(dataDir).lock);
  } catch {
    /* not ours or gone */
  }
}
