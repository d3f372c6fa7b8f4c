// Files in the data dir cannot be turned against the user: no write goes through a link planted there, files are
// private, and the spool's caps read sizes from the files themselves.
import { describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTelemetry } from "../src/index.js";
import { readBounded } from "../src/files.js";
import { countDropped, enforceLimits, listSpool } from "../src/spool.js";
import { recordFailure, readBreaker } from "../src/breaker.js";
import { testHost } from "./options.js";
import { alive, hostEnv, runHost, sendersMentioning, until } from "./fixtures/run-host.js";

/** A data dir with its telemetry folder, and a file of the user's that a planted link points to. */
function plantedDir(t: TestContext): { dataDir: string; tdir: string; victim: string } {
  const root = mkdtempSync(join(tmpdir(), "tel-datadir-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dataDir = join(root, ".acme");
  const tdir = join(dataDir, "telemetry");
  mkdirSync(tdir, { recursive: true });
  const victim = join(root, "precious.txt");
  writeFileSync(victim, "the user's own file\n");
  return { dataDir, tdir, victim };
}

/** A failure recorded with a link planted at the breaker's old, predictable temp file name. */
function breakerRecordedPastLink(t: TestContext): ReturnType<typeof plantedDir> {
  const d = plantedDir(t);
  symlinkSync(d.victim, join(d.tdir, `breaker.json.${process.pid}.tmp`));
  recordFailure(d.dataDir, { threshold: 5, baseMs: 1000, maxMs: 1000 });
  return d;
}

describe("a link planted in the data dir is never written through", () => {
  test("dropped.log is never appended through a symlink", (t) => {
    const d = plantedDir(t);
    symlinkSync(d.victim, join(d.tdir, "dropped.log"));
    countDropped(d.dataDir, 3);
    assert.equal(readFileSync(d.victim, "utf8"), "the user's own file\n");
  });

  test("the notice file is created exclusively: a planted link is not written through", (t) => {
    const h = testHost();
    t.after(h.cleanup);
    mkdirSync(join(h.home, ".acme"));
    const victim = join(h.home, "precious.txt");
    writeFileSync(victim, "mine\n");
    symlinkSync(victim, join(h.home, ".acme", "telemetry-notice-shown"));
    const telemetry = createTelemetry(h.options);
    telemetry.markNoticeShown();
    assert.equal(readFileSync(victim, "utf8"), "mine\n");
  });

  test("dropped.log is not written into a telemetry folder that is a link", (t) => {
    const d = plantedDir(t);
    const elsewhere = join(d.dataDir, "..", "elsewhere");
    mkdirSync(elsewhere);
    rmSync(d.tdir, { recursive: true });
    symlinkSync(elsewhere, d.tdir);
    countDropped(d.dataDir, 3);
    assert.deepEqual(readdirSync(elsewhere), []);
  });

  test("a planted link in the spool is removed, its target untouched", (t) => {
    const d = plantedDir(t);
    const spool = join(d.tdir, "spool");
    mkdirSync(spool);
    symlinkSync(d.victim, join(spool, `${Date.now()}-cccc-20.json`));
    assert.deepEqual(listSpool(spool), []);
    assert.deepEqual(readdirSync(spool), []);
    assert.equal(readFileSync(d.victim, "utf8"), "the user's own file\n");
  });

  for (const linked of ["telemetry", join("telemetry", "spool")]) {
    test(`a data-dir folder that is a link (${linked}) is not used: nothing is written where it points`, async (t) => {
      const h = hostEnv("http://127.0.0.1:9");
      const elsewhere = join(h.home, "elsewhere");
      mkdirSync(elsewhere);
      mkdirSync(join(h.dataDir, linked, ".."), { recursive: true });
      symlinkSync(elsewhere, join(h.dataDir, linked));
      t.after(() => rmSync(h.home, { recursive: true, force: true }));
      const r = await runHost(["2"], h.env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, "");
      // The breaker, the lock and the spool all refuse it: no sender writes there either, while it runs or after.
      const senders = sendersMentioning(h.tmp, h.home);
      await until(() => senders.every((pid) => !alive(pid)), 20_000, "the sender to exit");
      assert.deepEqual(readdirSync(elsewhere), []);
      assert.deepEqual(listSpool(join(h.dataDir, "telemetry", "spool")), [], "a linked spool is never read");
    });
  }

  test("the breaker's temp file: a link at the predictable old name is not written through", (t) => {
    const d = breakerRecordedPastLink(t);
    assert.equal(readFileSync(d.victim, "utf8"), "the user's own file\n");
    assert.equal(readBreaker(d.dataDir).failures, 1);
    assert.deepEqual(
      readdirSync(d.tdir).filter((f) => f.endsWith(".tmp") && !f.includes(String(process.pid))),
      [],
      "no temp file left",
    );
  });
});

describe("the files are private", () => {
  test("the library creates the data dir 0700 and its files 0600", (t) => {
    const h = testHost();
    t.after(h.cleanup);
    createTelemetry(h.options).markNoticeShown();
    assert.equal(statSync(join(h.home, ".acme")).mode & 0o777, 0o700);
    assert.equal(statSync(join(h.home, ".acme", "telemetry-notice-shown")).mode & 0o777, 0o600);
  });

  test("breaker.json is 0600", (t) => {
    const d = breakerRecordedPastLink(t);
    assert.equal(statSync(join(d.tdir, "breaker.json")).mode & 0o777, 0o600);
  });
});

describe("sizes are read from the files themselves", () => {
  /** A spool holding a file named as 1 byte that holds 3 MB, and a link to /dev/zero named as a spool file. */
  function misleadingSpool(t: TestContext): { dataDir: string; spool: string } {
    const d = plantedDir(t);
    const spool = join(d.tdir, "spool");
    mkdirSync(spool);
    // Named as 1 byte, holding 3 MB.
    writeFileSync(
      join(spool, `${Date.now() - 1000}-aaaa-1.json`),
      JSON.stringify({ url: "http://127.0.0.1:9", messages: ["x".repeat(3 * 1024 * 1024)] }),
    );
    symlinkSync("/dev/zero", join(spool, `${Date.now()}-bbbb-1.json`));
    return { dataDir: d.dataDir, spool };
  }

  test("a spool file's size comes from the file, not its name: the byte cap removes it", (t) => {
    const { dataDir, spool } = misleadingSpool(t);
    const listed = listSpool(spool);
    assert.ok(listed[0]!.bytes > 3 * 1024 * 1024);
    enforceLimits(dataDir, { maxFiles: 100, maxBytes: 1024 * 1024, maxAgeMs: 3600_000 });
    assert.deepEqual(listSpool(spool), [], "the oversized file went by the byte cap");
  });

  test("links and other non-files are not spool files: removed, and what they point to left alone", (t) => {
    const { dataDir, spool } = misleadingSpool(t);
    const listed = listSpool(spool);
    assert.equal(listed.length, 1);
    enforceLimits(dataDir, { maxFiles: 100, maxBytes: 1024 * 1024, maxAgeMs: 3600_000 });
    // The link will never be sent: it is removed, and what it pointed to is left alone.
    assert.deepEqual(readdirSync(spool), []);
    assert.ok(lstatSync("/dev/zero").isCharacterDevice());
  });

  test("bounded reads still read /proc files, which report a size of 0", () => {
    if (process.platform !== "linux") return;
    const r = readBounded("/proc/self/stat", { maxBytes: 4096, followSymlinks: true });
    assert.equal(r.kind, "text");
    assert.match(r.kind === "text" ? r.text : "", new RegExp(`^${process.pid} `));
  });
});
