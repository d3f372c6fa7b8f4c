// Real dlt clients, replayed byte for byte from dlt's source: dlt 1.x (`dlt/common/runtime/anon_tracker.py`) posts
// one event to the endpoint exactly as configured, without `type`, `messageId` or `timestamp`, with Basic auth and
// `user-agent: dlt/<version>`; dlt 0.2–0.4 (the spec's era) posted the same shape to `…/v1/track`. Both are read back
// from the store and from the dashboard's API.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { startCollector, type Collector } from "../src/index.js";
import { exited, post, startChild, tempDb } from "./helpers.js";

/** A request as Python's `requests` sends it (its header names and order; `json=` serializes with ", " and ": "). */
function pythonPost(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        agent: false,
        headers: {
          "User-Agent": "python-requests/2.32.3",
          "Accept-Encoding": "gzip, deflate",
          Accept: "*/*",
          Connection: "keep-alive",
          ...headers,
          "Content-Length": String(Buffer.byteLength(body)),
        },
      },
      (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const basic = (key: string): string => "Basic " + Buffer.from(`${key}:`).toString("base64");

// dlt 1.26.0: `dlt init chess duckdb` (track_command("init", False, "source_name", "destination_type")) and the load
// step of a pipeline run (pipeline/track.py: destination_name, destination_type, hashes, transaction_id).
const CONTEXT_1X =
  '{"ci_run": false, "python": "3.12.3", "cpu": 8, "exec_info": [], "os": {"name": "Linux", "version": "6.8.0-45-generic"}, ' +
  '"library": {"name": "dlt", "version": "1.26.0"}, "run_context": "dlt"}';
const INIT_1X =
  '{"anonymousId": "6e7f1a3b9c2d4e5f8a7b6c5d4e3f2a1b", "event": "command_init", "properties": {"source_name": "chess", ' +
  '"destination_type": "duckdb", "elapsed": 2.8133, "success": true, "event_category": "command", "event_name": "init"}, ' +
  `"context": ${CONTEXT_1X}}`;
const LOAD_1X =
  '{"anonymousId": "6e7f1a3b9c2d4e5f8a7b6c5d4e3f2a1b", "event": "pipeline_load", "properties": {"elapsed": 3.52, "success": true, ' +
  '"destination_name": "duckdb", "destination_type": "dlt.destinations.duckdb", "pipeline_name_hash": "Ks7fRl6ejTBPd2rtFkw9Qw", ' +
  '"dataset_name_hash": "mYlFJ0UkLWhWxMUKsbvITg", "default_schema_name_hash": "EuU5T1pD9mTpoPG6b5Y0UA", ' +
  '"transaction_id": "8b1f5e0f0a6b1a8f1d6d0e4a9c2b7e31", "destination_fingerprint": "", "event_category": "pipeline", "event_name": "load"}, ' +
  `"context": ${CONTEXT_1X}}`;
// The spec's own example (dlt 0.2), as segment.py posted it to https://api.segment.io/v1/track.
const INIT_SPEC =
  '{"anonymousId": "933dd165453d196a58adaf49444e9b4c", "event": "command_init", "properties": {"destination_name": "bigquery", ' +
  '"elapsed": 3.1720383167266846, "event_category": "command", "event_name": "init", "pipeline_name": "pipedrive", "success": true}, ' +
  '"context": {"ci_run": false, "cpu": 8, "exec_info": [], "library": {"name": "python-dlt", "version": "0.2.0a25"}, ' +
  '"os": {"name": "Linux", "version": "4.19.128-microsoft-standard"}, "python": "3.8.11"}}';

let c: Collector;
before(async () => {
  c = await startCollector({ port: 0, dbPath: tempDb(), writeKeys: ["dlt-key"], readToken: "rt" });
});
after(() => c.close());

async function api(col: Collector, name: string): Promise<Record<string, unknown>[]> {
  const r = await post(col.url, `${new URL(col.url).pathname.replace(/\/$/, "")}/api/${name}?from=0`, undefined, { method: "GET", bearer: "rt" });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return (r.json["rows"] as Record<string, unknown>[]).map((row) =>
    Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v])),
  );
}

test("dlt 1.x's exact request to the base URL is stored as a track, stamped as Segment does, in typed columns", async () => {
  const before = Date.now();
  for (const body of [INIT_1X, LOAD_1X]) {
    const r = await pythonPost(c.url, body, { "User-Agent": "dlt/1.26.0", "Content-Type": "application/json", Authorization: basic("dlt-key") });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(JSON.parse(r.text), { success: true });
  }
  const rows = await c.store.query(
    "SELECT type, event, message_id, epoch_ms(timestamp) AS ts, epoch_ms(received_at) AS rec, original_timestamp, source_name, destination_type, " +
      "destination_name, pipeline_name, transaction_id, success, elapsed, library_name, library_version, runtime_name, runtime_version, cpu, ci_run " +
      "FROM events WHERE library_name = 'dlt' ORDER BY event",
  );
  assert.equal(rows.length, 2);
  const [init, load] = rows as [Record<string, unknown>, Record<string, unknown>];
  for (const row of rows) {
    assert.equal(row["type"], "track");
    assert.match(String(row["message_id"]), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, "a messageId is generated");
    assert.equal(row["ts"], row["rec"], "no timestamp sent: the time of arrival");
    assert.ok(Number(row["rec"]) >= before && Number(row["rec"]) <= Date.now());
    assert.equal(row["original_timestamp"], null);
    assert.deepEqual(
      [row["library_version"], row["runtime_name"], row["runtime_version"], row["cpu"], row["ci_run"]],
      ["1.26.0", "python", "3.12.3", 8, false],
    );
  }
  assert.deepEqual(
    [init["event"], init["source_name"], init["destination_type"], init["destination_name"], init["success"], init["elapsed"]],
    ["command_init", "chess", "duckdb", null, true, 2.8133],
  );
  assert.deepEqual(
    [load["event"], load["destination_name"], load["destination_type"], load["transaction_id"]],
    ["pipeline_load", "duckdb", "dlt.destinations.duckdb", "8b1f5e0f0a6b1a8f1d6d0e4a9c2b7e31"],
  );
});

