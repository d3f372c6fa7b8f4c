// Offline users stop paying: the spool, the circuit breaker, and the supervised sender — all with real host
// processes, real detached senders and a real loopback endpoint.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { startFakeCollector } from "../src/testing.js";
import { droppedCount } from "../src/spool.js";
import { alive, hostEnv, lockPid, runHost, sendersMentioning, spoolFiles, until } from "./fixtures/run-host.js";

const breakerOf = (dataDir: string): { failures: number; openUntil: number } => {
  try {
    return JSON.parse(readFileSync(join(dataDir, "telemetry", "breaker.json"), "utf8")) as { failures: number; openUntil: number };
  } catch {
    return { failures: 0, openUntil: 0 };
  }
};

describe("the spool", () => {
  // These two tests share one host, in order: the second delivers what the first one's offline runs left waiting.
  describe("offline, then the endpoint back, in order", () => {
    let port = 0;
    let h: ReturnType<typeof hostEnv>;
    before(async () => {
      const probe = await startFakeCollector();
      port = Number(new URL(probe.url).port);
      await probe.close(); // now the endpoint refuses
      h = hostEnv(probe.url);
    });

    test("offline, events wait in the spool, in files only the user can read (mode 0600)", async () => {
      const env = { ...h.env, HOST_SENDER_LIFETIME_MS: "800", HOST_BREAKER_THRESHOLD: "100" };
      for (let i = 0; i < 3; i++) {
        const r = await runHost(["1"], env);
        assert.equal(r.code, 0);
      }
      // Every sender has given up (no lock) and every event waits in the spool.
      await until(
        () => lockPid(h.dataDir) === undefined && spoolFiles(h.spool).length >= 1 && breakerOf(h.dataDir).failures >= 1,
        15_000,
        "senders to give up",
      );
      await until(
        () => lockPid(h.dataDir) === undefined && !readdirSync(h.spool).some((f) => f.includes(".claimed-")),
        15_000,
        "claims to be released",
      );
      for (const f of spoolFiles(h.spool)) assert.equal(statSync(join(h.spool, f)).mode & 0o777, 0o600);
      const waiting = spoolFiles(h.spool)
        .map((f) => (JSON.parse(readFileSync(join(h.spool, f), "utf8")) as { messages: string[] }).messages.length)
        .reduce((a, b) => a + b, 0);
      assert.equal(waiting, 3);
    });

    test("when the endpoint is back, a later run delivers them all, once, and closes the breaker", async () => {
      const rx = await startFakeCollector("ok", { port });
      try {
        const r = await runHost(["1"], h.env);
        assert.equal(r.code, 0);
        const events = await rx.waitForEvents(4);
        await until(() => spoolFiles(h.spool).length === 0 && lockPid(h.dataDir) === undefined, 15_000, "the spool to drain");
        const ids = events.map((e) => e["messageId"]);
        assert.equal(new Set(ids).size, 4, "no event twice");
        assert.equal(rx.events.length, 4);
        assert.equal(breakerOf(h.dataDir).failures, 0, "a delivery closes the breaker");
        assert.deepEqual(readdirSync(h.tmp), []);
      } finally {
        await rx.close();
      }
    });
  });

  test("the spool is capped: the oldest files go and every dropped event is counted", async () => {
    const h = hostEnv("http://127.0.0.1:9");
    mkdirSync(join(h.dataDir, "telemetry"), { recursive: true });
    // An open breaker: nothing is sent, files only accumulate.
    writeFileSync(join(h.dataDir, "telemetry", "breaker.json"), JSON.stringify({ failures: 5, openUntil: Date.now() + 3600_000 }));
    for (let i = 0; i < 5; i++) {
      const r = await runHost(["2"], { ...h.env, HOST_SPOOL_MAX_FILES: "2", HOST_REPORT: "1" });
      assert.equal(JSON.parse(r.stdout).lastHandOff, "breaker-open");
    }
    assert.equal(spoolFiles(h.spool).length, 2);
    assert.equal(droppedCount(h.dataDir), 6);
  });
});

