/**
 * The hand-off at exit: what is still queued is written to a private temp file and a detached sender process
 * delivers it, so the host exits at once whatever the network does. Synchronous, so it works in an `exit` hook.
 */
import { unlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { setPriority, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { DeliveryJob } from "./deliver.js";

/** The sender's entry point, next to this module. */
const SENDER = fileURLToPath(new URL("./sender-main.js", import.meta.url));

// child_process is needed only at exit, where loading must be synchronous: a lazy require keeps it off start-up.
const loadChildProcess = (): typeof import("node:child_process") =>
  createRequire(import.meta.url)("node:child_process") as typeof import("node:child_process");

/** Env of the sender: nothing of the host's but what networking needs (no NODE_OPTIONS, no inspector). */
function senderEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const k of ["PATH", "SYSTEMROOT", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"]) {
    const v = env[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Settings of the detached sender. */
export interface HandOffLimits {
  /** The sender exits after this long, delivered or not. */
  readonly lifetimeMs: number;
  readonly requestTimeoutMs: number;
}

/** The file the sender reads. */
export interface HandOffFile extends DeliveryJob {
  readonly v: 1;
  readonly lifetimeMs: number;
  readonly requestTimeoutMs: number;
}

/** Writes the job and starts the detached sender. Returns false (having cleaned up) if it could not. */
export function handOff(job: DeliveryJob, limits: HandOffLimits, env: NodeJS.ProcessEnv = process.env): boolean {
  if (job.messages.length === 0) return true;
  const dir = tmpdir();
  const file = join(dir, `dlt-ts-telemetry-${process.pid}-${crypto.randomUUID().slice(0, 12)}.json`);
  const content: HandOffFile = { v: 1, ...job, lifetimeMs: limits.lifetimeMs, requestTimeoutMs: limits.requestTimeoutMs };
  try {
    writeFileSync(file, JSON.stringify(content), { mode: 0o600, flag: "wx" });
  } catch {
    return false;
  }
  try {
    const child = loadChildProcess().spawn(process.execPath, [SENDER, file], {
      detached: true,
      stdio: "ignore",
      cwd: dir,
      env: senderEnv(env),
      windowsHide: true,
    });
    child.on("error", () => {
      try {
        unlinkSync(file);
      } catch {
        /* already gone */
      }
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
    try {
      unlinkSync(file);
    } catch {
      /* already gone */
    }
    return false;
  }
}
