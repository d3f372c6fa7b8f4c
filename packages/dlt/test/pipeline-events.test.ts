// The pipeline events, seen by a loopback receiver: a step event per step and `pipeline_run` after a run (as dlt 1.x
// sends them), one transaction id per run, correct success flags.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type FakeCollector, snapshotEvent, startFakeCollector, type RecordedEvent, tempDir } from "@dlt-ts/telemetry/testing";

const INDEX = fileURLToPath(new URL("../src/index.js", import.meta.url));
const DUCKDB = pathToFileURL(createRequire(INDEX).resolve("@duckdb/node-api")).href;

function runScript(code: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  const dir = tempDir("pev-");
  const file = join(dir, "run.mjs");
  writeFileSync(file, code);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], {
      cwd: dir,
      env: { PATH: process.env["PATH"], HOME: dir, TMPDIR: dir, ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("exit", (c) => resolve({ code: c, stderr }));
  });
}

const props = (e: RecordedEvent | undefined): Record<string, unknown> => e?.["properties"] as Record<string, unknown>;

// One process, two runs (the second's load fails); each test reads the events the receiver got from it.
describe("two runs, the second one's load failing", () => {
  let rx: FakeCollector;
  let r: Awaited<ReturnType<typeof runScript>>;
  let events: RecordedEvent[];
  let a: RecordedEvent[];
  let b: RecordedEvent[];
  before(async () => {
    rx = await startFakeCollector();
    const script = `
      import { pipeline } from ${JSON.stringify(INDEX)};
      import { DuckDBInstance } from ${JSON.stringify(DUCKDB)};
      const p = pipeline({ pipelineName: "ev", destination: "duckdb", datasetName: "ev_data" });
      await p.run([{ id: 1, secret_name: "do-not-send" }], { tableName: "users" });
      // A real load failure: the column is narrowed, so 1000 no longer fits inside the load's transaction.
      const db = await DuckDBInstance.create(p.dbPath);
      const c = await db.connect();
      await c.run("ALTER TABLE ev_data.users ALTER COLUMN id SET DATA TYPE UTINYINT");
      c.closeSync();
      db.closeSync();
      await p.run([{ id: 1000 }], { tableName: "users" }).catch(() => {});
    `;
    r = await runScript(script, { RUNTIME__DLTHUB_TELEMETRY_ENDPOINT: rx.url });
    events = await rx.waitForEvents(8);
    [a, b] = [events.slice(0, 4), events.slice(4, 8)];
  });
  after(() => rx.close());

  test("each run sends pipeline_extract, pipeline_normalize, pipeline_load, then pipeline_run", () => {
    assert.equal(r.code, 0, r.stderr);
    assert.equal(events.length, 8);
    assert.deepEqual(
      a.map((e) => e["event"]),
      ["pipeline_extract", "pipeline_normalize", "pipeline_load", "pipeline_run"],
    );
    assert.deepEqual(
      b.map((e) => e["event"]),
      ["pipeline_extract", "pipeline_normalize", "pipeline_load", "pipeline_run"],
    );
  });

  test("a failed load fails its step and the run", () => {
    // The failed load fails the run too, as in dlt (its run step ends with the exception).
    assert.deepEqual(
      b.map((e) => props(e)["success"]),
      [true, true, false, false],
    );
    assert.deepEqual(
      a.map((e) => props(e)["success"]),
      [true, true, true, true],
    );
  });

  test("each run has one transaction_id, a new one per run", () => {
    const tx = new Set(a.map((e) => props(e)["transaction_id"]));
    assert.equal(tx.size, 1);
    assert.equal(new Set(b.map((e) => props(e)["transaction_id"])).size, 1);
    assert.notEqual(props(b[0])["transaction_id"], props(a[0])["transaction_id"], "a new run, a new transaction id");
  });

  test("elapsed counts from the start of the run", () => {
    const elapsed = a.map((e) => props(e)["elapsed"] as number);
    assert.ok(elapsed[0]! <= elapsed[1]! && elapsed[1]! <= elapsed[2]! && elapsed[2]! <= elapsed[3]!, "elapsed counts from the start of the run");
  });

  test("pipeline_run has the step events' properties, and only those", () => {
    // pipeline_run has the other step events' properties, and only those.
    assert.deepEqual(snapshotEvent(a[3]!)["properties"], {
      destination_name: "duckdb",
      elapsed: "<seconds>",
      event_category: "pipeline",
      event_name: "run",
      success: true,
      transaction_id: "<hex32>",
    });
    assert.deepEqual(snapshotEvent(a[2]!)["properties"], {
      destination_name: "duckdb",
      elapsed: "<seconds>",
      event_category: "pipeline",
      event_name: "load",
      success: true,
      transaction_id: "<hex32>",
    });
  });

  test("no byte sent names the data, its table, its dataset or its columns", () => {
    for (const q of rx.requests) {
      const text = q.body.toString();
      for (const f of ["do-not-send", "users", "ev_data", "secret_name"]) assert.ok(!text.includes(f), `sent bytes contain ${f}`);
    }
  });
});

test("steps called on their own each send their event with the properties of a run's, and a trace id of their own, as dlt's do", async () => {
  const rx = await startFakeCollector();
  try {
    const script = `
      import { pipeline } from ${JSON.stringify(INDEX)};
      import { DuckDBInstance } from ${JSON.stringify(DUCKDB)};
      const p = pipeline({ pipelineName: "steps", destination: "duckdb", datasetName: "steps_data" });
      await p.extract([{ id: 1 }], { tableName: "users" });
      await p.normalize();
      await p.load();
      const db = await DuckDBInstance.create(p.dbPath);
      const c = await db.connect();
      await c.run("ALTER TABLE steps_data.users ALTER COLUMN id SET DATA TYPE UTINYINT");
      c.closeSync();
      db.closeSync();
      await p.extract([{ id: 1000 }], { tableName: "users" });
      await p.normalize();
      await p.load().catch(() => {});
    `;
    const r = await runScript(script, { RUNTIME__DLTHUB_TELEMETRY_ENDPOINT: rx.url });
    assert.equal(r.code, 0, r.stderr);
    const events = await rx.waitForEvents(6);
    assert.deepEqual(
      events.map((e) => [e["event"], props(e)["success"]]),
      [
        ["pipeline_extract", true],
        ["pipeline_normalize", true],
        ["pipeline_load", true],
        ["pipeline_extract", true],
        ["pipeline_normalize", true],
        ["pipeline_load", false],
      ],
    );
    for (const e of events) {
      // Besides the fresh machine's first event, which also counts the install (`first_run_of_version`).
      const keys = Object.keys(props(e)).filter((k) => e !== events[0] || k !== "first_run_of_version");
      assert.deepEqual(keys.sort(), ["destination_name", "elapsed", "event_category", "event_name", "success", "transaction_id"]);
      assert.equal(props(e)["destination_name"], "duckdb");
    }
    assert.equal(props(events[0]!)["first_run_of_version"], true);
    // dlt starts a trace (and so a transaction id) for every top-level call: a step on its own is one.
    assert.equal(new Set(events.map((e) => props(e)["transaction_id"])).size, 6);
  } finally {
    await rx.close();
  }
});
