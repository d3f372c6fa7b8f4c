// The DuckDB store's files and failures: its scratch file of raw events lives beside the database (0600), never in
// a shared temp dir, and a dead collector's leftover is removed at open; after DuckDB's fatal "invalidated" error (a
// checkpoint on a full disk) the store opens the file again and takes events once space is back.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { DuckDbStore } from "../src/store/duckdb.js";
import { stamp, type StoredMessage } from "../src/stamp.js";
import { dltEvent, exited, post, startChild, tempDb, tempDir } from "./helpers.js";

const messages = (n: number, pad = 0): StoredMessage[] =>
  Array.from({ length: n }, () => stamp(dltEvent({ properties: { pad: "y".repeat(pad) } }), "track", Date.now(), new Date().toISOString(), null));
const count = async (store: DuckDbStore): Promise<number> => Number((await store.query("SELECT count(*) AS n FROM events"))[0]?.["n"]);

test("the scratch file is beside the database, mode 0600, and a leftover of a killed collector is removed at open", async () => {
  const db = tempDb();
  const scratch = `${db}.scratch.ndjson`;
  writeFileSync(scratch, JSON.stringify(dltEvent()) + "\n");
  const store = await DuckDbStore.open(db);
  try {
    assert.equal(existsSync(scratch), false, "a dead collector's raw events are not left lying around");
    // Watch the file while a large group is being inserted from it.
    const inserting = store.insert(messages(20_000));
    let settled = false;
    void inserting.finally(() => (settled = true));
    let mode: number | undefined;
    while (!settled && mode === undefined) {
      await new Promise((r) => setImmediate(r));
      if (existsSync(scratch)) mode = statSync(scratch).mode & 0o777;
    }
    assert.equal(await inserting, 20_000);
    assert.equal(mode, 0o600);
    assert.equal(existsSync(scratch), false, "removed once the group is stored");
  } finally {
    await store.close();
  }
});

test("a database made before the source_name and destination_type columns gets them at open, and takes dlt 1.x events", async () => {
  const db = tempDb();
  const old = await DuckDbStore.open(db);
  await old.query("ALTER TABLE events DROP COLUMN source_name");
  await old.query("ALTER TABLE events DROP COLUMN destination_type");
  await old.query("INSERT INTO events (message_id, type, \"timestamp\", received_at, message) VALUES ('old', 'track', now(), now(), '{}')");
  await old.close();
  const store = await DuckDbStore.open(db);
  try {
    const e = stamp(
      dltEvent({ properties: { source_name: "chess", destination_type: "duckdb" } }),
      "track",
      Date.now(),
      new Date().toISOString(),
      null,
    );
    assert.equal(await store.insert([e]), 1);
    assert.deepEqual(await store.query("SELECT source_name, destination_type FROM events WHERE message_id = ?", [e.messageId]), [
      { source_name: "chess", destination_type: "duckdb" },
    ]);
    assert.equal(await count(store), 2);
  } finally {
    await store.close();
  }
});

test("the collector writes nothing to the temp dir", async () => {
  const tmp = tempDir("collector-tmp-");
  const { child, url } = await startChild(["--port", "0", "--db", tempDb()], { TMPDIR: tmp });
  try {
    for (let i = 0; i < 3; i++) assert.equal((await post(url, "/v1/batch", { batch: [dltEvent(), dltEvent()] })).status, 200);
    assert.deepEqual(readdirSync(tmp), []);
  } finally {
    child.kill("SIGTERM");
  }
  assert.equal(await exited(child), 0);
});

test("after a fatal error (checkpoint on a full disk) the store opens the database again and loses nothing committed", async () => {
  const db = tempDb();
  const store = await DuckDbStore.open(db);
  // This test process's own file-size limit plays the full disk (lowered, then lifted; see health.test.ts).
  const fsize = (limit: string): void => void execFileSync("prlimit", ["--pid", String(process.pid), `--fsize=${limit}:unlimited`]);
  try {
    for (let i = 0; i < 10; i++) await store.insert(messages(500, 200));
    fsize(String(statSync(db).size + 100_000));
    try {
      await assert.rejects(store.query("CHECKPOINT"), /FATAL/);
      await assert.rejects(store.insert(messages(1)), /invalidated|FATAL|File too large/i);
    } finally {
      fsize("unlimited");
    }
    assert.equal(await store.insert(messages(10)), 10);
    await store.probe();
    assert.equal(await count(store), 5010);
  } finally {
    await store.close();
  }
  const again = await DuckDbStore.open(db);
  try {
    assert.equal(await count(again), 5010);
  } finally {
    await again.close();
  }
});