test("the spec-era request to /v1/track (no type, pipeline_name and destination_name) is stored in the same columns", async () => {
  const r = await pythonPost(`${c.url}/v1/track`, INIT_SPEC, { "Content-Type": "application/json", Authorization: basic("dlt-key") });
  assert.equal(r.status, 200, r.text);
  const [row] = await c.store.query(
    "SELECT type, event, pipeline_name, destination_name, runtime_name, runtime_version, library_name FROM events WHERE library_name = 'python-dlt'",
  );
  assert.deepEqual(row, {
    type: "track",
    event: "command_init",
    pipeline_name: "pipedrive",
    destination_name: "bigquery",
    runtime_name: "python",
    runtime_version: "3.8.11",
    library_name: "python-dlt",
  });
});

test("the dashboard's API counts destinations and sources from both vocabularies", async () => {
  const destinations = await api(c, "destinations");
  assert.deepEqual(destinations, [
    { destination: "duckdb", runs: 1, inits: 1 },
    { destination: "bigquery", runs: 0, inits: 1 },
  ]);
  assert.deepEqual(await api(c, "sources"), [
    { source: "chess", n: 1 },
    { source: "pipedrive", n: 1 },
  ]);
  assert.deepEqual(await api(c, "platforms"), [{ os: "Linux", runtime: "python 3", n: 3 }]);
});

test("with a base path: dlt's request at P, Segment's routes at P/v1/*, the page at GET P, nothing outside P", async () => {
  const b = await startCollector({ port: 0, dbPath: tempDb(), basePath: "/telemetry/", readToken: "rt" });
  try {
    assert.match(b.url, /^http:\/\/127\.0\.0\.1:\d+\/telemetry$/);
    assert.equal((await pythonPost(b.url, INIT_1X, { "User-Agent": "dlt/1.26.0", "Content-Type": "application/json" })).status, 200);
    // A batch at the base path: its messages may also leave out `type`.
    const batch = `{"batch": [${LOAD_1X}, ${INIT_SPEC}]}`;
    assert.equal((await pythonPost(`${b.url}/`, batch, { "Content-Type": "application/json" })).status, 200);
    assert.equal((await post(b.url, "/telemetry/v1/batch", { batch: [{ type: "track", event: "command_deploy", anonymousId: "a" }] })).status, 200);
    assert.equal((await post(b.url, "/telemetry/v1/track", { event: "command_telemetry", anonymousId: "a" })).status, 200);
    const events = await b.store.query("SELECT event, count(*) AS n FROM events GROUP BY event ORDER BY event");
    assert.deepEqual(
      events.map((e) => [e["event"], Number(e["n"])]),
      [
        ["command_deploy", 1],
        ["command_init", 2],
        ["command_telemetry", 1],
        ["pipeline_load", 1],
      ],
    );
    // GET at the base path is the dashboard's page (its URLs relative to P/), while POST there ingests.
    const page = await post(b.url, "/telemetry?token=rt", undefined, { method: "GET" });
    assert.equal(page.status, 200);
    assert.match(page.text, /<base href="\/telemetry\/">/);
    assert.match(String(page.headers["set-cookie"]), /Path=\/telemetry\//);
    assert.deepEqual(await api(b, "sources"), [
      { source: "chess", n: 1 },
      { source: "pipedrive", n: 1 },
    ]);
    assert.equal((await post(b.url, "/telemetry/health", undefined, { method: "GET" })).status, 200);
    assert.equal((await post(b.url, "/health", undefined, { method: "GET" })).status, 200, "health also at the root, for probes");
    for (const outside of ["/", "/v1/batch", "/telemetryx", "/api/summary"]) {
      assert.equal((await post(b.url, outside, { event: "x", anonymousId: "a" })).status, 404, outside);
    }
    // A message with neither type nor event is refused with the field named.
    const none = await post(b.url, "/telemetry", { anonymousId: "a" });
    assert.equal(none.status, 400);
    assert.match(String(none.json["error"]), /^type: must be one of/);
  } finally {
    await b.close();
  }
});

test("dlt-collector --base-path (and DLT_COLLECTOR_BASE_PATH) prints the URL dlt takes, and dlt's events arrive there", async () => {
  for (const [args, env] of [[["--base-path", "/t"]], [[], { DLT_COLLECTOR_BASE_PATH: "/t" }]] as const) {
    const { child, url } = await startChild(["--port", "0", "--db", tempDb(), ...args], env ?? {});
    try {
      assert.match(url, /\/t$/);
      assert.equal((await pythonPost(url, INIT_1X, { "Content-Type": "application/json", "User-Agent": "dlt/1.26.0" })).status, 200);
    } finally {
      child.kill("SIGTERM");
      assert.equal(await exited(child), 0);
    }
  }
});

test("a base path that does not start with / is a usage error", async () => {
  await assert.rejects(startChild(["--port", "0", "--db", tempDb(), "--base-path", "telemetry"]), /base path must start with \//);
});
