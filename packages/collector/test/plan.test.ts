// The collector keeps only what its plan allows (issue 23): real dlt 1.x requests, shaped as dlt's source builds
// them (`dlt/pipeline/track.py`, `dlt/common/runtime/anon_tracker.py`, `exec_info.py`, `dlt/_workspace/cli/`), go in
// with the names of a user's pipeline, dataset, resources, workspace and destination, and dlt's unsalted hashes of
// them; none of it comes out of any table or any byte of the database's files, on DuckDB and on PostgreSQL. What the
// plan refuses is counted, durably, by reason and bounded name.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { defaultPlan, enforce, loadPlan, startCollector, validateMessage, type Collector, type CollectorOptions } from "../src/index.js";
import { exited, post, startChild, tempDb, tempDir } from "./helpers.js";
import { testPostgres, type TestPostgres } from "./postgres-server.js";

/** dlt's `digest128` (dlt/common/utils.py): base64 of 15 bytes of shake128, padding stripped. */
const digest128 = (v: string): string => createHash("shake128", { outputLength: 15 }).update(v).digest("base64").replace(/=+$/, "");

/** The names a user gave, as dlt 1.x puts them (or their hashes) into its telemetry. */
const NAMES = {
  pipeline: "acme_customers_pipeline",
  dataset: "acme_prod_dataset",
  schema: "acme_crm_schema",
  requestedSchema: "acme_billing_schema",
  source: "acme_salesforce_source",
  resource: "acme_invoices",
  workspace: "acme_workspace",
  destination: "acme_warehouse",
  initSource: "acme_salesforce_prod",
  dbtProfile: "acme_dbt_profile",
  agent: "acme-agent-of-alice",
  email: "alice@acme.example",
} as const;

/** Every value that would identify the user: the names, and dlt's hashes of the names it hashes. */
const IDENTIFYING: readonly string[] = [
  ...Object.values(NAMES),
  digest128(NAMES.pipeline),
  digest128(NAMES.dataset),
  digest128(NAMES.schema),
  digest128(NAMES.requestedSchema),
  digest128("postgresql://loader@acme-db.internal:5432/analytics"),
];

const ANON = "6e7f1a3b9c2d4e5f8a7b6c5d4e3f2a1b";
const TRANSACTION = "8b1f5e0f0a6b1a8f1d6d0e4a9c2b7e31";
/** `get_execution_context()` with the user's workspace as `run_context` (anon_tracker.py sets it per event). */
const CONTEXT = {
  ci_run: false,
  python: "3.12.3",
  cpu: 8,
  exec_info: ["docker"],
  os: { name: "Linux", version: "6.8.0-45-generic" },
  library: { name: "dlt", version: "1.26.0" },
  run_context: NAMES.workspace,
};
/** `_build_base_props` of track.py, for a postgres destination the user named. */
const BASE = {
  destination_name: NAMES.destination,
  destination_type: "dlt.destinations.postgres",
  pipeline_name_hash: digest128(NAMES.pipeline),
  dataset_name_hash: digest128(NAMES.dataset),
  default_schema_name_hash: digest128(NAMES.schema),
};
const track = (event: string, properties: Record<string, unknown>): Record<string, unknown> => {
  const cut = event.indexOf("_");
  return {
    anonymousId: ANON,
    event,
    properties: { ...properties, event_category: event.slice(0, cut), event_name: event.slice(cut + 1) },
    context: CONTEXT,
  };
};