// These tests share one host and one endpoint, in order: the breaker opens, holds, then closes.
describe("the breaker, in order", () => {
  let rx: Awaited<ReturnType<typeof startFakeCollector>>;
  let h: ReturnType<typeof hostEnv>;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    rx = await startFakeCollector("5xx");
    h = hostEnv(rx.url);
    env = { ...h.env, HOST_SENDER_LIFETIME_MS: "600", HOST_REPORT: "1" };
  });
  after(() => rx.close());

  test("after repeated failures it opens for about an hour", async () => {
    for (let i = 1; i <= 2; i++) {
      const r = await runHost(["1"], env);
      assert.equal(JSON.parse(r.stdout).lastHandOff, "spawned");
      await until(() => breakerOf(h.dataDir).failures === i && lockPid(h.dataDir) === undefined, 15_000, `failure ${i} recorded`);
    }
    const b = breakerOf(h.dataDir);
    assert.ok(b.openUntil > Date.now() + 30 * 60_000, "open for about an hour");
  });

  test("while it is open, no sender starts and no socket opens: the events wait in the spool", async () => {
    rx.setMode("ok");
    const connectionsBefore = rx.connections;
    const r = await runHost(["1"], env);
    assert.equal(JSON.parse(r.stdout).lastHandOff, "breaker-open");
    assert.equal(rx.connections, connectionsBefore);
    assert.equal(spoolFiles(h.spool).length >= 1, true);
  });

  test("once it closes, delivery resumes with what waited", async () => {
    const b = breakerOf(h.dataDir);
    // Time passes: the open period is over.
    writeFileSync(join(h.dataDir, "telemetry", "breaker.json"), JSON.stringify({ ...b, openUntil: Date.now() - 1 }));
    const again = await runHost(["1"], env);
    assert.equal(JSON.parse(again.stdout).lastHandOff, "spawned");
    await rx.waitForEvents(4);
    await until(() => breakerOf(h.dataDir).failures === 0 && spoolFiles(h.spool).length === 0, 15_000, "the breaker to close");
  });
});

describe("the supervised sender", () => {
  test("against a hanging endpoint it runs in the temp dir without NODE_OPTIONS, and exits by itself at its lifetime", async () => {
    const rx = await startFakeCollector("hang");
    try {
      const h = hostEnv(rx.url);
      const marker = join(h.home, "loaded-by.txt");
      const preload = join(h.home, "preload.cjs");
      writeFileSync(preload, `require("fs").appendFileSync(${JSON.stringify(marker)}, process.pid + "\\n");`);
      const lifetime = 1500;
      const r = await runHost(["1"], { ...h.env, HOST_SENDER_LIFETIME_MS: String(lifetime), NODE_OPTIONS: `--require ${preload}` });
      assert.equal(r.code, 0);
      await rx.waitForRequests(1);
      const pid = lockPid(h.dataDir);
      assert.ok(pid !== undefined && alive(pid), "the sender holds the lock while it works");
      assert.equal(readlinkSync(`/proc/${pid}/cwd`), h.tmp);
      assert.ok(!readFileSync(`/proc/${pid}/environ`, "utf8").includes("NODE_OPTIONS"));
      assert.equal(readFileSync(marker, "utf8").trim().split("\n").length, 1, "only the host loaded the host's preload");
      const seen = Date.now();
      await until(() => !alive(pid), lifetime + 5000, "the sender to exit");
      assert.ok(Date.now() - seen <= lifetime + 1000, "gone within its lifetime");
      assert.equal(lockPid(h.dataDir), undefined);
      assert.equal(spoolFiles(h.spool).length, 1, "the undelivered event waits in the spool");
      assert.deepEqual(readdirSync(h.tmp), [], "no temp file left behind");
    } finally {
      await rx.close();
    }
  });

  test("503 then 200: delivered once, the sender gone, nothing left behind", async () => {
    const rx = await startFakeCollector((_r, i) => (i < 2 ? 503 : 200));
    try {
      const h = hostEnv(rx.url);
      await runHost(["2"], h.env);
      const events = await rx.waitForEvents(2);
      assert.equal(new Set(events.map((e) => e["messageId"])).size, 2);
      await until(() => lockPid(h.dataDir) === undefined, 10_000, "the sender to finish");
      assert.deepEqual(spoolFiles(h.spool), []);
      assert.deepEqual(readdirSync(h.tmp), []);
      assert.deepEqual(
        rx.requests.map((q) => q.status),
        [503, 503, 200],
      );
    } finally {
      await rx.close();
    }
  });

  test("a crashed sender cannot hold the lock: a dead pid's lock is broken", async () => {
    const rx = await startFakeCollector();
    try {
      const h = hostEnv(rx.url);
      mkdirSync(join(h.dataDir, "telemetry"), { recursive: true });
      const dead = await runHost(["0"], { ...h.env, RUNTIME__TELEMETRY: "false" });
      assert.equal(dead.code, 0);
      // A pid that surely is not running any more: far above pid_max's default range is not portable, so use a
      // process we ran and saw exit.
      writeFileSync(join(h.dataDir, "telemetry", "sender.lock"), JSON.stringify({ pid: 2 ** 22 + 7, started: Date.now() }));
      await runHost(["1"], h.env);
      await rx.waitForEvents(1);
    } finally {
      await rx.close();
    }
  });

  test("many hosts exiting at once: every event arrives exactly once", async () => {
    const rx = await startFakeCollector();
    try {
      const h = hostEnv(rx.url);
      await Promise.all(Array.from({ length: 8 }, () => runHost(["2"], h.env)));
      const events = await rx.waitForEvents(16);
      await until(() => lockPid(h.dataDir) === undefined && spoolFiles(h.spool).length === 0, 15_000, "the spool to drain");
      assert.equal(rx.events.length, 16);
      assert.equal(new Set(events.map((e) => e["messageId"])).size, 16);
    } finally {
      await rx.close();
    }
  });
});

