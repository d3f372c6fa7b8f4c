/**
 * The hand-off at exit: what is still queued goes into the on-disk spool and a detached, supervised sender
 * delivers it, so the host exits at once whatever the network does. Synchronous, so it works in an `exit` hook.
 * No sender is started while the circuit breaker is open or while another live sender holds the lock (it picks
 * the new file up); the host takes the lock for the sender it starts, so two hosts exiting at once start one.
 * If the data dir cannot be written, the spool, lock and breaker of a private per-user folder in the temp dir are
 * used instead (still one sender per user, never one per run); if that fails too, the events are dropped.
 */
import { createRequire } from "node:module";
import { setPriority, tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import type { DeliveryJob } from "./deliver.js";
import { spoolWrite, type SpoolLimits } from "./spool.js";
import { isOpen, readBreaker, type BreakerPolicy } from "./breaker.js";
import { startUnderLock } from "./sender-lock.js";

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
  readonly v: 2;
  /** The data dir whose spool, lock and breaker it uses (the host's, or the private fallback). */
  readonly dataDir: string;
  /** The sender exits after this long, delivered or not. */
  readonly lifetimeMs: number;
  readonly requestTimeoutMs: number;
  readonly breaker: BreakerPolicy;
  readonly spool: SpoolLimits;
}

/**
 * What the hand-off did, for stats and dry runs: a sender started; spooled for a sender already at work; spooled
 * while the breaker is open; or `failed`: nothing could be written, the events are dropped.
 */
export type HandOffResult = "spawned" | "spooled" | "breaker-open" | "failed";

/** Where and how to hand off. */
export interface HandOffConfig extends Omit<SenderConfig, "v" | "dataDir"> {
  /** The host's data dir. */
  readonly dataDir: string;
  /** Returns a private per-user data dir to use when `dataDir` cannot be written (asked for only then). */
  readonly fallbackDataDir?: () => string | undefined;
}

/** Starts the sender; returns its pid, or undefined when it could not be started. */
function spawnSender(config: SenderConfig, env: NodeJS.ProcessEnv): number | undefined {
  try {
    const child = loadChildProcess().spawn(process.execPath, [SENDER, JSON.stringify(config)], {
      detached: true,
      stdio: "ignore",
      cwd: tmpdir(),
      env: senderEnv(env),
      windowsHide: true,
    });
    child.on("error", () => undefined);
    child.unref();
    if (child.pid === undefined) return undefined;
    // Background work: the sender must not compete with whatever the user runs next.
    try {
      setPriority(child.pid, 10);
    } catch {
      /* not permitted here: harmless */
    }
    return child.pid;
  } catch {
    return undefined;
  }
}

/** Spools the job and starts a sender if none is running and the breaker allows. Never throws. */
export function handOff(job: DeliveryJob, config: HandOffConfig, env: NodeJS.ProcessEnv = process.env): HandOffResult {
  try {
    if (job.messages.length === 0) return "spooled";
    const { fallbackDataDir, ...rest } = config;
    let dataDir: string | undefined = config.dataDir;
    if (!spoolWrite(dataDir, job, config.spool)) {
      // The data dir cannot be written (a read-only home, a container): this user's private folder instead.
      dataDir = fallbackDataDir?.();
      if (dataDir === undefined || !spoolWrite(dataDir, job, config.spool)) return "failed";
    }
    if (isOpen(readBreaker(dataDir))) return "breaker-open";
    const sender: SenderConfig = { ...rest, v: 2, dataDir };
    // A live sender picks up the new file: it re-reads the spool before it lets go of the lock.
    const started = startUnderLock(dataDir, config.lifetimeMs, () => spawnSender(sender, env));
    return started === "started" ? "spawned" : "spooled";
  } catch {
    return "failed";
  }
}
