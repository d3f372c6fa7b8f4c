import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir } from "@dlt-ts/telemetry/testing";

/** The `dlt` executable of this checkout. */
export const DLT_BIN = fileURLToPath(new URL("../../bin/dlt.js", import.meta.url));

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node args…` as a real child process (asynchronously: a server in the test process keeps serving). */
export function runNode(args: readonly string[], opts: { env: NodeJS.ProcessEnv; cwd: string }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs `dlt args…` as a real child process with exactly the env given (plus PATH). */
export function runDlt(args: readonly string[], opts: { env: NodeJS.ProcessEnv; cwd: string }): Promise<RunResult> {
  return runNode([DLT_BIN, ...args], { cwd: opts.cwd, env: { PATH: process.env["PATH"], ...opts.env } });
}

/** A fresh user: HOME (with ~/.dlt), a project dir, a private TMPDIR, telemetry pointed at `endpoint`. */
export function freshUser(endpoint: string, extraEnv: NodeJS.ProcessEnv = {}): {
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