/** dlt 1.x's requests for one pipeline run and a few commands, one per POST as anon_tracker.py sends them. */
const DLT_REQUESTS: readonly Record<string, unknown>[] = [
  track("pipeline_extract", {
    elapsed: 1.25,
    success: true,
    ...BASE,
    transaction_id: TRANSACTION,
    extract_data: [
      { name: NAMES.source, data_type: "source" },
      { name: NAMES.resource, data_type: "resource" },
    ],
  }),
  track("pipeline_normalize", { elapsed: 2.5, success: true, ...BASE, transaction_id: TRANSACTION }),
  track("pipeline_load", {
    elapsed: 3.75,
    success: true,
    ...BASE,
    transaction_id: TRANSACTION,
    destination_fingerprint: digest128("postgresql://loader@acme-db.internal:5432/analytics"),
  }),
  track("pipeline_run", { elapsed: 3.8, success: true, ...BASE, transaction_id: TRANSACTION }),
  track("pipeline_access_dataset", { success: true, ...BASE, requested_schema_name_hash: digest128(NAMES.requestedSchema) }),
  track("command_init", { source_name: NAMES.initSource, destination_type: "duckdb", elapsed: 2.8, success: true }),
  track("helper_dbt_create_runner", { package_profile_name: NAMES.dbtProfile, elapsed: 0.5, success: true }),
  // dlt/_workspace/mcp/context.py: "tool_" + the function's name, in category mcp, with the agent's own description.
  track("mcp_tool_list_pipelines", { mcp_primitive: "tool", agent_info: { name: NAMES.agent }, elapsed: 0.1, success: true }),
  // A Segment client's habits: a user id and traits beside the anonymous id.
  { ...track("command_telemetry", { elapsed: 0.2, success: true }), userId: NAMES.email, traits: { email: NAMES.email } },
  { ...track("command_telemetry", { elapsed: 0.2, success: true }), anonymousId: NAMES.email },
];

/** Every row of every table the store has, as text. */
async function everyTable(c: Collector, tablesSql: string): Promise<string> {
  const tables = await c.store.query(tablesSql);
  let all = "";
  for (const t of tables) all += JSON.stringify(await c.store.query(`SELECT * FROM "${String(t["name"])}"`)) + "\n";
  return all;
}

/** The bytes of every file under `dir` (or the file itself), as latin1 text to search. */
function bytesUnder(path: string): string {
  if (!existsSync(path)) return "";
  if (!statSync(path).isDirectory()) return readFileSync(path).toString("latin1");
  return readdirSync(path)
    .map((name) => bytesUnder(join(path, name)))
    .join("\n");
}

const refusedRows = async (c: Collector, token = "rt"): Promise<unknown> => {
  const r = await post(c.url, "/api/refused?from=0", undefined, { method: "GET", bearer: token });
  assert.equal(r.status, 200, r.text);
  return r.json["rows"];
};

const KINDS = ["duckdb", "postgres"] as const;
let server: TestPostgres;
before(async () => {
  server = await testPostgres({ embedded: true });
});
after(() => server.close());

for (const kind of KINDS) {
  describe(`on ${kind}`, () => {
    test("real dlt 1.x requests go in, and no name of the user's, nor a hash of one, is in any table or any file", async () => {
      const db = kind === "duckdb" ? tempDb() : await server.database();
      const options: CollectorOptions = { port: 0, db, writeKeys: ["dlt-key"], readToken: "rt" };
      let c = await startCollector(options);
      try {
        for (const body of DLT_REQUESTS) {
          const r = await post(c.url, "/", body, { auth: "dlt-key" });
          assert.equal(r.status, 200, r.text);
          assert.equal(r.json["success"], true);
        }
        // What identifies nobody is kept, as dlt sent it.
        const steps = await c.store.query(
          "SELECT event, elapsed, success, destination_type, destination_name, transaction_id, library_version, runtime_version FROM events WHERE event LIKE 'pipeline_%' ORDER BY elapsed",
        );
        assert.deepEqual(
          steps.map((r) => [r["event"], r["elapsed"], r["destination_type"], r["destination_name"], r["transaction_id"], r["runtime_version"]]),
          [
            ["pipeline_extract", 1.25, "dlt.destinations.postgres", null, TRANSACTION, "3.12.3"],
            ["pipeline_normalize", 2.5, "dlt.destinations.postgres", null, TRANSACTION, "3.12.3"],
            ["pipeline_load", 3.75, "dlt.destinations.postgres", null, TRANSACTION, "3.12.3"],
            ["pipeline_run", 3.8, "dlt.destinations.postgres", null, TRANSACTION, "3.12.3"],
            ["pipeline_access_dataset", null, "dlt.destinations.postgres", null, null, "3.12.3"],
          ],
        );
        const [load] = await c.store.query("SELECT message FROM events WHERE event = 'pipeline_load'");
        const message = (typeof load!["message"] === "string" ? JSON.parse(load!["message"]) : load!["message"]) as Record<
          string,
          Record<string, unknown>
        >;
        assert.deepEqual(Object.keys(message["properties"]!).sort(), [
          "destination_type",
          "elapsed",
          "event_category",
          "event_name",
          "success",
          "transaction_id",
        ]);
        assert.deepEqual(Object.keys(message["context"]!).sort(), ["ci_run", "cpu", "exec_info", "library", "os", "python"]);
        const [init] = await c.store.query("SELECT source_name, destination_type FROM events WHERE event = 'command_init'");
        assert.deepEqual(init, { source_name: null, destination_type: "duckdb" });
        assert.deepEqual(await c.store.query("SELECT user_id FROM events WHERE event = 'command_telemetry'"), [{ user_id: null }]);

        // Nothing identifying, in any table, nor in any byte of the database's files.
        const tablesSql =
          kind === "duckdb"
            ? "SELECT table_name AS name FROM information_schema.tables"
            : "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()";
        const rows = await everyTable(c, tablesSql);
        const files = kind === "duckdb" ? bytesUnder(db) + bytesUnder(`${db}.wal`) : bytesUnder(server.dataDir!);
        // The scan sees what is stored: the kept transaction id is in the rows and in the files.
        assert.ok(rows.includes(TRANSACTION) && files.includes(TRANSACTION), "the scan finds a kept value");
        for (const value of IDENTIFYING) {
          assert.ok(!rows.includes(value), `${value} is in a table`);
          assert.ok(!files.includes(value), `${value} is in the database's files`);
        }

        // Refused: counted by reason and name, durably.
        const refused = [
          { reason: "bad_anonymous_id", event: "command_telemetry", n: 1 },
          { reason: "unknown_event", event: "mcp_tool_list_pipelines", n: 1 },
        ];
        assert.deepEqual(await refusedRows(c), refused);
        await c.close();
        if (kind === "duckdb") for (const value of IDENTIFYING) assert.ok(!bytesUnder(db).includes(value), `${value} is in the checkpointed file`);
        c = await startCollector(options);
        assert.deepEqual(await refusedRows(c), refused, "the counts survive a restart");
      } finally {
        await c.close();
      }
    });
  });
}

