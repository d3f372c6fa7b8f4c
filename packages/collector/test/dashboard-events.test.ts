// The live view's API (`GET /api/events`): stored events newest first, cursor-paged, each with the label of the write
// key that let it in, never the key. Labels come from `--write-key label=key` (or a short hash of a bare key), are
// stored at ingest in `write_key_label`, and a database made before that column gets it at open.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { startCollector, parseWriteKey, hashLabel, DuckDbStore, type Collector } from "../src/index.js";
import { apiAnswer, get, numeric, type Row } from "./dashboard-client.js";
import { COLLECTOR_BIN, dltEvent, exited, post, startChild, tempDb } from "./helpers.js";
import { seed, seedMore } from "./seed.js";

const CI_KEY = "wk-ci-0123456789abcdef";
const BARE_KEY = "wk-bare-fedcba9876543210";

/** Waits (bounded) until the clock has passed `ms`, so the next request is received strictly later. */
async function after1ms(ms: number): Promise<void> {
  const deadline = Date.now() + 1000;
  while (Date.now() <= ms && Date.now() < deadline) await new Promise((r) => setImmediate(r));
}

/** Every page of the live view, following `next`. */
async function allPages(base: string, params: Record<string, string>, token?: string): Promise<{ rows: Row[]; pages: number; text: string }> {
  const rows: Row[] = [];
  let text = "";
  let before: string | null | undefined;
  let pages = 0;
  do {
    const a = await apiAnswer(base, "events", { ...params, ...(before ? { before } : {}) }, token);
    rows.push(...a.rows.map(numeric));
    text += a.text;
    before = a.next;
    assert.ok(++pages < 1000, "paging ends");
  } while (before);
  return { rows, pages, text };
}

describe("the live view", () => {
  let c: Collector;
  before(async () => {
    c = await startCollector({ port: 0, dbPath: tempDb(), writeKeys: [{ label: "ci", key: CI_KEY }, BARE_KEY], readToken: "rt" });
    await seed(c.url, BARE_KEY);
    await seedMore(c.url, CI_KEY);
  });
  after(() => c.close());

  test("newest first: the time received, the event, the key's label and the stored JSON", async () => {
    const [last] = (await apiAnswer(c.url, "events", { limit: "1" }, "rt")).rows.map(numeric);
    await after1ms(last!["received_at"] as number);
    const sent = dltEvent({ event: "command_deploy", properties: { event_category: "command", event_name: "deploy", success: false, elapsed: 9.5 } });
    const before = Date.now();
    assert.equal((await post(c.url, "/v1/batch", { batch: [sent] }, { auth: CI_KEY })).status, 200);
    const { rows } = await apiAnswer(c.url, "events", {}, "rt");
    assert.equal(rows.length, 27, "every event of the last 30 days, within the default page of 50");
    const newest = numeric(rows[0]!);
    assert.equal(newest["event"], "command_deploy");
    assert.equal(newest["write_key_label"], "ci");
    assert.equal(newest["message_id"], sent["messageId"]);
    assert.ok((newest["received_at"] as number) >= before && (newest["received_at"] as number) <= Date.now(), "received_at is when it arrived");
    const stored = JSON.parse(newest["message"] as string) as Record<string, unknown>;
    assert.deepEqual(stored["properties"], sent["properties"]);
    assert.deepEqual(stored["context"], sent["context"]);
    assert.equal(stored["writeKeyLabel"], "ci");
    assert.equal(stored["receivedAt"], new Date(newest["received_at"] as number).toISOString());
    // Then Python dlt's events (labelled ci, sent one by one: the last sent comes first), then dlt-ts's batch.
    assert.deepEqual(
      rows.slice(1, 6).map((r) => r["event"]),
      ["pipeline_load", "pipeline_normalize", "pipeline_extract", "command_init", "command_init"],
    );
    assert.ok(rows.slice(1, 6).every((r) => r["write_key_label"] === "ci"));
    assert.ok(rows.slice(6).every((r) => r["write_key_label"] === hashLabel(BARE_KEY)));
    const times = rows.map((r) => Number(r["received_at"]));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
      "newest received first",
    );
  });

  test("filtered by event name, by range (on the time received) and by the other filters", async () => {
    const telemetry = (await apiAnswer(c.url, "events", { event: "command_telemetry" }, "rt")).rows;
    assert.equal(telemetry.length, 5);
    assert.ok(telemetry.every((r) => r["event"] === "command_telemetry"));
    // The seeded timestamps lie days back, but every event was received just now: the range is on the time received.
    assert.equal((await apiAnswer(c.url, "events", { from: String(Date.now() - 3600_000) }, "rt")).rows.length, 27);
    assert.equal((await apiAnswer(c.url, "events", { from: String(Date.now() + 3600_000) }, "rt")).rows.length, 0);
    const python = (await apiAnswer(c.url, "events", { version: "dlt 1.5.0", ci: "true" }, "rt")).rows;
    assert.equal(python.length, 5);
  });

  test("the label is never the key: not in any answer, not in the stored messages", async () => {
    const { rows, text } = await allPages(c.url, { limit: "4" }, "rt");
    assert.equal(rows.length, 27);
    for (const key of [CI_KEY, BARE_KEY]) {
      assert.ok(!text.includes(key), "a write key in /api/events");
      assert.deepEqual(
        await c.store.query("SELECT count(*) AS n FROM events WHERE message LIKE ? OR write_key_label LIKE ?", [`%${key}%`, `%${key}%`]),
        [{ n: "0" }],
      );
    }
    assert.match(hashLabel(BARE_KEY), /^key-[0-9a-f]{8}$/);
    assert.deepEqual(new Set(rows.map((r) => r["write_key_label"])), new Set(["ci", hashLabel(BARE_KEY)]));
  });

  test("a label sent by a client is replaced by its key's, and a key in the body gets its label as a header's does", async () => {
    const spoof = dltEvent({ writeKeyLabel: "prod" });
    assert.equal((await post(c.url, "/v1/batch", { batch: [spoof] }, { auth: BARE_KEY })).status, 200);
    const inBody = dltEvent();
    assert.equal((await post(c.url, "/v1/track", { ...inBody, writeKey: CI_KEY })).status, 200);
    const labels = await c.store.query(
      "SELECT message_id, write_key_label, message FROM events WHERE message_id IN (?, ?) ORDER BY write_key_label",
      [spoof["messageId"] as string, inBody["messageId"] as string],
    );
    assert.deepEqual(
      labels.map((r) => [r["message_id"], r["write_key_label"]]),
      [
        [inBody["messageId"], "ci"],
        [spoof["messageId"], hashLabel(BARE_KEY)],
      ],
    );
    assert.ok(labels.every((r) => !String(r["message"]).includes(CI_KEY) && !String(r["message"]).includes('"prod"')));
  });

  test("bad parameters get a 400 naming the parameter", async () => {
    for (const [qs, reason] of [
      ["limit=0", /^limit: must be a whole number from 1 to 500/],
      ["limit=501", /^limit: must be a whole number from 1 to 500/],
      ["limit=ten", /^limit: /],
      ["limit=1.5", /^limit: /],
      ["limit=-3", /^limit: /],
      ["before=yesterday", /^before: not a cursor of \/api\/events/],
      ["before=1732550400000000", /^before: not a cursor/],
      ["before=1732550400000000.", /^before: not a cursor/],
      [`before=${"9".repeat(20)}.id`, /^before: not a cursor/],
      ["from=soon", /^from: not a time/],
    ] as const) {
      const r = await get(`${c.url}/api/events?${qs}`, { authorization: "Bearer rt" });
      assert.equal(r.status, 400, qs);
      assert.match((JSON.parse(r.text) as { error: string }).error, reason, qs);
    }
    assert.equal((await get(`${c.url}/api/events`)).status, 401, "the read token guards the live view too");
  });
});

