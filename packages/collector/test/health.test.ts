// Health that tells the truth: a database that cannot be written fails the start (exit 1, one line naming the file
// and the cause); a failure at run time is logged once per cause with a count, `/health` says 503 with the cause
// while it lasts and 200 again once the store recovers. Real child processes, real files; a full disk is played by
// lowering the running collector's file-size limit (RLIMIT_FSIZE, with util-linux's `prlimit`), which makes writes
// fail with EFBIG the way a full disk fails them with ENOSPC, and can be lifted again.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, copyFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StoreHealth } from "../src/health.js";
import { startCollector } from "../src/index.js";
import { withoutPrivileges } from "@dlt-ts/telemetry/testing";
import { COLLECTOR_BIN, dltEvent, exited, pollUntil, post, startChild, tempDb, tempDir } from "./helpers.js";

test("StoreHealth logs an episode once when it starts, sums its causes up with counts on recovery, and probes only while failing", async () => {
  const lines: string[] = [];
  let probeFails = true;
  let probes = 0;
  const h = new StoreHealth(
    async () => {
      probes++;
      if (probeFails) throw new Error('IO Error: Could not write file "/var/lib/x/db.wal":\n No space left on device');
    },
    (l) => lines.push(l),
    { probeEveryMs: 0 },
  );
  assert.equal(await h.check(), undefined);
  assert.equal(probes, 0, "a healthy store is not probed");
  for (let i = 0; i < 50; i++) h.failed(new Error("disk full"));
  h.failed(new Error("database is locked"));
  h.failed(new Error("disk full"));
  assert.deepEqual(lines, ["storage failing: disk full"], "one line when failing starts, whatever the causes");
  assert.equal(h.failing, "disk full");
  // While failing, /health probes: still failing, with the probe's cause (one line, whitespace folded).
  assert.equal(await h.check(), 'IO Error: Could not write file "/var/lib/x/db.wal": No space left on device');
  probeFails = false;
  assert.equal(await h.check(), undefined);
  assert.equal(lines.length, 2);
  assert.match(lines[1]!, /^storage recovered after [\d.]+ s; failed writes: 51 × disk full; 1 × database is locked; 1 × IO Error/);
});

/** Runs `dlt-collector` to its exit with file permissions in force (root writes through permission bits). */
function runToExit(args: string[]): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const [command, argv] = withoutPrivileges(process.execPath, [COLLECTOR_BIN, ...args]);
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { env: { PATH: process.env["PATH"], TMPDIR: tmpdir() }, stdio: ["ignore", "pipe", "pipe"], cwd: "/" });
    let stderr = "";
    let stdout = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.on("error", reject);
    // A collector that did start after all is stopped, so the test fails on its exit code instead of hanging.
    const stop = setTimeout(() => child.kill("SIGTERM"), 15_000);
    child.on("exit", (code) => {
      clearTimeout(stop);
      resolve({ code, stderr, stdout });
    });
  });
}

/** A database (with `events` events in it), closed; it and its directory open to anyone. */
async function closedDb(events = 0): Promise<string> {
  const dir = tempDir();
  chmodSync(dir, 0o777);
  const db = join(dir, "events.duckdb");
  const c = await startCollector({ port: 0, dbPath: db, dashboard: false });
  try {
    for (let i = 0; i < events; i += 500)
      assert.equal((await post(c.url, "/v1/batch", { batch: Array.from({ length: 500 }, () => dltEvent()) })).status, 200);
  } finally {
    await c.close();
  }
  chmodSync(db, 0o666);
  return db;
}

function assertOneLineNaming(r: { code: number | null; stderr: string; stdout: string }, db: string, cause: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, "", "it never said it was listening");
  const lines = r.stderr.split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 1, r.stderr);
  assert.ok(lines[0]!.startsWith(`dlt-collector: cannot write the database ${db}: `), lines[0]);
  assert.match(lines[0]!, cause);
}

test("a truncated database fails the start: exit 1, one line naming the file and the cause", async () => {
  const db = await closedDb(2000);
  // Cut short at the end: the file still opens and its table is found; only writing to it fails.
  const cut = join(tempDir(), "cut.duckdb");
  copyFileSync(db, cut);
  truncateSync(cut, statSync(cut).size - 4096);
  chmodSync(cut, 0o666);
  chmodSync(join(cut, ".."), 0o777);
  assertOneLineNaming(await runToExit(["--port", "0", "--db", cut]), cut, /Could not read enough bytes/);
  // Not a database at all.
  const junk = join(tempDir(), "junk.duckdb");
  writeFileSync(junk, "not a database");
  chmodSync(junk, 0o666);
  chmodSync(join(junk, ".."), 0o777);
  assertOneLineNaming(await runToExit(["--port", "0", "--db", junk]), junk, /not a valid DuckDB database file/);
});

test("a read-only database file, or a database in a read-only directory, fails the start the same way", async () => {
  const file = await closedDb();
  chmodSync(file, 0o444);
  assertOneLineNaming(await runToExit(["--port", "0", "--db", file]), file, /Permission denied/);
  const inDir = await closedDb();
  chmodSync(join(inDir, ".."), 0o555);
  assertOneLineNaming(await runToExit(["--port", "0", "--db", inDir]), inDir, /Permission denied|EACCES/);
  chmodSync(join(inDir, ".."), 0o777);
});

test("a storage failure at run time: 503s, logged once with a count, /health 503 with the cause, then recovery", async () => {
  const db = tempDb();
  const { child, url, stderr } = await startChild(["--port", "0", "--db", db]);
  const fsize = (limit: string): void => void execFileSync("prlimit", ["--pid", String(child.pid), `--fsize=${limit}:unlimited`]);
  try {
    assert.equal((await post(url, "/", dltEvent())).status, 200);
    assert.deepEqual((await post(url, "/health", undefined, { method: "GET" })).json, { ok: true });
    fsize("1"); // the disk is "full": no file may grow past one byte
    for (let i = 0; i < 5; i++) {
      const r = await post(url, "/", dltEvent());
      assert.equal(r.status, 503);
      assert.equal(r.headers["retry-after"], "5");
    }
    const sick = await post(url, "/health", undefined, { method: "GET" });
    assert.equal(sick.status, 503);
    assert.equal(sick.json["ok"], false);
    assert.match(String(sick.json["store"]), /EFBIG|File too large/i);
    assert.doesNotMatch(String(sick.json["store"]), /\//, "no paths of the host in a public answer");
    const failing = stderr()
      .split("\n")
      .filter((l) => /storage/.test(l));
    assert.equal(failing.length, 1, `one line for one cause, not one per request: ${stderr()}`);
    assert.match(failing[0]!, /^dlt-collector: storage failing: .*(EFBIG|File too large)/i);

    fsize("unlimited"); // space again: /health sees it without waiting for traffic
    const well = await pollUntil(
      () => post(url, "/health", undefined, { method: "GET" }),
      (r) => r.status === 200,
      10_000,
    );
    assert.deepEqual([well.status, well.json], [200, { ok: true }]);
    const recovered = /storage recovered after [\d.]+ s; failed writes: (\d+) × .*(EFBIG|File too large)/i.exec(stderr());
    assert.ok(recovered, stderr());
    assert.ok(Number(recovered[1]) >= 5, `counted ${recovered[1]} failed writes`);
    const e = dltEvent();
    assert.equal((await post(url, "/", e)).status, 200);
  } finally {
    child.kill("SIGTERM");
  }
  assert.equal(await exited(child), 0);
});