describe("at ingest, with the default plan", () => {
  let c: Collector;
  before(async () => {
    c = await startCollector({ port: 0, db: tempDb(), writeKeys: ["k"], readToken: "rt" });
  });
  after(() => c.close());

  test("a property of the wrong type, or not in the plan, is stripped from the message and its column", async () => {
    const event = {
      type: "track",
      anonymousId: "a1",
      messageId: "m-wrong-type",
      event: "pipeline_load",
      properties: {
        event_category: "pipeline",
        event_name: "load",
        elapsed: "3.5",
        success: "true",
        destination_name: "duckdb",
        transaction_id: "not hex",
        path: "/home/alice",
      },
      context: {
        cpu: "8",
        ci_run: false,
        exec_info: ["docker", "alice-laptop"],
        library: { name: "dlt-ts", version: "0.1.0", path: "/home/alice" },
        ip: "10.1.2.3",
      },
    };
    const r = await post(c.url, "/v1/batch", { batch: [event] }, { auth: "k" });
    assert.deepEqual([r.status, r.json], [200, { success: true }]);
    const [row] = await c.store.query(
      "SELECT elapsed, success, destination_name, transaction_id, cpu, exec_info, message FROM events WHERE message_id = 'm-wrong-type'",
    );
    const stored = JSON.parse(String(row!["message"])) as Record<string, unknown>;
    assert.deepEqual(
      [row!["elapsed"], row!["success"], row!["destination_name"], row!["transaction_id"], row!["cpu"], row!["exec_info"]],
      [null, null, "duckdb", null, null, "docker"],
    );
    assert.deepEqual(stored["properties"], { event_category: "pipeline", event_name: "load", destination_name: "duckdb" });
    assert.deepEqual(stored["context"], { ci_run: false, exec_info: ["docker"], library: { name: "dlt-ts", version: "0.1.0" } });
  });

  test("an unknown event is not stored, is answered 200 (no retry), and is counted by reason and bounded name", async () => {
    const known = {
      type: "track",
      anonymousId: "a2",
      messageId: "m-known",
      event: "command_telemetry",
      properties: { event_category: "command", event_name: "telemetry", success: true },
    };
    const unknown = (event: string, i: number) => ({
      type: "track",
      anonymousId: "a2",
      messageId: `m-unknown-${i}`,
      event,
      properties: { note: "secret text" },
    });
    const names = ["new_feature_used", "2020-13-45", '{"a": 1}', "new_feature_used", "x".repeat(65)];
    const r = await post(
      c.url,
      "/v1/batch",
      { batch: [known, ...names.map(unknown), { type: "identify", anonymousId: "a2", traits: { email: NAMES.email } }] },
      { auth: "k" },
    );
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, {
      success: true,
      stored: 1,
      refused: 6,
      refusals: [
        { at: "batch[1]", reason: "unknown_event" },
        { at: "batch[2]", reason: "unknown_event" },
        { at: "batch[3]", reason: "unknown_event" },
        { at: "batch[4]", reason: "unknown_event" },
        { at: "batch[5]", reason: "unknown_event" },
        { at: "batch[6]", reason: "not_track" },
      ],
    });
    assert.deepEqual(await c.store.query("SELECT message_id FROM events WHERE anonymous_id = 'a2'"), [{ message_id: "m-known" }]);
    assert.deepEqual(await refusedRows(c), [
      { reason: "unknown_event", event: null, n: 3 },
      { reason: "unknown_event", event: "new_feature_used", n: 2 },
      { reason: "not_track", event: "identify", n: 1 },
    ]);
    const stored = JSON.stringify(await c.store.query("SELECT * FROM refused"));
    for (const content of ["2020-13-45", '{\\"a\\": 1}', "secret text", "xxxxx"]) assert.ok(!stored.includes(content), `${content} is stored`);
  });

  test("GET /api/refused needs the read token", async () => {
    assert.equal((await post(c.url, "/api/refused", undefined, { method: "GET" })).status, 401);
  });

  test("GET /v1/plan needs no token and publishes the default plan", async () => {
    const plan = await post(c.url, "/v1/plan", undefined, { method: "GET" });
    assert.equal(plan.status, 200);
    assert.equal(plan.text, readFileSync(new URL("../../plans/default.json", import.meta.url), "utf8"));
    assert.ok((plan.json["events"] as Record<string, unknown>)["pipeline_load"]);
  });
});