test("a database made before write_key_label gets it at open, and its events keep theirs", async () => {
  const db = tempDb();
  const old = await DuckDbStore.open(db);
  await old.query("ALTER TABLE events DROP COLUMN write_key_label");
  await old.query("INSERT INTO events (message_id, type, \"timestamp\", received_at, message) VALUES ('old', 'track', now(), now(), '{}')");
  await old.close();
  const c = await startCollector({ port: 0, dbPath: db, writeKeys: [{ label: "prod", key: "k-prod" }], readToken: "rt" });
  try {
    assert.equal((await post(c.url, "/v1/batch", { batch: [dltEvent()] }, { auth: "k-prod" })).status, 200);
    const rows = (await apiAnswer(c.url, "events", { from: "0" }, "rt")).rows;
    assert.deepEqual(rows.map((r) => r["write_key_label"]).sort(), ["prod", null].sort());
  } finally {
    await c.close();
  }
});

describe("write keys with labels on the command line", () => {
  test("DLT_COLLECTOR_WRITE_KEYS=ci=key1,prod=key2: each event stores its key's label", async () => {
    const { child, url } = await startChild(["--port", "0", "--db", tempDb(), "--read-token", "rt"], {
      DLT_COLLECTOR_WRITE_KEYS: "ci=key1,prod=key2",
    });
    try {
      assert.equal((await post(url, "/v1/batch", { batch: [dltEvent()] }, { auth: "key2" })).status, 200);
      assert.equal((await post(url, "/v1/batch", { batch: [dltEvent()] }, { auth: "key1=" })).status, 401, "the label is not part of the key");
      const rows = (await apiAnswer(url, "events", {}, "rt")).rows;
      assert.deepEqual(
        rows.map((r) => r["write_key_label"]),
        ["prod"],
      );
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal(await exited(child), 0);
  });

  test("a bad label: one line naming it, exit 2", () => {
    const r = spawnSync(process.execPath, [COLLECTOR_BIN, "--write-key", "my key=secret"], {
      encoding: "utf8",
      env: { PATH: process.env["PATH"], TMPDIR: tmpdir() },
    });
    assert.equal(r.status, 2);
    assert.match(
      r.stderr,
      /^error: option '--write-key <\[label=\]key>' argument 'my key=secret' is invalid\. write key label "my key": 1–64 letters/,
    );
  });

  test("label=key, a bare key, and base64 padding that is not a label", async () => {
    assert.deepEqual(parseWriteKey("ci=abc"), { label: "ci", key: "abc" });
    assert.deepEqual(parseWriteKey("ci=c2VjcmV0=="), { label: "ci", key: "c2VjcmV0==" });
    assert.deepEqual(parseWriteKey("c2VjcmV0=="), { label: hashLabel("c2VjcmV0=="), key: "c2VjcmV0==" });
    assert.deepEqual(parseWriteKey("plainkey"), { label: hashLabel("plainkey"), key: "plainkey" });
    assert.notEqual(hashLabel("a"), hashLabel("b"));
    assert.throws(() => parseWriteKey("=abc"), /write key label "": 1–64/);
    assert.throws(() => parseWriteKey(""), /must not be empty/);
    await assert.rejects(
      startCollector({
        writeKeys: [
          { label: "a", key: "k" },
          { label: "b", key: "k" },
        ],
      }),
      /one write key is given twice, labelled a and b/,
    );
  });
});
