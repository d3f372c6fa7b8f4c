// The collector on PostgreSQL keeps issue 16's contract: while the database is down or too slow, requests get 503 +
// Retry-After (never a hang, never a 200 for an event that is not stored), the failure is logged once with its cause
// and /health says it; when the database is back the collector recovers without a restart, and says so.
import { test } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { startCollector, type Collector, type CollectorOptions } from "../src/index.js";
import { PostgresStore, type PostgresOptions } from "../src/store/postgres.js";
import { apiAnswer, get } from "./dashboard-client.js";
import { dltEvent, exited, pollUntil, post, startChild } from "./helpers.js";
import { testPostgres } from "./postgres-server.js";

test("the database goes down and comes back: 503 + Retry-After, one log line and /health 503 meanwhile, then 200 without a restart", async () => {
  // Its own embedded server even when DLT_TEST_PG_URL is set: this test stops it.
  const server = await testPostgres({ embedded: true });
  try {
    const db = await server.database();
    const { child, url, stderr } = await startChild(["--port", "0", "--db", db, "--no-dashboard"]);
    try {
      const stored = dltEvent();
      assert.equal((await post(url, "/", stored)).status, 200);
      await server.stop();
      for (let i = 0; i < 5; i++) {
        const r = await post(url, "/", dltEvent());
        assert.equal(r.status, 503, r.text);
        assert.equal(r.headers["retry-after"], "5");
      }
      const sick = await post(url, "/health", undefined, { method: "GET" });
      assert.equal(sick.status, 503);
      assert.equal(sick.json["ok"], false);
      assert.match(String(sick.json["store"]), /ECONNREFUSED|terminat|connect/i);
      const failing = stderr()
        .split("\n")
        .filter((l) => /storage/.test(l));
      assert.ok(failing.length >= 1 && failing.length <= 2, `a line per distinct cause, not one per request: ${stderr()}`);
      assert.doesNotMatch(stderr(), /pg-test-secret/, "the password is never logged");

      await server.start();
      const well = await pollUntil(
        () => post(url, "/health", undefined, { method: "GET" }),
        (r) => r.status === 200,
        15_000,
      );
      assert.deepEqual([well.status, well.json], [200, { ok: true }]);
      assert.match(stderr(), /storage recovered after [\d.]+ s; failed writes: \d+ ×/);
      const after = dltEvent();
      assert.equal((await post(url, "/", after)).status, 200);
      const check = new pg.Client({ connectionString: db });
      await check.connect();
      try {
        const r = await check.query("SELECT count(*)::int AS n FROM events WHERE message_id = ANY($1)", [[stored["messageId"], after["messageId"]]]);
        assert.equal(r.rows[0].n, 2);
      } finally {
        await check.end();
      }
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal(await exited(child), 0);
  } finally {
    await server.close();
  }
});

/**
 * A collector on a database of its own, and a second connection (`locker`) that can hold a lock the collector's
 * statements wait behind; everything is closed after `body`.
 */
async function withLocker(
  storeOptions: PostgresOptions,
  collectorOptions: Omit<CollectorOptions, "store">,
  body: (c: Collector, locker: pg.Client) => Promise<void>,
): Promise<void> {
  const server = await testPostgres();
  try {
    const db = await server.database();
    const store = await PostgresStore.open(db, storeOptions);
    const c = await startCollector({ ...collectorOptions, store });
    const locker = new pg.Client({ connectionString: db });
    await locker.connect();
    try {
      await body(c, locker);
    } finally {
      await locker.end();
      await c.close();
    }
  } finally {
    await server.close();
  }
}

test("a database too slow to answer (a lock held elsewhere): 503 after the statement timeout, then 200 once it is free", async () => {
  const logged: string[] = [];
  await withLocker({ statementTimeoutMs: 500 }, { port: 0, dashboard: false, log: (l) => logged.push(l) }, async (c, locker) => {
    await locker.query("BEGIN");
    await locker.query("LOCK TABLE event_ids IN ACCESS EXCLUSIVE MODE");
    const started = Date.now();
    const r = await post(c.url, "/", dltEvent());
    assert.equal(r.status, 503);
    assert.equal(r.headers["retry-after"], "5");
    assert.ok(Date.now() - started < 5_000, "bounded by the statement timeout");
    assert.match(logged.join("\n"), /storage failing: .*statement timeout/);
    await locker.query("ROLLBACK");
    assert.equal((await post(c.url, "/", dltEvent())).status, 200);
  });
});

test("a dashboard query the database does not answer in time: 503 with the reason after the dashboard's own timeout, then answers", async () => {
  // Writes keep their 10 s; the dashboard gets its own bound (60 s by default, 300 ms here).
  await withLocker({ dashboardTimeoutMs: 300 }, { port: 0, log: () => undefined }, async (c, locker) => {
    assert.equal((await post(c.url, "/", dltEvent())).status, 200);
    await locker.query("BEGIN");
    await locker.query("LOCK TABLE events IN ACCESS EXCLUSIVE MODE");
    const started = Date.now();
    const r = await get(`${c.url}/api/summary`);
    assert.equal(r.status, 503, r.text);
    assert.match(String((JSON.parse(r.text) as { error: string }).error), /^the store did not answer: .*statement timeout/);
    assert.ok(Date.now() - started < 5_000, "bounded by the dashboard's timeout, not the write's 10 s");
    await locker.query("ROLLBACK");
    assert.equal((await apiAnswer(c.url, "summary")).rows.length, 1);
  });
});

test("a database that cannot be reached fails the start: one line naming it (without its password), exit 1", async () => {
  const server = await testPostgres({ embedded: true });
  const db = await server.database();
  await server.close();
  const r = await startChild(["--port", "0", "--db", db]).then(
    () => assert.fail("started"),
    (e: Error) => e.message,
  );
  assert.match(
    r,
    /exited with 1: dlt-collector: cannot write the database postgres:\/\/dlt_test:\*\*\*@127\.0\.0\.1:\d+\/dlt_test_\w+: .*ECONNREFUSED/,
  );
  assert.doesNotMatch(r, /pg-test-secret/);
});
