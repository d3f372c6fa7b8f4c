import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runInProcessGroup, tempDir, withoutPrivileges } from "@dlt-ts/telemetry/testing";
import { main, type CliIo } from "../src/cli/index.js";

/** The `dlt` executable of this checkout. */
export const DLT_BIN = fileURLToPath(new URL("../../bin/dlt.js", import.meta.url));

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** How to run a child: its env and folder; optionally with file permissions enforced, and killed (code null) past a timeout. */
export interface RunOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** File permissions apply to the child even when the tests run as root (`withoutPrivileges`). */
  readonly permissionsApply?: boolean;
  readonly timeoutMs?: number;
}

/**
 * Runs `command args…` as a real child process (asynchronously: a server in the test process keeps serving), in a
 * process group of its own: past `timeoutMs` (default 2 minutes) the group is killed, code null.
 */
export function runCommand(command: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  const [cmd, argv] = opts.permissionsApply ? withoutPrivileges(command, args) : [command, [...args]];
  return runInProcessGroup(cmd, argv, { cwd: opts.cwd, env: opts.env, timeoutMs: opts.timeoutMs ?? 120_000 });
}

/** A `CliIo` that records what is written, its stderr a terminal or not (a fake TTY for the notice). */
export function recordingIo(errIsTty: boolean): CliIo & { outText: string; errText: string } {
  const o = {
    outText: "",
    errText: "",
    errIsTty,
    out(t: string) {
      o.outText += t;
    },
    err(t: string) {
      o.errText += t;
    },
  };
  return o;
}

/** Runs `dlt argv…` in this process (`main` with its output captured; stderr is not a terminal). */
export async function dltInProcess(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = recordingIo(false);
  const code = await main(argv, io);
  return { code, out: io.outText, err: io.errText };
}

/** Runs `node args…` as a real child process. */
export function runNode(args: readonly string[], opts: RunOptions): Promise<RunResult> {
  return runCommand(process.execPath, args, opts);
}

/** Runs `dlt args…` as a real child process with exactly the env given (plus PATH). */
export function runDlt(args: readonly string[], opts: RunOptions): Promise<RunResult> {
  return runNode([DLT_BIN, ...args], { ...opts, env: { PATH: process.env["PATH"], ...opts.env } });
}

/** A fresh user: HOME (with ~/.dlt), a project dir, a private TMPDIR, telemetry pointed at `endpoint`. */
export function freshUser(
  endpoint: string,
  extraEnv: NodeJS.ProcessEnv = {},
): {
  home: string;
  project: string;
  tmp: string;
  env: NodeJS.ProcessEnv;
} {
  const home = tempDir("dlt-home-");
  const project = tempDir("dlt-project-");
  const tmp = tempDir("dlt-tmp-");
  mkdirSync(join(home, ".dlt"), { recursive: true });
  return {
    home,
    project,
    tmp,
    env: { HOME: home, TMPDIR: tmp, RUNTIME__DLTHUB_TELEMETRY_ENDPOINT: endpoint, ...extraEnv },
  };
}

/** Removes a fresh user's folders (for `t.after`). */
export function removeUser(u: { home: string; project: string; tmp: string }): void {
  for (const d of [u.home, u.project, u.tmp]) rmSync(d, { recursive: true, force: true });
}
