/**
 * The hand-off at exit: what is still queued goes into the on-disk spool and a detached, supervised sender
 * delivers it, so the host exits at once whatever the network does. Synchronous, so it works in an `exit` hook.
 * No sender is started while the circuit breaker is open or while another live sender holds the lock (it picks
 * the new file up). If the data dir cannot be written, the events go to a private temp file for the sender.
 */
import { unlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { setPriority, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { DeliveryJob } from "./deliver.js";
import { randomHex32 } from "./random.js";
import { spoolWrite, type SpoolLimits } from "./spool.js";
import { isOpen, lockHolder, readBreaker, type BreakerPolicy } from "./state.js";

/** The sender's entry point, next to this module. */
const SENDER = fileURLToPath(new URL("./sender-main.js", import.meta.url));

// child_process is needed only at exit, where loading must be synchronous: a lazy require keeps it off start-up.
const loadChildProcess = (): typeof import("node:child_process") =>
  createRequire(import.meta.url)("node:child_process") as typeof import("node:child_process");

/** Env of the sender: nothing of the host's but what networking needs (no NODE_OPTIONS, no inspector). */
export function senderEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  // NODE_EXTRA_CA_CERTS: a corporate proxy or collector behind a private CA must stay reachable.
  for (const k of ["PATH", "SYSTEMROOT", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "NODE_EXTRA_CA_CERTS"]) {
    const v = env[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** How the sender behaves; passed to it as its single argument (JSON). */
export interface SenderConfig {
  readonly v: 1;
  /** Global data dir: spool, lock, breaker. */
  readonly dataDir: string;
  /** A temp job file to deliver first (used when the spool could not be written). */
  readonly jobFile?: string;
  /** The sender exits after this long, delivered or not. */
  readonly lifetimeMs: number;
  readonly requestTimeoutMs: number;
  readonly breaker: BreakerPolicy;
  readonly spool: SpoolLimits;
}

/** What the hand-off did, for stats and dry runs. */
export type HandOffResult = "spawned" | "spooled" | "breaker-open" | "failed";

function spawnSender(config: SenderConfig, env: NodeJS.ProcessEnv): boolean {
  try {
    const child = loadChildProcess().spawn(process.execPath, [SENDER, JSON.stringify(config)], {
      detached: true,
      stdio: "ignore",
      cwd: tmpdir(),
      env: senderEnv(env),
      windowsHide: true,
    });
    child.on("error", () => {
      if (config.jobFile) removeQuietly(config.jobFile);
    });
    child.unref();
    // Background work: the sender must not compete with whatever the user runs next.
    if (child.pid !== undefined) {
      try {
        setPriority(child.pid, 10);
      } catch {
        /* not permitted here: harmless */
      }
    }
    return true;
  } catch {
    return false;
  }
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    /* already gone */
  }
}

/** Spools the job and starts a sender if none is running and the breaker allows. Never throws. */
export function handOff(
  job: DeliveryJob,
  config: Omit<SenderConfig, "v" | "jobFile">,
  env: NodeJS.ProcessEnv = process.env,
): HandOffResult {
  try {
    const full: SenderConfig = { v: 1, ...config };
    if (job.messages.length > 0 && !spoolWrite(config.dataDir, job, config.spool)) {
      // The data dir is not writable: a private temp file for this one sender.
      const file = join(tmpdir(), `dlt-ts-telemetry-${process.pid}-${randomHex32().slice(0, 12)}.json`);
      try {
        writeFileSync(file, JSON.stringify(job), { mode: 0o600, flag: "wx" });
      } catch {
        return "failed";
      }
      if (spawnSender({ ...full, jobFile: file }, env)) return "spawned";
      removeQuietly(file);
      return "failed";
    }
    if (isOpen(readBreaker(config.dataDir))) return "breaker-open";
    // A live sender picks up the new file: it re-reads the spool before it lets go of the lock.
    if (lockHolder(config.dataDir, config.lifetimeMs)) return "spooled";
    return spawnSender(full, env) ? "spawned" : "spooled";
  } catch {
    return "failed";
  }
}
