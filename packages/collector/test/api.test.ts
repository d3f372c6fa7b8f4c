// The Segment HTTP API of the collector, against a real server on loopback and a real DuckDB file.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { startCollector, type Collector } from "../src/index.js";
import { dltEvent, post, RawClient, tempDb } from "./helpers.js";

let open: Collector;
let keyed: Collector;
before(async () => {
  open = await startCollector({ port: 0, plan: "none", dbPath: tempDb() });
  keyed = await startCollector({ port: 0, plan: "none", dbPath: tempDb(), writeKeys: ["k-one", "k-two"] });
});
after(async () => {
  await open.close();
  await keyed.close();
});

const count = async (c: Collector, where = "true", params: (string | number)[] = []): Promise<number> =>
  Number((await c.store.query(`SELECT count(*) AS n FROM events WHERE ${where}`, params))[0]?.["n"]);

describe("what is stored", () => {
  test("a batch is stored with typed columns before the answer is 200", async () => {
    const e = dltEvent({ timestamp: "2026-01-01T00:00:00.000Z" });
    const r = await post(open.url, "/v1/batch", { batch: [e] });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { success: true });
    const [row] = await open.store.query(
      "SELECT type, event, anonymous_id, library_name, library_version, os_name, runtime_name, runtime_version, ci_run, cpu, exec_info, " +
        "event_category, event_name, success, elapsed, destination_name, transaction_id, message " +
        "FROM events WHERE message_id = ?",
      [e["messageId"] as string],
    );
    assert.ok(row, "stored before the answer");
    assert.equal(row["type"], "track");
    assert.equal(row["event"], "pipeline_load");
    assert.equal(row["library_name"], "dlt-ts");
    assert.equal(row["runtime_name"], "node");
    assert.equal(row["ci_run"], false);
    assert.equal(row["cpu"], 8);
    assert.equal(row["exec_info"], "docker");
    assert.equal(row["event_category"], "pipeline");
    assert.equal(row["success"], true);
    assert.equal(row["elapsed"], 2.5);
    assert.equal(row["destination_name"], "duckdb");
    const stored = JSON.parse(String(row["message"])) as Record<string, unknown>;
    assert.equal(stored["messageId"], e["messageId"]);
    assert.equal(typeof stored["receivedAt"], "string");
  });

  test("the timestamp is corrected by the client's clock skew (receivedAt − sentAt)", async () => {
    const e = dltEvent({ timestamp: "2026-01-01T00:00:00.000Z" });
    // The client's clock is 1 h behind: sentAt says 00:00:10 when the server receives it now.
    const sentAt = new Date(Date.parse("2026-01-01T00:00:10.000Z")).toISOString();
    const before = Date.now();
    assert.equal((await post(open.url, "/v1/batch", { batch: [e], sentAt })).status, 200);
    const [row] = await open.store.query("SELECT epoch_ms(timestamp) AS ts, epoch_ms(received_at) AS rec FROM events WHERE message_id = ?", [
      e["messageId"] as string,
    ]);
    assert.ok(row);
    const rec = Number(row["rec"]);
    assert.ok(rec >= before && rec <= Date.now());
    // timestamp + (receivedAt − sentAt)
    assert.equal(Number(row["ts"]), Date.parse("2026-01-01T00:00:00.000Z") + (rec - Date.parse(sentAt)));
  });

  test("values of the wrong type are cast where they can be and NULL otherwise, and never fail a commit", async () => {
    const sentAt = new Date().toISOString();
    const odd = dltEvent({
      timestamp: "2026-01-01T00:00:00Z",
      // Wrong types: cast where they can be, NULL otherwise.
      properties: { success: "true", elapsed: "1.5", event_category: 7, destination_name: { nested: true }, event_name: "x".repeat(500) },
      context: { ci_run: 1, cpu: 1e12, exec_info: "docker", python: "3.11.4", library: { name: "dlt", version: 1.2 } },
    });
    const lone = dltEvent({ event: "bad \ud800 surrogate", properties: { event_category: "pipeline", event_name: "\udfff" } });
    const far = dltEvent({ timestamp: "+275760-09-13T00:00:00.000Z", sentAt: "1970-01-01T00:00:00.000Z" });
    assert.equal((await post(open.url, "/v1/batch", { batch: [odd, lone, far], sentAt })).status, 200);
    const rows = await open.store.query(
      "SELECT message_id, event_category, event_name, success, elapsed, destination_name, ci_run, cpu, exec_info, runtime_name, runtime_version, " +
        "library_version, year(timestamp) AS y, epoch_ms(original_timestamp) AS orig, message FROM events WHERE message_id IN (?, ?, ?)",
      [odd["messageId"] as string, lone["messageId"] as string, far["messageId"] as string],
    );
    const by = new Map(rows.map((r) => [r["message_id"], r]));
    const o = by.get(odd["messageId"] as string)!;
    assert.equal(o["success"], true);
    assert.equal(o["elapsed"], 1.5);
    assert.equal(o["event_category"], "7");
    assert.equal(o["destination_name"], '{"nested":true}');
    assert.equal(String(o["event_name"]).length, 200);
    assert.equal(o["cpu"], null, "a core count that fits no INTEGER is not a count");
    assert.equal(o["exec_info"], null);
    assert.equal(o["runtime_name"], "python");
    assert.equal(o["runtime_version"], "3.11.4");
    assert.equal(o["library_version"], "1.2");
    assert.equal(Number(o["orig"]), Date.parse("2026-01-01T00:00:00Z"));
    assert.ok(by.get(lone["messageId"] as string), "a lone surrogate is stored, not a failed commit");
    assert.equal(Number(by.get(far["messageId"] as string)!["y"]), 9999, "a skew-corrected timestamp is clamped to a four-digit year");
  });

  test("the stored message is stamped as Segment does: originalTimestamp, sentAt, receivedAt, type", async () => {
    const sentAt = new Date().toISOString();
    const e = dltEvent({ timestamp: "2026-01-01T00:00:00Z" });
    assert.equal((await post(open.url, "/v1/batch", { batch: [e], sentAt })).status, 200);
    const [row] = await open.store.query("SELECT message FROM events WHERE message_id = ?", [e["messageId"] as string]);
    const stored = JSON.parse(String(row!["message"])) as Record<string, unknown>;
    assert.equal(stored["originalTimestamp"], "2026-01-01T00:00:00.000Z");
    assert.equal(stored["sentAt"], sentAt);
    assert.equal(typeof stored["receivedAt"], "string");
    assert.equal(stored["type"], "track");
  });

  test("every typed column is NULL when the message leaves its field out", async () => {
    const bare = { type: "track", messageId: crypto.randomUUID(), event: "command_bare", anonymousId: "a" };
    assert.equal((await post(open.url, "/v1/batch", { batch: [bare] })).status, 200);
    const [row] = await open.store.query(
      // rollup_seq: the store's mark of what the roll-up has not yet aggregated (duckdb.ts), not a column of the message.
      "SELECT * EXCLUDE (message_id, type, event, anonymous_id, timestamp, received_at, message, rollup_seq) FROM events WHERE message_id = ?",
      [bare.messageId],
    );
    assert.ok(row);
    const columns = Object.keys(row);
    assert.ok(columns.length >= 21, `typed columns checked: ${columns.join(", ")}`);
    for (const col of ["cpu", "ci_run", "source_name", "destination_type", "pipeline_name", "destination_name", "runtime_name"])
      assert.ok(columns.includes(col), col);
    assert.deepEqual(
      Object.entries(row).filter(([, v]) => v !== null),
      [],
      "no column made up a value",
    );
  });

  test("cpu is NULL when it is not a core count, and numeric text counts", async () => {
    for (const cpu of ["eight", 0, -4, 1e12, 1.5, "2.5", true, [8], { n: 8 }, null]) {
      const e = dltEvent({ context: { cpu } });
      assert.equal((await post(open.url, "/v1/batch", { batch: [e] })).status, 200);
      const [r] = await open.store.query("SELECT cpu FROM events WHERE message_id = ?", [e["messageId"] as string]);
      assert.equal(r?.["cpu"], null, `cpu ${JSON.stringify(cpu)}`);
    }
    const numeric = dltEvent({ context: { cpu: "12" } });
    assert.equal((await post(open.url, "/v1/batch", { batch: [numeric] })).status, 200);
    assert.deepEqual(await open.store.query("SELECT cpu FROM events WHERE message_id = ?", [numeric["messageId"] as string]), [{ cpu: 12 }]);
  });

  test("each single-message route stores its type, with a messageId generated where the client sent none", async () => {
    const id = "u-" + Date.now();
    for (const [path, body] of [
      ["/v1/track", { event: "command_init", anonymousId: id }],
      ["/v1/identify", { userId: id, traits: { plan: "x" } }],
      ["/v1/page", { anonymousId: id, name: "home" }],
      ["/v1/screen", { anonymousId: id, name: "main" }],
      ["/v1/group", { anonymousId: id, groupId: "g1" }],
      ["/v1/alias", { userId: id, previousId: "old" }],
    ] as const) {
      const r = await post(open.url, path, body);
      assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.json)}`);
    }
    const types = await open.store.query("SELECT type FROM events WHERE anonymous_id = ? OR user_id = ? ORDER BY type", [id, id]);
    assert.deepEqual(
      types.map((t) => t["type"]),
      ["alias", "group", "identify", "page", "screen", "track"],
    );
  });

  test("a replayed messageId is stored once (across requests and within one)", async () => {
    const e = dltEvent();
    assert.equal((await post(open.url, "/v1/batch", { batch: [e, e] })).status, 200);
    assert.equal((await post(open.url, "/v1/batch", { batch: [e] })).status, 200);
    assert.equal((await post(open.url, "/v1/track", e)).status, 200);
    assert.equal(await count(open, "message_id = ?", [e["messageId"] as string]), 1);
  });
});

describe("what is not stored", () => {
  test("a write key in the body of a single message is not stored", async () => {
    const keyedOne = dltEvent({ writeKey: "k-one" });
    assert.equal((await post(open.url, "/v1/track", keyedOne)).status, 200);
    const [k] = await open.store.query("SELECT message FROM events WHERE message_id = ?", [keyedOne["messageId"] as string]);
    assert.ok(k);
    assert.doesNotMatch(String(k["message"]), /k-one|writeKey/);
  });

  test("a writeKey a client put in its context is not stored", async () => {
    const e = dltEvent({ context: { writeKey: "leaked-key", library: { name: "x", version: "1" } } });
    assert.equal((await post(open.url, "/v1/batch", { batch: [e] })).status, 200);
    const [row] = await open.store.query("SELECT message FROM events WHERE message_id = ?", [e["messageId"] as string]);
    assert.doesNotMatch(String(row!["message"]), /leaked-key|writeKey/);
  });
});

describe("what is refused, with a JSON reason", () => {
  test("400 with a JSON reason naming the field", async () => {
    const cases: [unknown, RegExp, string?][] = [
      [undefined, /^body: malformed JSON/, "{not json"],
      [[1, 2], /^body: must be a JSON object/],
      [{ sentAt: "x" }, /^sentAt: must be an ISO-8601 date/],
      [{ batch: "nope" }, /^batch: must be an array/],
      [{ batch: [dltEvent({ event: undefined })] }, /^batch\[0\]\.event: a non-empty string is required for track/],
      [{ batch: [dltEvent(), dltEvent({ anonymousId: undefined })] }, /^batch\[1\]\.anonymousId: userId or anonymousId is required/],
      [{ batch: [dltEvent({ properties: [1] })] }, /^batch\[0\]\.properties: must be an object/],
      [{ batch: [dltEvent({ type: "bogus" })] }, /^batch\[0\]\.type: must be one of/],
      [{ batch: [dltEvent({ timestamp: "yesterday" })] }, /^batch\[0\]\.timestamp: must be an ISO-8601 date/],
      // Parses, but is nested deeper than it can be written back.
      [
        undefined,
        /^batch\[0\]: nested too deeply/,
        `{"batch":[${JSON.stringify(dltEvent()).slice(0, -1)},"deep":${"[".repeat(12000)}${"]".repeat(12000)}}]}`,
      ],
    ];
    const before = await count(open);
    for (const [body, reason, raw] of cases) {
      const r = await post(open.url, "/v1/batch", body, raw !== undefined ? { raw } : {});
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.json["success"], false);
      assert.match(String(r.json["error"]), reason);
    }
    assert.equal(await count(open), before, "a refused request stores nothing");
  });

  test("401 with a JSON reason without a write key, or with a wrong one", async () => {
    const missing = await post(keyed.url, "/v1/batch", { batch: [dltEvent()] });
    assert.equal(missing.status, 401);
    assert.match(String(missing.json["error"]), /missing write key/);
    const wrong = await post(keyed.url, "/v1/batch", { batch: [dltEvent()] }, { auth: "nope" });
    assert.equal(wrong.status, 401);
    assert.match(String(wrong.json["error"]), /invalid write key/);
  });

  test("413 for a body over 500 KB and for a message over 32 KB", async () => {
    const big = await post(open.url, "/v1/batch", { batch: Array.from({ length: 30 }, () => dltEvent({ properties: { pad: "x".repeat(20_000) } })) });
    assert.equal(big.status, 413);
    const wide = await post(open.url, "/v1/batch", { batch: [dltEvent({ properties: { pad: "x".repeat(33_000) } })] });
    assert.equal(wide.status, 413);
    assert.match(String(wide.json["error"]), /^batch\[0\]: message is \d+ bytes, over the 32 KB limit/);
  });

  test("a gzip bomb is refused, whether it inflates past the limit or is a body of spaces", async () => {
    const bomb = await post(open.url, "/v1/batch", undefined, { raw: gzipSync(Buffer.alloc(5_000_000, 32)), gzip: false });
    assert.notEqual(bomb.status, 200);
    const bomb2 = await post(open.url, "/v1/batch", { pad: " ".repeat(5_000_000) }, { gzip: true });
    assert.equal(bomb2.status, 413);
    assert.match(String(bomb2.json["error"]), /inflated body/);
  });

  test("requests Node's HTTP parser refuses, and an Expect it does not know, are answered with a JSON reason", async () => {
    const cases: [string, RegExp, RegExp][] = [
      ["GARBAGE / HTTP/1.1\r\nHost: x\r\n\r\n", /^HTTP\/1\.1 400 /, /invalid method/],
      ["POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", /^HTTP\/1\.1 400 /, /invalid Content-Length/],
      ["POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", /^HTTP\/1\.1 400 /, /malformed request/],
      ["GET / HTTP/9.9\r\nHost: x\r\n\r\n", /^HTTP\/1\.1 400 /, /malformed request/],
      ["POST /v1/batch HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n", /^HTTP\/1\.1 400 /, /malformed request/],
      ["POST /v1/batch HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 2\r\n\r\n{}", /^HTTP\/1\.1 417 /, /Expect: 200-ok is not supported/],
    ];
    for (const [request, status, reason] of cases) {
      const raw = new RawClient(open.url);
      try {
        raw.write(request);
        const answer = await raw.waitFor(/\r\n\r\n\{.*\}$/s, 5_000);
        assert.match(answer, status, request);
        assert.match(answer, /content-type: application\/json/i, request);
        const body = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)) as { success: boolean; error: string };
        assert.equal(body.success, false);
        assert.match(body.error, reason, request);
      } finally {
        await raw.destroy();
      }
    }
  });

  test("times are ISO-8601 only: '1', prose and impossible dates are refused naming the field", async () => {
    for (const timestamp of ["1", "yesterday", "Tue Mar 05 2024", "2024-02-30", "2023-02-29T10:00:00Z", "2024-13-01", "2024-01-01T24:00:00Z"]) {
      const r = await post(open.url, "/v1/batch", { batch: [dltEvent({ timestamp })] });
      assert.equal(r.status, 400, timestamp);
      assert.equal(r.json["error"], "batch[0].timestamp: must be an ISO-8601 date", timestamp);
    }
  });
});

describe("what is accepted as well", () => {
  test("a write key is accepted as Basic auth and as the body's writeKey", async () => {
    const before = await count(keyed);
    assert.equal((await post(keyed.url, "/v1/batch", { batch: [dltEvent()] }, { auth: "k-two" })).status, 200);
    assert.equal((await post(keyed.url, "/v1/batch", { batch: [dltEvent()], writeKey: "k-one" })).status, 200);
    assert.equal(await count(keyed), before + 2);
  });

  test("a gzip body is accepted", async () => {
    const e = dltEvent();
    const gz = await post(open.url, "/v1/batch", { batch: [e] }, { gzip: true });
    assert.equal(gz.status, 200);
    assert.equal(await count(open, "message_id = ?", [e["messageId"] as string]), 1);
  });

  test("a time without an offset is UTC, not the server's zone", async () => {
    const naive = dltEvent({ timestamp: "2024-02-29 10:00:00.123456" });
    const sentAt = "2024-02-29T10:00:00.123Z";
    assert.equal((await post(open.url, "/v1/batch", { batch: [naive], sentAt })).status, 200);
    const [row] = await open.store.query("SELECT message FROM events WHERE message_id = ?", [naive["messageId"] as string]);
    assert.equal((JSON.parse(String(row!["message"])) as { originalTimestamp: string }).originalTimestamp, "2024-02-29T10:00:00.123Z");
  });

  test("repeated slashes in the path are one: //v1/batch is /v1/batch (an endpoint set with a trailing slash)", async () => {
    const e = dltEvent();
    const body = JSON.stringify({ batch: [e] });
    // Raw: a URL client would read "//v1/batch" as a host named v1.
    const raw = new RawClient(open.url);
    try {
      raw.write(`POST //v1/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      assert.match(await raw.waitFor(/\r\n\r\n\{.*\}$/s, 5_000), /^HTTP\/1\.1 200 [\s\S]*\{"success":true\}$/);
    } finally {
      await raw.destroy();
    }
    assert.equal(await count(open, "message_id = ?", [e["messageId"] as string]), 1);
  });
});

