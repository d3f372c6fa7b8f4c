#!/usr/bin/env node
// Runs every compiled test file with node's own test runner (TAP, whatever the Node version, for CI to read).
// Usage: node scripts/run-tests.mjs [substring … | file.test.mjs …] [--except substring …]
//   only files whose path contains one of the substrings (all when none), minus those containing an --except one;
//   an argument that is a test file is run as it is.
//
// Tests talk to loopback only: a request that would leave the machine goes to a dead proxy on 127.0.0.1 instead.
// The tests get a private TMPDIR for the run. Tests clean up what they create: anything still in it at the end
// is listed and fails the run (then it is removed, so a failed run leaves nothing behind either). The same goes
// for processes: one still running at the end whose working directory, command line or environment names that
// TMPDIR was started by a test and outlived it (Linux, where /proc tells); it is listed, killed, and fails the run.
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

const filters = [];
const except = [];
for (let i = 2; i < process.argv.length; i++) {
  if (process.argv[i] === "--except") except.push(process.argv[++i] ?? "");
  else filters.push(process.argv[i]);
}
const files = filters.filter((f) => /\.test\.m?js$/.test(f) && existsSync(f));
function walk(dir) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith(".test.js")) files.push(p);
  }
}
if (files.length === 0) for (const pkg of readdirSync("packages")) walk(join("packages", pkg, "dist", "test"));
const selected = files
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .filter((f) => !except.some((s) => s !== "" && f.includes(s)))
  .sort();
if (selected.length === 0) {
  console.error("no test files found (did `tsc -b` run?)");
  process.exit(1);
}

/** Processes (other than this one) that name `dir` in their cwd, command line or environment: pid and command line. */
function processesUsing(dir) {
  let pids;
  try {
    pids = readdirSync("/proc").filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid);
  } catch {
    return [];
  }
  const found = [];
  for (const pid of pids) {
    const read = (f) => {
      try {
        return f === "cwd" ? readlinkSync(`/proc/${pid}/cwd`) : readFileSync(`/proc/${pid}/${f}`, "latin1");
      } catch {
        return "";
      }
    };
    const cmdline = read("cmdline");
    if (cmdline === "") continue; // a zombie or a kernel thread
    if (read("cwd").startsWith(dir) || cmdline.includes(dir) || read("environ").includes(dir))
      found.push({ pid: Number(pid), cmdline: cmdline.replaceAll("\0", " ").trim() });
  }
  return found;
}

/** Waits up to `ms` for the processes a run left to end by themselves (a sender finishing its last delivery). */
function leftProcesses(dir, ms) {
  const deadline = Date.now() + ms;
  let left = processesUsing(dir);
  while (left.length > 0 && Date.now() < deadline) {
    spawnSync("sleep", ["0.2"]);
    left = processesUsing(dir);
  }
  return left;
}

const sandbox = mkdtempSync(join(tmpdir(), "dlt-ts-tests-"));
// Searchable by other users, as /tmp is: some tests run a process as another user (`nobody`, `postgres`).
chmodSync(sandbox, 0o755);
let status;
try {
  const r = spawnSync(process.execPath, ["--test", "--test-reporter=tap", "--test-concurrency=2", "--test-timeout=120000", ...selected], {
    stdio: "inherit",
    env: {
      ...process.env,
      TMPDIR: sandbox,
      HTTPS_PROXY: "http://127.0.0.1:9",
      HTTP_PROXY: "http://127.0.0.1:9",
      NO_PROXY: "127.0.0.1,localhost,::1",
    },
  });
  status = r.status ?? 1;
  const stray = leftProcesses(sandbox, 5_000);
  if (stray.length > 0) {
    console.error(`\n# tests left ${stray.length} processes running (a test stops what it starts, its whole process group on timeout):`);
    for (const p of stray) {
      console.error(`#   ${p.pid} ${p.cmdline.slice(0, 200)}`);
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {
        /* gone meanwhile */
      }
    }
    status ||= 1;
  }
  const left = readdirSync(sandbox);
  if (left.length > 0) {
    console.error(`\n# tests left ${left.length} entries in their TMPDIR (each test removes what it creates):`);
    for (const name of left.sort().slice(0, 40)) console.error(`#   ${name}`);
    if (left.length > 40) console.error(`#   … and ${left.length - 40} more`);
    status ||= 1;
  }
} finally {
  rmSync(sandbox, { recursive: true, force: true });
}
process.exit(status);
