// dlt's step-by-step pipeline API: extract(), normalize() and load() as separate steps (in separate objects, as
// separate processes would), run() built on them, the failed step named with its package (PipelineStepFailed), and
// lastTrace: the last run as data, kept in the pipeline's folder. Telemetry is off in this file's process (the
// steps' events have their own test in pipeline-events.test.ts).
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { tempDir } from "@dlt-ts/telemetry/testing";
import { attach, type LoadInfo, type Pipeline, pipeline, PipelineStepFailed, resource } from "../src/index.js";
import { exec, query } from "./helpers/duck.js";

let dir: string;
before(() => {
  process.env["RUNTIME__DLTHUB_TELEMETRY"] = "false";
  dir = tempDir("pipe-steps-");
  process.env["DLT_DATA_DIR"] = join(dir, "data");
});
const fresh = (name: string) => pipeline({ pipelineName: name, destination: "duckdb", datasetName: `${name}_data`, workingDir: dir });

const players = [
  { id: 1, name: "magnus", titles: [{ t: "GM" }] },
  { id: 2, name: "hikaru", titles: [{ t: "GM" }, { t: "IM" }] },
];

test("extract, normalize and load run as separate steps, each by its own pipeline object, and load what run loads", async () => {
  const extracted = await fresh("steps").extract(resource(players, { name: "players", writeDisposition: "merge", primaryKey: "id" }));
  assert.deepEqual(extracted.tables, { players: 2 });
  assert.equal(extracted.loadIds.length, 1);
  const [loadId] = extracted.loadIds;

  // A new object, as a new process would be: the package and its resource's hints come from the pipeline's folder.
  const second = fresh("steps");
  assert.deepEqual(second.listExtractedLoadPackages(), [loadId]);
  assert.equal(second.hasPendingData, true);
  const normalized = await second.normalize();
  assert.deepEqual(normalized.loadIds, [loadId]);
  assert.deepEqual(normalized.tables, { players: 2, players__titles: 3 });
  assert.deepEqual(second.listNormalizedLoadPackages(), [loadId]);

  const third = fresh("steps");
  const loaded = await third.load();
  assert.deepEqual(loaded.loadIds, [loadId]);
  assert.deepEqual(loaded.tables, { players: 2, players__titles: 3 });
  assert.equal(third.hasPendingData, false);
  assert.deepEqual(third.listCompletedLoadPackages(), [loadId]);
  assert.deepEqual(await query(third.dbPath, "SELECT id, name FROM steps_data.players ORDER BY id"), [
    { id: 1, name: "magnus" },
    { id: 2, name: "hikaru" },
  ]);

  // The hints went with the package: the table merges on its primary key.
  await fresh("steps").run(resource([{ id: 2, name: "nakamura", titles: [] }], { name: "players", writeDisposition: "merge", primaryKey: "id" }));
  assert.deepEqual(await query(third.dbPath, "SELECT id, name FROM steps_data.players ORDER BY id"), [
    { id: 1, name: "magnus" },
    { id: 2, name: "nakamura" },
  ]);
  assert.deepEqual(
    await query(third.dbPath, "SELECT count(*) AS n FROM steps_data.players__titles"),
    [{ n: 1 }],
    "the replaced row's nested rows went with it",
  );

  // Nothing waiting: the steps have nothing to do, and say so.
  assert.deepEqual((await fresh("steps").normalize()).loadIds, []);
  assert.deepEqual((await fresh("steps").load()).loadIds, []);
});

test("a failed step names itself and its package: extract with the source's error, normalize removing its package, load keeping it with DuckDB's error", async () => {
  const p = fresh("failing_steps");
  const boom = new TypeError("the API went away");
  const extract = await p
    .extract(
      function* broken() {
        yield { id: 1 };
        throw boom;
      },
      { tableName: "t" },
    )
    .catch((e: unknown) => e);
  assert.ok(extract instanceof PipelineStepFailed);
  assert.equal(extract.step, "extract");
  assert.equal(extract.cause, boom);
  assert.match(extract.loadId ?? "", /^\d+\.\d{6}$/);
  assert.match(
    extract.message,
    /^Pipeline execution failed at `step=extract` when processing package with `load_id=\d+\.\d+` with exception:\n\nTypeError\nthe API went away$/,
  );
  assert.deepEqual(p.listExtractedLoadPackages(), [], "an extract that failed is no package");

  await p.run([{ id: 1, kids: [{ k: 1 }] }], { tableName: "t" });
  await p.extract([{ id: 3, big: 2n ** 64n }], { tableName: "t" });
  const normalize = await p.normalize().catch((e: unknown) => e);
  assert.ok(normalize instanceof PipelineStepFailed);
  assert.equal(normalize.step, "normalize");
  assert.match(String((normalize.cause as Error).message), /^table t: column big \(bigint\) cannot hold bigint value 18446744073709551616/);
  assert.equal(p.hasPendingData, false, "a package that cannot be normalized is removed");

  // A real DuckDB error inside the load's transaction: the column is narrowed, 1000 no longer fits.
  await exec(p.dbPath, "ALTER TABLE failing_steps_data.t__kids ALTER COLUMN k SET DATA TYPE UTINYINT");
  const extracted = await p.extract([{ id: 3, kids: [{ k: 1000 }] }], { tableName: "t" });
  await p.normalize();
  const load = await p.load().catch((e: unknown) => e);
  assert.ok(load instanceof PipelineStepFailed);
  assert.equal(load.step, "load");
  assert.equal(load.loadId, extracted.loadIds[0]);
  assert.match(String((load.cause as Error).message), /^Conversion Error/);
  assert.equal(load.hasPendingData, true);
  assert.match(load.message, /Pending packages are left in the pipeline[\s\S]*`dlt pipeline failing_steps drop-pending-packages`/);
  assert.deepEqual(p.listNormalizedLoadPackages(), extracted.loadIds, "the package waits for the next load");
  const [failed] = p.listFailedJobs();
  assert.equal(failed?.table, "t__kids");
  assert.equal(failed?.file, "t__kids.csv");
  assert.match(failed?.message ?? "", /Could not convert string "1000" to 'UTINYINT'/);
  const info = p.getLoadPackageInfo(extracted.loadIds[0]!);
  assert.deepEqual(
    info.jobs.map((j) => [j.table, j.state, j.rows]),
    [
      ["t", "new_jobs", 1],
      ["t__kids", "failed_jobs", 1],
    ],
  );

  await exec(p.dbPath, "ALTER TABLE failing_steps_data.t__kids ALTER COLUMN k SET DATA TYPE BIGINT"); // the cause is fixed
  assert.deepEqual((await p.load()).loadIds, extracted.loadIds);
  assert.deepEqual(p.listFailedJobs(), []);
  assert.deepEqual(
    p.getLoadPackageInfo(extracted.loadIds[0]!).jobs.map((j) => j.state),
    ["completed_jobs", "completed_jobs"],
  );
});