test("whatever a message holds, the plan keeps only its own fields, of its own types, and never throws", () => {
  const plan = loadPlan("default")!;
  const TOP = new Set(["type", "event", "messageId", "anonymousId", "timestamp", "sentAt", "properties", "context"]);
  const events = [...plan.events.keys()];
  const message = fc.record(
    {
      type: fc.constantFrom("track", "identify"),
      event: fc.oneof(fc.constantFrom(...events), fc.string()),
      anonymousId: fc.oneof(fc.uuid(), fc.string()),
      messageId: fc.oneof(fc.uuid(), fc.string()),
      userId: fc.string(),
      properties: fc.dictionary(
        fc.oneof(fc.constantFrom("elapsed", "success", "destination_name", "transaction_id", "extract_data"), fc.string()),
        fc.anything(),
      ),
      context: fc.dictionary(fc.oneof(fc.constantFrom("ci_run", "cpu", "exec_info", "library", "os", "run_context"), fc.string()), fc.anything()),
      extra: fc.anything(),
    },
    { requiredKeys: ["type", "event"] },
  );
  fc.assert(
    fc.property(message, (m) => {
      const v = validateMessage(structuredClone(m), "");
      if (!v.ok) return;
      const r = enforce(plan, v.message, v.type);
      if (!r.ok) return;
      for (const k of Object.keys(r.message)) assert.ok(TOP.has(k), `top-level ${k} kept`);
      const allowed = plan.definition.events[String(r.message["event"])]!.properties;
      for (const [k, value] of Object.entries(r.message["properties"] as Record<string, unknown>)) {
        const field = allowed[k];
        assert.ok(field, `property ${k} kept`);
        if (field.type === "enum") assert.ok(field.values.includes(value as string), `${k}: ${String(value)}`);
        if (field.type === "number") assert.equal(typeof value, "number");
        if (field.type === "boolean") assert.equal(typeof value, "boolean");
        if (field.type === "id") assert.match(value as string, new RegExp(field.pattern));
      }
      for (const k of Object.keys((r.message["context"] as Record<string, unknown> | undefined) ?? {}))
        assert.ok(plan.definition.context[k], `context ${k} kept`);
    }),
    { numRuns: 3000 },
  );
});

