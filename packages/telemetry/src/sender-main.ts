/**
 * The detached sender: `node sender-main.js '<SenderConfig JSON>'`. One per data dir at a time: the host that starts
 * it takes the lock on its behalf (so no second sender starts meanwhile), and a crashed sender cannot hold it past
 * its lifetime. Delivers the spool, oldest first, claiming files by rename; puts back what it could not deliver;
 * keeps the circuit breaker; exits by itself within its lifetime whatever the network does. Loads nothing of the
 * host's.
 */
import { unlinkSync } from "node:fs";
import { deliver, type DeliveryJob } from "./deliver.js";
import type { SenderConfig } from "./handoff.js";
import { claim, countDropped, enforceLimits, listSpool, readSpooled, recoverOrphans, spoolDir, spoolWrite } from "./spool.js";
import { isOpen, readBreaker, recordFailure, recordSuccess } from "./breaker.js";
import { acquireLock, ownsLock, pidAlive, releaseLock } from "./sender-lock.js";
import { outcomeReason, recordInLedger, type LedgerRecord } from "./ledger.js";

const started = Date.now();
/** Files claimed per round: their messages go out in shared batches. */
const FILES_PER_ROUND = 50;

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* gone */
  }
}

/** Delivers claimed files that share an endpoint; returns false when the endpoint failed (retryable). */
async function deliverFiles(config: SenderConfig, claimed: string[], deadline: number): Promise<boolean> {
  const groups = new Map<string, { job: DeliveryJob; files: string[]; messages: string[] }>();
  for (const path of claimed) {
    const job = readSpooled(path, config.spool.maxBytes);
    if (!job) {
      removeQuietly(path); // unreadable, too large or not a file: nothing to deliver
      continue;
    }
    const key = `${job.url}\n${job.writeKey ?? ""}`;
    const g = groups.get(key) ?? { job, files: [], messages: [] };
    g.files.push(path);
    g.messages.push(...job.messages);
    groups.set(key, g);
  }
  let ok = true;
  for (const g of groups.values()) {
    const r = await deliver(
      { url: g.job.url, writeKey: g.job.writeKey, messages: g.messages },
      { deadline, requestTimeoutMs: config.requestTimeoutMs, ref: true },
    );
    if (r.delivered > 0) recordSuccess(config.dataDir);
    countDropped(config.dataDir, r.rejected);
    for (const f of g.files) removeQuietly(f);
    // Undelivered messages wait in the spool again, as one file.
    const kept =
      r.retryable.length === 0 || spoolWrite(config.dataDir, { url: g.job.url, writeKey: g.job.writeKey, messages: r.retryable }, config.spool);
    if (r.retryable.length > 0) ok = false;
    recordInLedger(
      config.dataDir,
      g.job.url,
      r.attempts.map(
        (a): LedgerRecord => ({
          messages: a.messages,
          outcome: a.result === "delivered" ? "delivered" : a.result === "rejected" || !kept ? "dropped" : "kept",
          reason:
            a.result === "delivered"
              ? undefined
              : a.result === "retryable" && !kept
                ? `${outcomeReason(a.last)}; the spool cannot be written`
                : outcomeReason(a.last),
        }),
      ),
    );
  }
  return ok;
}

/** Delivers the spool until it is empty (true), the endpoint fails (false) or time is up (true: the rest waits). */
async function drainSpool(config: SenderConfig, deadline: number): Promise<boolean> {
  const dir = spoolDir(config.dataDir);
  recoverOrphans(dir, pidAlive);
  enforceLimits(config.dataDir, config.spool);
  for (;;) {
    if (Date.now() >= deadline) return true;
    const claimed: string[] = [];
    for (const e of listSpool(dir)) {
      const c = claim(dir, e.name);
      if (c) claimed.push(c);
      if (claimed.length >= FILES_PER_ROUND) break;
    }
    if (claimed.length === 0) return true;
    if (!(await deliverFiles(config, claimed, deadline))) return false;
  }
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? "{}") as SenderConfig;
  const lifetime = Math.min(Math.max(config.lifetimeMs, 500), 60_000);
  // Hard limit: whatever happens, this process is gone shortly after its lifetime.
  setTimeout(() => process.exit(0), lifetime + 500).unref();
  const deadline = started + lifetime;

  // The host took the lock for us (it may still name the host for a moment while it writes our pid in).
  let locked = ownsLock(config.dataDir, [process.pid, process.ppid]);
  if (isOpen(readBreaker(config.dataDir))) {
    if (locked) releaseLock(config.dataDir, [process.pid, process.ppid]);
    return;
  }
  while (locked || acquireLock(config.dataDir, lifetime)) {
    locked = false;
    let ok = false;
    try {
      ok = await drainSpool(config, deadline);
      // Recorded before the lock goes: a host that finds the lock free also finds the breaker up to date.
      if (!ok) recordFailure(config.dataDir, config.breaker);
    } finally {
      releaseLock(config.dataDir, [process.pid, process.ppid]);
    }
    if (!ok) return;
    if (Date.now() >= deadline) return;
    // A host may have spooled a file while we held the lock and seen us as running: look once more.
    if (listSpool(spoolDir(config.dataDir)).length === 0) return;
  }
}

main().then(
  () => process.exit(0),
  () => process.exit(0),
);