describe("folders that cannot be written", () => {
  test("a data dir that cannot be written: 15 runs against a dead endpoint leave at most one sender alive", async (t) => {
    const rx = await startFakeCollector("refuse");
    const h = hostEnv(rx.url);
    t.after(async () => {
      await until(() => sendersMentioning(h.tmp, h.home).length === 0, 15_000, "the senders to exit");
      rmSync(h.home, { recursive: true, force: true });
      rmSync(h.tmp, { recursive: true, force: true });
    });
    // Read-only for the host (which runs with file permissions in force, even as root).
    mkdirSync(h.dataDir);
    chmodSync(h.dataDir, 0o500);
    const env = { ...h.env, HOST_SENDER_LIFETIME_MS: "2000", HOST_REPORT: "1" };
    let most = 0;
    const results: string[] = [];
    for (let i = 0; i < 15; i++) {
      const r = await runHost(["1"], env, true);
      assert.equal(r.code, 0, r.stderr);
      results.push((JSON.parse(r.stdout) as { lastHandOff: string }).lastHandOff);
      most = Math.max(most, sendersMentioning(h.tmp, h.home).length);
    }
    assert.ok(most <= 1, `at most one sender alive at a time, saw ${most} (${results.join(" ")})`);
    assert.deepEqual(readdirSync(h.dataDir), [], "nothing was written into the read-only data dir");
    // The events wait in this user's private folder in the temp dir, with its one lock and breaker.
    const fallback = readdirSync(h.tmp).filter((f) => f.startsWith("acme-telemetry-"));
    assert.equal(fallback.length, 1);
    assert.equal(statSync(join(h.tmp, fallback[0]!)).mode & 0o777, 0o700);
    // Every event was kept for a sender (or, once two senders have failed, behind the open breaker): none dropped.
    assert.ok(
      results.every((x) => x !== "failed"),
      results.join(" "),
    );
  });

  test("neither the data dir nor the temp dir can be written: no sender starts, the events are counted as dropped", async (t) => {
    const h = hostEnv("http://127.0.0.1:9");
    t.after(() => {
      rmSync(h.home, { recursive: true, force: true });
      rmSync(h.tmp, { recursive: true, force: true });
    });
    mkdirSync(h.dataDir);
    chmodSync(h.dataDir, 0o500);
    chmodSync(h.tmp, 0o500);
    const r = await runHost(["2"], { ...h.env, HOST_REPORT: "1" }, true);
    assert.equal(r.code, 0, r.stderr);
    const stats = JSON.parse(r.stdout) as { lastHandOff: string; dropped: number };
    assert.deepEqual([stats.lastHandOff, stats.dropped], ["failed", 2]);
    assert.deepEqual(sendersMentioning(h.tmp, h.home), []);
  });
});
