// The collector's own lines and files, as an operator meets them: start-up names the store and the retention, a
// stop says what it did, a generated read token is kept beside the database (so bookmarks survive a restart), a
// failed start leaves no new database behind, and a PostgreSQL URL with sslmode=require fails with one line.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, statSync } from "node:fs";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { startCollector } from "../src/index.js";
import { COLLECTOR_BIN, exited, pollUntil, startChild, tempDb } from "./helpers.js";

describe("what an operator reads", () => {
  test("start-up names the store, the retention and where the read token is kept, and a stop says it drained", async () => {
    const db = tempDb();
    const { child, stdout, stderr } = await startChild(["--port", "0", "--db", db, "--retain-days", "30", "--write-key", "ci=k"]);
    await pollUntil(stdout, (o) => o.includes("store: "), 10_000);
    assert.match(stdout(), new RegExp(`\\nstore: DuckDB ${db.replaceAll(".", "\\.")} \\(events kept 30 days\\)\\n`));
    assert.match(stdout(), new RegExp(`\\nread token: kept in ${db.replaceAll(".", "\\.")}\\.read-token \\(the same at every start\\)\\n`));
    child.kill("SIGTERM");
    assert.equal(await exited(child), 0);
    assert.match(stderr(), /dlt-collector: stopping: no new connections; serving the requests under way\n/);
    assert.match(stderr(), /dlt-collector: stopped after \d+ s: [\d,]+ commits, every event answered 200 is stored\n$/);
  });
});

describe("the read token kept beside the database", () => {
  const tokenOf = (url: string | undefined): string => new URL(url!).searchParams.get("token") ?? "";

  test("a generated token is kept in <db>.read-token (0600) and the same after a restart", async () => {
    const db = tempDb();
    const first = await startCollector({ port: 0, db, writeKeys: ["k"] });
    const token = tokenOf(first.dashboardUrl);
    await first.close();
    assert.equal(statSync(`${db}.read-token`).mode & 0o777, 0o600);
    const second = await startCollector({ port: 0, db, writeKeys: ["k"] });
    assert.equal(tokenOf(second.dashboardUrl), token, "the same token after a restart");
    await second.close();
  });

  test("a token file others can read is not trusted: a new token, not kept", async () => {
    const db = tempDb();
    const first = await startCollector({ port: 0, db, writeKeys: ["k"] });
    const token = tokenOf(first.dashboardUrl);
    await first.close();
    chmodSync(`${db}.read-token`, 0o644);
    const third = await startCollector({ port: 0, db, writeKeys: ["k"] });
    assert.notEqual(tokenOf(third.dashboardUrl), token, "a file others can read may have been read: not trusted");
    assert.equal(third.readTokenFile, undefined);
    await third.close();
  });

  test("a token given by the operator is not written anywhere", async () => {
    const db2 = tempDb();
    const given = await startCollector({ port: 0, db: db2, writeKeys: ["k"], readToken: "given-token-value" });
    await given.close();
    assert.equal(existsSync(`${db2}.read-token`), false);
  });
});

test("a port in use stops the start with one line and leaves no new database file", async (t) => {
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
  t.after(() => busy.close());
  const port = (busy.address() as AddressInfo).port;
  const db = tempDb();
  const r = spawnSync(process.execPath, [COLLECTOR_BIN, "--port", String(port), "--db", db, "--write-key", "k"], {
    encoding: "utf8",
    env: { PATH: process.env["PATH"] },
    timeout: 30_000,
  });
  assert.equal(r.status, 1, r.stdout);
  assert.match(r.stderr, /EADDRINUSE/);
  assert.equal(existsSync(db), false, "no database made by the failed start");
  assert.equal(existsSync(`${db}.read-token`), false);
  // A database that was there before stays.
  const kept = tempDb();
  const before = await startCollector({ port: 0, db: kept });
  await before.close();
  spawnSync(process.execPath, [COLLECTOR_BIN, "--port", String(port), "--db", kept], {
    encoding: "utf8",
    env: { PATH: process.env["PATH"] },
    timeout: 30_000,
  });
  assert.equal(existsSync(kept), true);
});

test("a PostgreSQL URL with sslmode=require fails with one line: no seven-line warning of node-postgres first", () => {
  const r = spawnSync(process.execPath, [COLLECTOR_BIN, "--port", "0", "--db", "postgres://u:secret@127.0.0.1:1/x?sslmode=require"], {
    encoding: "utf8",
    env: { PATH: process.env["PATH"] },
    timeout: 30_000,
  });
  assert.equal(r.status, 1);
  assert.doesNotMatch(r.stderr, /SECURITY WARNING/);
  assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, /^dlt-collector: cannot write the database postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/x/);
});