describe("routes and the write path", () => {
  test("404 JSON for an unknown path, 405 for GET on a tracking route, 200 for /health", async () => {
    const nf = await post(open.url, "/v2/batch", {});
    assert.equal(nf.status, 404);
    assert.equal(nf.json["success"], false);
    const m = await post(open.url, "/v1/batch", undefined, { method: "GET" });
    assert.equal(m.status, 405);
    const h = await post(open.url, "/health", undefined, { method: "GET" });
    assert.equal(h.status, 200);
  });

  test("concurrent requests share commits (group commit)", async () => {
    const c = await startCollector({ port: 0, plan: "none", dbPath: tempDb() });
    try {
      const before = c.commits();
      const replies = await Promise.all(
        Array.from({ length: 60 }, () => post(c.url, "/v1/batch", { batch: Array.from({ length: 20 }, () => dltEvent()) })),
      );
      assert.ok(replies.every((r) => r.status === 200));
      assert.equal(await count(c), 1200);
      const commits = c.commits() - before;
      assert.ok(commits < 60, `${commits} commits for 60 requests`);
    } finally {
      await c.close();
    }
  });

  test("more events than the write path holds get 503 with Retry-After, and the next request that fits is stored", async () => {
    const c = await startCollector({ port: 0, plan: "none", dbPath: tempDb(), maxPendingEvents: 10 });
    try {
      const r = await post(c.url, "/v1/batch", { batch: Array.from({ length: 11 }, () => dltEvent()) });
      assert.equal(r.status, 503);
      assert.equal(r.headers["retry-after"], "1");
      assert.equal((await post(c.url, "/v1/batch", { batch: Array.from({ length: 10 }, () => dltEvent()) })).status, 200);
    } finally {
      await c.close();
    }
  });
});