describe("lastTrace", () => {
  describe("after a run", () => {
    let p: Pipeline;
    let info: LoadInfo;
    before(async () => {
      p = fresh("traced");
      info = await p.run(players, { tableName: "players" });
    });

    test("holds the run's steps with timing, packages and rows per table", () => {
      const trace = p.lastTrace!;
      assert.equal(trace.pipelineName, "traced");
      assert.match(trace.transactionId, /^[0-9a-f]{32}$/);
      assert.equal(trace.datasetName, "traced_data");
      assert.equal(trace.dbPath, p.dbPath);
      assert.deepEqual(
        trace.steps.map((s) => s.step),
        ["extract", "normalize", "load", "run"],
      );
      assert.deepEqual(
        trace.steps.map((s) => s.rows),
        [{ players: 2 }, { players: 2, players__titles: 3 }, { players: 2, players__titles: 3 }, { players: 2, players__titles: 3 }],
      );
      assert.ok(trace.steps.every((s) => s.loadIds.join() === info.loadIds.join() && s.elapsed >= 0 && s.exception === undefined));
      assert.ok(Date.parse(trace.finishedAt!) >= Date.parse(trace.startedAt));
    });

    test("is kept in the pipeline's folder, for another object or process to read", () => {
      const trace = p.lastTrace!;
      assert.deepEqual(attach("traced").lastTrace, trace, "another object (or process) reads the same trace from the folder");
    });
  });

  // In order, on purpose: the failing run's trace is told apart from the one the single steps before it made.
  describe("single steps, then a failing run, in order", () => {
    let q: Pipeline;
    let first: string;

    test("steps called one by one are one trace, as dlt merges them", async () => {
      // Steps called one by one are one trace, as dlt merges them: a new run replaces the trace, each single step is appended.
      q = fresh("traced_steps");
      await q.extract([{ a: 1 }], { tableName: "t" });
      first = q.lastTrace!.transactionId;
      await q.normalize();
      await q.load();
      const steps = attach("traced_steps").lastTrace!;
      assert.equal(steps.transactionId, first);
      assert.deepEqual(
        steps.steps.map((s) => s.step),
        ["extract", "normalize", "load"],
      );
    });

    test("a run is a new trace, and its failed step keeps the error of its cause and the package", async () => {
      // A failed step keeps the error of its cause and the package.
      await exec(q.dbPath, "ALTER TABLE traced_steps_data.t ALTER COLUMN a SET DATA TYPE UTINYINT");
      await assert.rejects(q.run([{ a: 1000 }], { tableName: "t" }), PipelineStepFailed);
      const failed = attach("traced_steps").lastTrace!;
      assert.notEqual(failed.transactionId, first, "a run is a new trace");
      assert.deepEqual(
        failed.steps.map((s) => [s.step, s.exception !== undefined]),
        [
          ["extract", false],
          ["normalize", false],
          ["load", true],
          ["run", true],
        ],
      );
      const load = failed.steps[2]!;
      assert.equal(load.exception?.loadId, failed.steps[0]!.loadIds[0]);
      assert.match(load.exception?.message ?? "", /^Conversion Error.*value 1000/);
    });
  });
});

test("drop-pending-packages deletes what waits and makes the next package carry the pipeline state again", async () => {
  const p = fresh("dropped_pending");
  await p.extract([{ a: 1 }], { tableName: "t" });
  await p.normalize(); // this package carries the pipeline's first state
  assert.equal((await p.dropPendingPackages()).length, 1);
  assert.equal(p.hasPendingData, false);
  await p.run([{ a: 2 }], { tableName: "t" });
  assert.deepEqual(
    await query(p.dbPath, "SELECT count(*) AS n FROM dropped_pending_data._dlt_pipeline_state"),
    [{ n: 1 }],
    "the state the dropped package carried was loaded with the next one",
  );
  assert.deepEqual(await query(p.dbPath, "SELECT a FROM dropped_pending_data.t"), [{ a: 2 }]);
});
