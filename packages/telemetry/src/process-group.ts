/**
 * Runs a command in its own process group, so that a timeout (or the test process ending) kills everything the
 * command started, not only the command. `npm install` and `npx` start children of their own; a plain
 * `spawn(…, { timeout })` kills npm and leaves them running, their folder already deleted.
 *
 * @example
 * const r = await runInProcessGroup("npm", ["install"], { cwd: project, env, timeoutMs: 90_000 });
 * assert.equal(r.code, 0, r.stderr);
 */
import { spawn } from "node:child_process";

/** How a command ended. */
export interface GroupRun {
  /** The exit code, or null when a signal ended it. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
  /** True when the timeout ended it (its whole group was killed). */
  readonly timedOut: boolean;
}

export interface GroupRunOptions {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Kills the whole group with SIGKILL after this long; default 60 s. */
  readonly timeoutMs?: number;
}

/** Process groups started here that have not ended yet. */
const live = new Set<number>();

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

let hooked = false;
/** Whatever ends this process, the groups it started end with it. */
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once("exit", () => {
    for (const pid of live) killGroup(pid);
  });
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    process.once(signal, () => {
      for (const pid of live) killGroup(pid);
      process.kill(process.pid, signal);
    });
  }
}

/** Runs `command args…` to its end in a new process group; the group is killed on timeout or when this process exits. */
export function runInProcessGroup(command: string, args: readonly string[], options: GroupRunOptions): Promise<GroupRun> {
  hookExit();
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    const pid = child.pid;
    if (pid !== undefined) live.add(pid);
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (pid !== undefined) killGroup(pid);
    }, options.timeoutMs ?? 60_000);
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", (error) => {
      clearTimeout(timer);
      if (pid !== undefined) live.delete(pid);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      // The command is done; anything it left in its group goes with it.
      if (pid !== undefined) {
        killGroup(pid);
        live.delete(pid);
      }
      resolve({ code, signal, stdout, stderr, ms: performance.now() - t0, timedOut });
    });
  });
}