test("plans/default.json is the default plan made from docs/telemetry-plan.json (run `npm run docs:events`)", () => {
  const dltTs = JSON.parse(readFileSync(new URL("../../../../docs/telemetry-plan.json", import.meta.url), "utf8")) as unknown;
  assert.equal(readFileSync(new URL("../../plans/default.json", import.meta.url), "utf8"), JSON.stringify(defaultPlan(dltTs), null, 2) + "\n");
});

describe("the plan is chosen by --plan", () => {
  test("--plan none stores every message as sent (Segment's raw API) and publishes no plan", async () => {
    const c = await startCollector({ port: 0, db: tempDb(), plan: "none" });
    try {
      const r = await post(c.url, "/", DLT_REQUESTS[0]);
      assert.deepEqual([r.status, r.json], [200, { success: true }]);
      const [row] = await c.store.query("SELECT destination_name, message FROM events");
      assert.equal(row!["destination_name"], NAMES.destination);
      assert.ok(String(row!["message"]).includes(NAMES.resource));
      const plan = await post(c.url, "/v1/plan", undefined, { method: "GET" });
      assert.equal(plan.status, 404);
      assert.match(String(plan.json["error"]), /--plan none/);
    } finally {
      await c.close();
    }
  });

  test("--plan FILE enforces another tool's plan; a plan file that cannot be used stops the start, naming the file and key", async () => {
    const dir = tempDir();
    const file = join(dir, "plan.json");
    writeFileSync(
      file,
      JSON.stringify({
        format: "dlt-telemetry-plan/1",
        name: "other-tool",
        events: { app_started: { description: "started", properties: { mode: { type: "enum", values: ["cli", "server"] } } } },
        context: { library: { type: "object", fields: { version: { type: "id", pattern: "^[0-9.]{1,20}$" } } } },
      }),
    );
    const { child, url, stdout } = await startChild(["--port", "0", "--db", join(dir, "e.duckdb"), "--plan", file, "--no-dashboard"]);
    try {
      // The line after `listening on` may arrive in a later chunk.
      for (const deadline = Date.now() + 5000; !/published at/.test(stdout()) && Date.now() < deadline; )
        await new Promise((resolve) => setImmediate(resolve));
      assert.match(stdout(), /plan: .*plan\.json \(1 events; published at http:\/\/127\.0\.0\.1:\d+\/v1\/plan\)/);
      const r = await post(url, "/v1/batch", {
        batch: [
          {
            type: "track",
            anonymousId: "a",
            event: "app_started",
            properties: { mode: "cli", user: "alice" },
            context: { library: { name: "x", version: "1.2" } },
          },
          { type: "track", anonymousId: "a", event: "pipeline_load", properties: {} },
        ],
      });
      assert.equal(r.json["refused"], 1);
      assert.equal((await post(url, "/v1/plan", undefined, { method: "GET" })).json["name"], "other-tool");
    } finally {
      child.kill("SIGTERM");
      await exited(child);
    }
    const stored = await startCollector({ port: 0, db: join(dir, "e.duckdb"), plan: "none", dashboard: false });
    try {
      assert.deepEqual(
        (await stored.store.query("SELECT message FROM events"))
          .map((r) => JSON.parse(String(r["message"])) as Record<string, unknown>)
          .map((m) => [m["event"], m["properties"], m["context"]]),
        [["app_started", { mode: "cli" }, { library: { version: "1.2" } }]],
      );
    } finally {
      await stored.close();
    }

    writeFileSync(
      file,
      JSON.stringify({ format: "dlt-telemetry-plan/1", name: "bad", events: { e_x: { properties: { id: { type: "id", pattern: "[a-z]+" } } } } }),
    );
    const bad = await startChild(["--port", "0", "--db", join(dir, "f.duckdb"), "--plan", file]).then(
      () => assert.fail("started with a bad plan"),
      (e: Error) => e.message,
    );
    assert.match(
      bad,
      new RegExp(
        `plan ${file.replaceAll("/", "\\/")}: events\\.e_x\\.properties\\.id\\.pattern: must be a regular expression anchored with \\^ and \\$`,
      ),
    );
    assert.match(bad, /collector exited with 1/);
  });
});
