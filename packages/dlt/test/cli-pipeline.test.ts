// The commands people reach for after a run — `dlt pipeline -l`, `dlt pipeline <name> info | trace | failed-jobs |
// load-package | drop-pending-packages | drop | schema | sync`, `dlt schema <file>`, `dlt init --list-sources |
// --list-destinations` — on real pipelines in real DuckDB files, including a package whose load failed. Output and
// exit codes in-process through main(); what needs a process (telemetry events, a stdin that is or is not a
// terminal, a trace read by another process) in real child processes.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { startFakeCollector, tempDir } from "@dlt-ts/telemetry/testing";
import { attach, pipeline, type Pipeline } from "../src/index.js";
import { DLT_BIN, dltInProcess as dlt, runDlt } from "./cli-helpers.js";
import { exec, query, tableNames } from "./helpers/duck.js";

// This file owns its process env: nothing it runs in-process may send or write outside its temp folder.
const dir = tempDir("dlt-cli-pipeline-");
const DATA = join(dir, "data");
process.env["HOME"] = dir;
process.env["DLT_DATA_DIR"] = DATA;
process.env["DO_NOT_TRACK"] = "1";

const json = <T = Record<string, unknown>>(text: string): T => JSON.parse(text) as T;

/**
 * A pipeline that ran three times: `users` (with nested tags and orders) and `items` loaded, then a load of `users`
 * that DuckDB refused (a column narrowed to UTINYINT cannot take 1000), whose package waits in the folder.
 */
async function shop(name: string): Promise<{ p: Pipeline; loaded: string[]; failed: string }> {
  const p = pipeline({ pipelineName: name, destination: "duckdb", datasetName: `${name}_data`, workingDir: dir });
  const a = await p.run(
    [
      { id: 1, name: "ann", tags: ["x", "y"], orders: [{ n: 1 }] },
      { id: 2, name: "bob", tags: [] },
    ],
    { tableName: "users" },
  );
  const b = await p.run([{ sku: "k1", qty: 3 }], { tableName: "items" });
  await exec(p.dbPath, `ALTER TABLE ${name}_data.users__orders ALTER COLUMN n SET DATA TYPE UTINYINT`);
  await assert.rejects(p.run([{ id: 3, name: "cy", orders: [{ n: 1000 }] }], { tableName: "users" }), /step=load/);
  const [failed] = p.listNormalizedLoadPackages();
  return { p, loaded: [...a.loadIds, ...b.loadIds], failed: failed! };
}

describe("help", () => {
  test("dlt --help lists the init, pipeline and schema commands", async () => {
    const help = await dlt("--help");
    for (const c of ["init [options] [source] [destination]", "pipeline [options]", "schema [options] <file>"]) assert.ok(help.out.includes(c), c);
  });

  test("dlt pipeline --help lists its operations in the order people type them", async () => {
    const group = (await dlt("pipeline", "--help")).out;
    assert.match(group, /^Usage: dlt pipeline <pipeline_name> \[command\] \[options\] {2}\| {2}dlt pipeline --list-pipelines/);
    for (const op of [
      "info [options]",
      "trace [options]",
      "failed-jobs [options]",
      "load-package [load_id] [options]",
      "drop-pending-packages [options]",
      "drop <tables...> [options]",
      "schema [options]",
      "sync [options]",
      "-l, --list-pipelines",
    ]) {
      assert.ok(group.includes(op), op);
    }
  });

  test("dlt pipeline <name> drop --help shows the operation's usage, with -y, --yes", async () => {
    assert.match(
      (await dlt("pipeline", "shop", "drop", "--help")).out,
      /^Usage: dlt pipeline <pipeline_name> drop <tables\.\.\.> \[options\]\n[\s\S]*-y, --yes/,
    );
  });

  test("dlt help pipeline prints what dlt pipeline --help prints", async () => {
    const group = (await dlt("pipeline", "--help")).out;
    assert.equal((await dlt("help", "pipeline")).out, group);
  });

  test("a mistyped operation exits 2 and suggests the closest one", async () => {
    const typo = await dlt("pipeline", "shop", "infoo");
    assert.equal(typo.code, 2);
    assert.equal(typo.err, "error: unknown pipeline command 'infoo'. Did you mean 'info'? (run `dlt pipeline --help` for the commands)\n");
  });
});

describe("dlt pipeline -l", () => {
  let p: Pipeline;
  before(async () => {
    ({ p } = await shop("listed"));
    const other = pipeline({ pipelineName: "listed_later", destination: "duckdb", workingDir: dir });
    await other.run([{ a: 1 }], { tableName: "t" });
  });

  test("lists the pipelines in the data dir with their last run, newest first", async () => {
    const text = await dlt("pipeline", "-l");
    assert.equal(text.code, 0, text.err);
    const lines = text.out.split("\n");
    assert.match(lines[0]!, new RegExp(`^\\d+ pipelines found in ${DATA}/pipelines$`));
    assert.match(lines[1]!, /^PIPELINE +DATASET +LAST RUN$/);
    const later = lines.findIndex((l) => l.startsWith("listed_later "));
    const failed = lines.findIndex((l) => l.startsWith("listed "));
    assert.ok(later > 1 && later < failed, "the most recent run first");
    assert.match(lines[later]!, /^listed_later +listed_later_dataset +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(just now\), COMPLETED$/);
    assert.match(lines[failed]!, /^listed +listed_data +.*, FAILED$/);
  });

  test("dlt pipeline alone lists them, as dlt does", async () => {
    const text = await dlt("pipeline", "-l");
    assert.equal((await dlt("pipeline")).out, text.out, "dlt pipeline alone lists them, as dlt does");
  });

  test("--format json gives scripts the folder and each pipeline's dataset and last run", async () => {
    const data = json<{ pipelinesDir: string; pipelines: { name: string; datasetName: string; lastRun: { failed: boolean } }[] }>(
      (await dlt("pipeline", "--list-pipelines", "--format", "json")).out,
    );
    assert.equal(data.pipelinesDir, join(DATA, "pipelines"));
    assert.deepEqual(data.pipelines.find((x) => x.name === p.pipelineName)?.lastRun.failed, true);
    assert.equal(data.pipelines.find((x) => x.name === "listed_later")?.datasetName, "listed_later_dataset");
  });
});

describe("dlt pipeline <name> info", () => {
  let shopped: Awaited<ReturnType<typeof shop>>;
  before(async () => {
    shopped = await shop("informed");
  });

  test("shows destination, dataset, state, tables with their rows in DuckDB, last loads and packages", async () => {
    const { p, loaded, failed } = shopped;
    const r = await dlt("pipeline", "informed", "info");
    assert.equal(r.code, 0, r.err);
    assert.ok(r.out.startsWith(`Found pipeline informed in ${DATA}/pipelines\nDestination: duckdb at ${p.dbPath}\nDataset: informed_data\n`), r.out);
    assert.match(
      r.out,
      /Synchronized state:\n_state_version: \d+\n[\s\S]*pipeline_name: informed\n[\s\S]*destination_type: dlt\.destinations\.duckdb\n/,
    );
    assert.match(r.out, /Local state:\nfirst_run: false\n/);
    assert.ok(
      r.out.includes(
        "TABLE          PARENT  WRITE DISPOSITION  COLUMNS  ROWS\n" +
          "users          -       append             4        2\n" +
          "users__tags    users   -                  4        2\n" +
          "users__orders  users   -                  4        1\n" +
          "items          -       append             4        1\n",
      ),
      r.out,
    );
    assert.match(
      r.out,
      new RegExp(
        `Last loads in informed_data\\._dlt_loads \\(newest first\\):\nLOAD ID +SCHEMA +STATUS +INSERTED AT\n${loaded[1]!.replace(".", "\\.")} +informed +0 +`,
      ),
    );
    assert.ok(r.out.includes(`Has 1 normalized packages ready to be loaded with following load ids:\n${failed}\n`));
    assert.ok(r.out.includes(`Has 2 completed load packages with following load ids:\n${loaded.join("\n")}\n`));
    assert.ok(r.out.endsWith("Pipeline has last run trace. Use 'dlt pipeline informed trace' to inspect\n"));
  });

  test("--format json gives the same as data", async () => {
    const { loaded, failed } = shopped;
    const data = json<{
      schemas: { tables: { name: string; rows: number }[] }[];
      loads: unknown[];
      packages: Record<string, string[]>;
      hasTrace: boolean;
      state: Record<string, unknown>;
      localState: Record<string, unknown>;
    }>((await dlt("pipeline", "informed", "info", "--format", "json")).out);
    assert.deepEqual(
      data.schemas[0]!.tables.map((t) => [t.name, t.rows]),
      [
        ["users", 2],
        ["users__tags", 2],
        ["users__orders", 1],
        ["items", 1],
      ],
    );
    assert.equal(data.loads.length, 2);
    assert.deepEqual(data.packages, { extracted: [], normalized: [failed], completed: loaded });
    assert.equal(data.state["_local"], undefined);
    assert.equal(data.localState["first_run"], false);
  });
});

describe("dlt pipeline <name> trace", () => {
  let shopped: Awaited<ReturnType<typeof shop>>;
  before(async () => {
    shopped = await shop("traced_cli");
  });

  test("shows the last run, its steps with timing and rows per table, and the error DuckDB gave the failed load", async () => {
    const { failed } = shopped;
    const r = await dlt("pipeline", "traced_cli", "trace");
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /^Run started at \S+ and FAILED in \d+\.\d\d seconds with 4 steps\.\nStep extract COMPLETED in \d+\.\d\d seconds\.\nExtracted data for the following tables:\n- users: 1 item\(s\)\n/,
    );
    assert.ok(r.out.includes("Step normalize COMPLETED in "));
    assert.ok(r.out.includes("Normalized data for the following tables:\n- users: 1 row(s)\n- users__orders: 1 row(s)\n"));
    assert.match(
      r.out,
      new RegExp(
        `Step load FAILED in \\d+\\.\\d\\d seconds\\.\nFailed due to: Error: Conversion Error[^\n]*\n[\\s\\S]*"1000"[\\s\\S]*\\(when processing load package ${failed.replace(".", "\\.")}\\)`,
      ),
    );
  });

  test("--format json prints the pipeline's lastTrace", async () => {
    const data = json((await dlt("pipeline", "traced_cli", "trace", "--format", "json")).out);
    assert.deepEqual(data, JSON.parse(JSON.stringify(shopped.p.lastTrace)), "json is lastTrace, as data");
  });

  test("a pipeline that has not run yet says it has no trace", async () => {
    const none = pipeline({ pipelineName: "never_traced", destination: "duckdb", workingDir: dir });
    await none.syncDestination(); // a folder with a state, and no run yet
    assert.equal((await dlt("pipeline", "never_traced", "trace")).out, "Pipeline does not have last run trace.\n");
  });
});

describe("dlt pipeline <name> failed-jobs and load-package", () => {
  let loaded: string[];
  let failed: string;
  before(async () => {
    ({ loaded, failed } = await shop("packaged"));
  });

  test("failed-jobs shows the failed job with DuckDB's error", async () => {
    const jobs = await dlt("pipeline", "packaged", "failed-jobs");
    assert.equal(jobs.code, 0, jobs.err);
    assert.match(
      jobs.out,
      new RegExp(
        `^Checking failed jobs in load id '${failed.replace(".", "\\.")}'\nJOB: users__orders\\.csv\\(users__orders\\)\nJOB file type: csv\nFailed at: \\S+\nConversion Error: [\\s\\S]*Could not convert string "1000" to 'UTINYINT'`,
      ),
    );
  });

  test("failed-jobs --format json lists the failed job's package, table and file", async () => {
    const jobsJson = json<{ failedJobs: { loadId: string; table: string; file: string; message: string }[] }>(
      (await dlt("pipeline", "packaged", "failed-jobs", "--format", "json")).out,
    );
    assert.deepEqual(
      jobsJson.failedJobs.map((j) => [j.loadId, j.table, j.file]),
      [[failed, "users__orders", "users__orders.csv"]],
    );
  });

  test("load-package without an id shows the pending package: its state, its failed load, its jobs with sizes and rows", async () => {
    const pending = await dlt("pipeline", "packaged", "load-package");
    assert.equal(pending.code, 0, pending.err);
    assert.ok(pending.out.startsWith(`Package ${failed} found in ${DATA}/pipelines/packaged/packages/${failed}\n`), pending.out);
    assert.ok(
      pending.out.includes(
        `The package with load id ${failed} for schema packaged is in NORMALIZED state. The package is NOT YET LOADED to the destination.\n`,
      ),
    );
    assert.match(pending.out, /Its last load FAILED at \S+ on table users__orders:\nConversion Error/);
    assert.match(
      pending.out,
      /Jobs details:\nTABLE +STATE +FILE +TYPE +SIZE +ROWS\nusers +new_jobs +users\.csv +csv +\d+ B +1\nusers__orders +failed_jobs +users__orders\.csv +csv +\d+ B +1\n$/,
    );
  });

  test("load-package <load id> of a loaded package shows when it loaded, its jobs with sizes and rows", async () => {
    const done = await dlt("pipeline", "packaged", "load-package", loaded[0]!);
    assert.equal(done.code, 0, done.err);
    assert.match(
      done.out,
      /is in LOADED state\. The package was LOADED at \S+\.\nJobs details:\n.*\nusers +completed_jobs +users\.csv +csv +\d+ B +2\nusers__tags +completed_jobs +users__tags\.csv +csv +\d+ B +2\nusers__orders +completed_jobs +users__orders\.csv +csv +\d+ B +1\n$/,
    );
    const doneJson = json<{ state: string; jobs: { table: string; rows: number }[] }>(
      (await dlt("pipeline", "packaged", "load-package", loaded[1]!, "--format", "json")).out,
    );
    assert.deepEqual([doneJson.state, doneJson.jobs.map((j) => [j.table, j.rows])], ["loaded", [["items", 1]]]);
  });

  test("load-package with an unknown load id exits 1 naming it", async () => {
    const unknown = await dlt("pipeline", "packaged", "load-package", "123.456");
    assert.equal(unknown.code, 1);
    assert.equal(unknown.err, "error: load package 123.456 was not found in pipeline packaged (see `dlt pipeline packaged info` for its packages)\n");
  });
});

test("-v is dlt's verbosity, wherever it is on a pipeline command's line, never the version", async () => {
  const { loaded } = await shop("verbose");
  const info = await dlt("pipeline", "verbose", "info", "-v");
  assert.equal(info.code, 0, info.err);
  assert.match(info.out, /verbose/);
  assert.doesNotMatch(info.out, /^0\.1\.0\n$/);
  for (const argv of [
    ["pipeline", "-v", "verbose", "load-package", loaded[0]!],
    ["pipeline", "verbose", "load-package", loaded[0]!, "-vv"],
  ]) {
    const r = await dlt(...argv);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Tables and columns:\n- users: id \(bigint\), name \(text\), .*_dlt_load_id \(text\)/, argv.join(" "));
  }
  assert.doesNotMatch((await dlt("pipeline", "verbose", "load-package", loaded[0]!)).out, /Tables and columns/, "without -v, as before");
  // At the top, as in dlt: --version only.
  const top = await dlt("-v");
  assert.equal(top.code, 2);
  assert.match(top.err, /unknown option '-v'/);
  assert.equal((await dlt("--version")).out, "0.1.0\n");
});

test("an unknown pipeline: every operation exits 1 naming it and where it looked, and points to sync", async () => {
  for (const op of [["info"], ["trace"], ["failed-jobs"], ["load-package"], ["drop-pending-packages", "--yes"], ["drop", "t", "--yes"], ["schema"]]) {
    const r = await dlt("pipeline", "nowhere", ...op);
    assert.equal(r.code, 1, op[0]);
    assert.equal(
      r.err,
      `error: pipeline nowhere was not found in ${DATA}/pipelines (no such pipeline ran on this machine). Try \`dlt pipeline nowhere sync\` to restore it from its destination, or \`dlt pipeline --list-pipelines\` for the pipelines here.\n`,
      op[0],
    );
    assert.equal(r.out, "");
  }
  assert.equal(existsSync(join(DATA, "pipelines", "nowhere")), false, "looking made no folder");
  const outside = await dlt("pipeline", "../../etc", "info");
  assert.equal(outside.code, 1);
  assert.match(outside.err, /pipeline \.\.\/\.\.\/etc was not found/);
});

describe("dlt pipeline <name> schema and dlt schema <file>", () => {
  let p: Pipeline;
  before(async () => {
    ({ p } = await shop("schemed"));
  });

  test("dlt pipeline <name> schema prints the schema in yaml as dlt does", async () => {
    const stored = p.schema()!;
    const yaml = await dlt("pipeline", "schemed", "schema");
    assert.equal(yaml.code, 0, yaml.err);
    assert.equal(yaml.err, "Found schema with name schemed\n");
    const parsed = parseYaml(yaml.out) as {
      name: string;
      version_hash: string;
      tables: Record<string, { name?: string; columns: Record<string, { name?: string; data_type: string }> }>;
    };
    assert.equal(parsed.name, "schemed");
    assert.equal(parsed.version_hash, stored.version_hash);
    assert.deepEqual(Object.keys(parsed.tables), Object.keys(stored.tables));
    assert.equal(parsed.tables["users"]!.name, undefined, "dlt leaves out the names of tables and columns: their keys say them");
    assert.deepEqual(parsed.tables["users"]!.columns["id"], { data_type: "bigint", nullable: true });
    assert.match(yaml.out, /^previous_hashes:\n- /m, "sequences in PyYAML's block style, as dlt dumps them");
  });

  test("--format json prints the same schema as json", async () => {
    const parsed: unknown = parseYaml((await dlt("pipeline", "schemed", "schema")).out);
    const asJson = await dlt("pipeline", "schemed", "schema", "--format", "json");
    assert.deepEqual(JSON.parse(asJson.out), parsed);
  });

  test("dlt schema <file> prints a schema file as the pipeline's, in yaml or json", async () => {
    const yaml = await dlt("pipeline", "schemed", "schema");
    const asJson = await dlt("pipeline", "schemed", "schema", "--format", "json");
    const file = join(dir, "schemed.schema.yaml");
    writeFileSync(file, yaml.out);
    const back = await dlt("schema", file, "--format", "json");
    assert.equal(back.code, 0, back.err);
    assert.equal(back.out, asJson.out, "a file dlt schema reads prints as the pipeline's");
    assert.equal((await dlt("schema", file)).out, yaml.out);
  });

  test("dlt schema <file> exits 1 naming a missing file, or the field of a file that is wrong", async () => {
    const missing = await dlt("schema", join(dir, "none.yaml"));
    assert.deepEqual([missing.code, missing.err], [1, `error: schema file ${join(dir, "none.yaml")} does not exist\n`]);
    const wrongType = join(dir, "wrong.schema.json");
    writeFileSync(wrongType, JSON.stringify({ name: "x", engine_version: 11, tables: { t: { columns: { a: { data_type: "blob" } } } } }));
    const bad = await dlt("schema", wrongType);
    assert.deepEqual([bad.code, bad.err], [1, `error: schema file ${wrongType}: tables.t.columns.a.data_type is "blob", not a dlt type\n`]);
  });

  test('dlt schema <file> refuses hostile YAML (aliases of aliases, a "billion laughs") at once, not expanded', async () => {
    const bomb = join(dir, "bomb.yaml");
    writeFileSync(
      bomb,
      [
        "a: &a [x, x, x, x, x, x, x, x, x]",
        ..."bcdefghi".split("").map((c, i) => `${c}: &${c} [${Array(9).fill(`*${"abcdefghi"[i]}`).join(", ")}]`),
      ].join("\n"),
    );
    const t0 = performance.now();
    const refused = await dlt("schema", bomb);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /^error: schema file .*bomb\.yaml is not valid YAML: Excessive alias count/);
    assert.ok(performance.now() - t0 < 2000);
  });

  test("a pipeline that has loaded nothing exits 1: it has no schema yet", async () => {
    const none = pipeline({ pipelineName: "schemaless", destination: "duckdb", workingDir: dir });
    await none.syncDestination();
    const empty = await dlt("pipeline", "schemaless", "schema");
    assert.deepEqual([empty.code, empty.err], [1, "error: pipeline schemaless does not have a default schema yet (it has not loaded anything)\n"]);
  });
});

describe("dlt pipeline <name> drop-pending-packages --yes", () => {
  let p: Pipeline;
  let failed: string;
  let r: Awaited<ReturnType<typeof dlt>>;
  before(async () => {
    ({ p, failed } = await shop("unpended"));
    r = await dlt("pipeline", "unpended", "drop-pending-packages", "--yes");
  });

  test("deletes the failed package, saying which", () => {
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `Has 1 normalized packages ready to be loaded with following load ids:\n${failed}\nPending packages deleted\n`);
    assert.equal(p.hasPendingData, false);
  });

  test("then failed-jobs and drop-pending-packages find nothing", async () => {
    assert.equal((await dlt("pipeline", "unpended", "failed-jobs")).out, "No failed jobs found\n");
    assert.equal((await dlt("pipeline", "unpended", "drop-pending-packages")).out, "No pending packages found\n");
  });

  test("the data loaded before stays, and the next run loads", async () => {
    assert.deepEqual(await query(p.dbPath, "SELECT count(*) AS n FROM unpended_data.users"), [{ n: 2 }]);
    await p.run([{ id: 4, orders: [{ n: 4 }] }], { tableName: "users" });
    assert.deepEqual(await query(p.dbPath, "SELECT count(*) AS n FROM unpended_data.users"), [{ n: 3 }]);
  });
});

// These tests walk one pipeline through a drop, in order, each from where the one before left it: a drop is a
// sequence (pending packages first, then the drop, the next run, a restore) and a shop() costs three runs.
describe("dlt pipeline <name> drop <table> --yes, in order", () => {
  let p: Pipeline;
  let r: Awaited<ReturnType<typeof dlt>>;
  before(async () => {
    ({ p } = await shop("dropping"));
  });

  test("refuses while a load package is pending, and drops nothing", async () => {
    const pending = await dlt("pipeline", "dropping", "drop", "users", "--yes");
    assert.equal(pending.code, 1);
    assert.match(
      pending.err,
      /^error: pipeline dropping has 1 pending load package\(s\) \(\d+\.\d+\): load them with a run, or drop them with `dlt pipeline dropping drop-pending-packages`, first\n$/,
    );
    assert.deepEqual(
      await tableNames(p.dbPath, "dropping_data"),
      ["_dlt_loads", "_dlt_pipeline_state", "_dlt_version", "items", "users", "users__orders", "users__tags"],
      "nothing dropped",
    );
  });

  test("refuses a table that is not in the schema, a nested table and a system table, naming why", async () => {
    await p.dropPendingPackages();
    for (const [table, why] of [
      ["nope", "error: table nope is not in schema dropping of pipeline dropping (its tables: users, items)\n"],
      [
        "users__tags",
        "error: table users__tags is a nested table of users in pipeline dropping: drop its root table, its nested tables go with it\n",
      ],
      ["_dlt_loads", "error: table _dlt_loads is one of dlt's system tables of pipeline dropping and cannot be dropped\n"],
    ] as const) {
      const r = await dlt("pipeline", "dropping", "drop", table, "--yes");
      assert.deepEqual([r.code, r.err], [1, why]);
    }
  });

  test("says what it drops, then drops the table and its nested tables from DuckDB and the schema", async () => {
    const versionsBefore = await query(p.dbPath, "SELECT count(*) AS n FROM dropping_data._dlt_version");
    assert.ok(Number(versionsBefore[0]!["n"]) >= 1);

    r = await dlt("pipeline", "dropping", "drop", "users", "--yes");
    assert.equal(r.code, 0, r.err);
    assert.equal(
      r.out.split("\n").slice(0, 6).join("\n"),
      [
        `About to drop the following data in dataset dropping_data in destination duckdb (${p.dbPath}):`,
        "Selected schema: dropping",
        "Selected resource(s): users",
        "Table(s) to drop: users, users__tags, users__orders",
        "\twith data in destination: users, users__tags, users__orders",
        "Resource(s) state to reset: none",
      ].join("\n"),
    );
    const schema = p.schema()!;
    assert.match(
      r.out,
      new RegExp(
        `\nDropped users, users__tags, users__orders from dataset dropping_data \\(load id \\d+\\.\\d+\\); schema dropping is now version ${schema.version}\n$`,
      ),
    );
    assert.deepEqual(await tableNames(p.dbPath, "dropping_data"), ["_dlt_loads", "_dlt_pipeline_state", "_dlt_version", "items"]);
    assert.deepEqual(
      Object.keys(schema.tables).filter((t) => !t.startsWith("_dlt")),
      ["items"],
    );
  });

  test("loads the new schema, in place of its stored versions, and the state, as a load", async () => {
    const schema = p.schema()!;
    // As dlt: the schema's stored versions are replaced by the new one, and the drop is a load with the state.
    assert.deepEqual(await query(p.dbPath, "SELECT version, version_hash FROM dropping_data._dlt_version"), [
      { version: schema.version, version_hash: schema.version_hash },
    ]);
    const [last] = await query(p.dbPath, "SELECT load_id FROM dropping_data._dlt_loads ORDER BY load_id DESC LIMIT 1");
    assert.deepEqual(
      await query(p.dbPath, `SELECT count(*) AS n FROM dropping_data._dlt_pipeline_state WHERE _dlt_load_id = '${String(last!["load_id"])}'`),
      [{ n: 1 }],
    );
  });

  test("the next run starts the table afresh: a column that was a bigint is a text column now, not a variant", async () => {
    await p.run([{ id: "u-1" }], { tableName: "users" });
    assert.deepEqual(
      await query(
        p.dbPath,
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'dropping_data' AND table_name = 'users' AND column_name = 'id'",
      ),
      [{ column_name: "id", data_type: "VARCHAR" }],
    );
  });

  test("a restore on another machine brings back the schema without the dropped tables", async () => {
    rmSync(join(DATA, "pipelines", "dropping"), { recursive: true, force: true });
    await pipeline({ pipelineName: "dropping", destination: "duckdb", datasetName: "dropping_data", workingDir: dir }).syncDestination();
    assert.deepEqual(
      Object.keys(attach("dropping").schema()!.tables).filter((t) => !t.startsWith("_dlt")),
      ["items", "users"],
    );
  });
});

// These tests walk one pipeline through a restore, in order, each from where the one before left it: the folder goes,
// a sync from the wrong dataset fails, one from the right dataset restores it, a later sync --yes replaces it.
describe("dlt pipeline <name> sync, in order", () => {
  let schemaBefore: ReturnType<Pipeline["schema"]>;
  before(async () => {
    const { p } = await shop("synced");
    schemaBefore = p.schema();
    rmSync(join(DATA, "pipelines", "synced"), { recursive: true, force: true });
  });

  test("from a dataset that holds no state of the pipeline exits 1 and changes nothing", async () => {
    const wrong = await dlt("pipeline", "synced", "sync");
    assert.equal(wrong.code, 1, "no folder and no --dataset-name: the default dataset holds no state of it");
    assert.equal(
      wrong.err,
      `error: pipeline synced was not found in dataset synced_dataset of ${join(process.cwd(), "synced.duckdb")}: nothing was restored, and the local folder was left as it was\n`,
    );
  });

  test("restores a pipeline whose folder is gone from its dataset", async () => {
    const restored = await runDlt(["pipeline", "synced", "sync", "--dataset-name", "synced_data"], {
      env: { HOME: dir, DLT_DATA_DIR: DATA, TMPDIR: dir, DO_NOT_TRACK: "1" },
      cwd: dir,
    });
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, /Dropped the local state and restored pipeline synced: state version \d+, schemas: synced\n$/);
    const back = attach("synced");
    assert.equal(back.schema()!.version_hash, schemaBefore!.version_hash);
    assert.equal(back.datasetName, "synced_data");
  });

  test("dlt pipeline -l then shows when its state was last loaded, not never: it ran, elsewhere", async () => {
    const back = attach("synced");
    // The list says when its state was last loaded, not "never": it ran, elsewhere.
    const [stateRow] = await query(
      back.dbPath,
      "SELECT strftime(created_at, '%Y-%m-%d %H:%M') AS at FROM synced_data._dlt_pipeline_state ORDER BY created_at DESC LIMIT 1",
    );
    const listed = await dlt("pipeline", "-l");
    assert.match(listed.out, /\nsynced +synced_data +[^\n]*loaded \(synced from the destination\)\n/, listed.out);
    const listedJson = json<{ pipelines: { name: string; lastRun?: { startedAt: string; from: string } }[] }>(
      (await dlt("pipeline", "-l", "--format", "json")).out,
    );
    const entry = listedJson.pipelines.find((x) => x.name === "synced");
    assert.equal(entry?.lastRun?.from, "state");
    assert.equal(entry?.lastRun?.startedAt.slice(0, 16).replace("T", " "), String(stateRow!["at"]));
  });

  test("with --yes replaces a local folder with a package waiting by the destination's state and schema", async () => {
    const back = attach("synced");
    // A local folder with a package waiting: sync drops it and takes the destination's state and schema.
    await exec(back.dbPath, "ALTER TABLE synced_data.users__orders ALTER COLUMN n SET DATA TYPE UTINYINT");
    await assert.rejects(back.run([{ id: 9, orders: [{ n: 999 }] }], { tableName: "users" }));
    assert.equal(back.hasPendingData, true);
    const again = await dlt("pipeline", "synced", "sync", "--yes");
    assert.equal(again.code, 0, again.err);
    assert.equal(attach("synced").hasPendingData, false);
    assert.equal(attach("synced").lastTrace, undefined, "the local trace went with the local state");
  });
});

describe("dlt init --list-sources and --list-destinations", () => {
  test("--list-sources lists what init can scaffold, in text and json", async () => {
    const sources = await dlt("init", "--list-sources");
    assert.equal(sources.code, 0, sources.err);
    assert.match(
      sources.out,
      /^Available dlt-ts templates \(dlt init <source> duckdb\):\nSOURCE +WRITES +LOADS\nchess +chess_pipeline\.ts +player profiles/,
    );
    assert.match(sources.out, /\n<any other name> +<name>_pipeline\.ts +a generic pipeline/);
    assert.deepEqual(
      json<{ sources: { name: string }[] }>((await dlt("init", "-l", "--format", "json")).out).sources.map((s) => s.name),
      ["chess", "<any other name>"],
    );
  });

  test("--list-destinations lists what it can scaffold into, in text and json", async () => {
    assert.equal((await dlt("init", "--list-destinations")).out, "Available dlt-ts destinations:\nduckdb\n");
    assert.deepEqual(json((await dlt("init", "--list-destinations", "--format", "json")).out), { destinations: ["duckdb"] });
  });
});

// ---------------------------------------------------------------------------------------------- in processes

const childEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ HOME: dir, DLT_DATA_DIR: DATA, TMPDIR: dir, ...extra });

test("each command sends its event, with dlt's name and properties and nothing that names the pipeline, a table or a path", async () => {
  await shop("evented");
  const file = join(dir, "evented.schema.json");
  writeFileSync(file, (await dlt("pipeline", "evented", "schema", "--format", "json")).out);
  const rx = await startFakeCollector();
  try {
    const env = childEnv({ RUNTIME__DLTHUB_TELEMETRY_ENDPOINT: rx.url });
    const runs: [string[], number][] = [
      [["pipeline", "-l"], 0],
      [["pipeline", "evented", "info"], 0],
      [["pipeline", "evented", "trace"], 0],
      [["pipeline", "evented", "failed-jobs"], 0],
      [["pipeline", "evented", "load-package"], 0],
      [["pipeline", "evented", "drop", "users", "--yes"], 1], // a package is pending
      [["pipeline", "unknown_one", "info"], 1],
      [["schema", file, "--format", "json"], 0],
      [["init", "--list-sources"], 0],
      [["init", "--list-destinations"], 0],
    ];
    for (const [args, code] of runs) {
      const r = await runDlt(args, { env, cwd: dir });
      assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
    }
    const command = (event: string, extra: Record<string, unknown>, success = true) => ({
      event,
      properties: { event_category: "command", event_name: event.slice("command_".length), success, ...extra },
    });
    // Delivered by the senders of several runs: in any order.
    const sorted = <T>(xs: T[]): T[] => xs.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    assert.deepEqual(
      sorted(
        (await rx.waitForEvents(runs.length)).map((e) => {
          const { elapsed, ...properties } = e["properties"] as Record<string, unknown>;
          assert.equal(typeof elapsed, "number");
          return { event: e["event"], properties };
        }),
      ),
      sorted([
        // The first run on this machine also counts the install.
        command("command_pipeline", { operation: "list", first_run_of_version: true }),
        command("command_pipeline", { operation: "info" }),
        command("command_pipeline", { operation: "trace" }),
        command("command_pipeline", { operation: "failed-jobs" }),
        command("command_pipeline", { operation: "load-package" }),
        command("command_pipeline", { operation: "drop" }, false),
        command("command_pipeline", { operation: "info" }, false),
        command("command_schema", { format_: "json" }),
        command("command_list_sources", {}),
        command("command_list_destinations", {}),
      ]),
    );
    for (const q of rx.requests) {
      const text = q.body.toString();
      for (const f of ["evented", "unknown_one", "users", dir]) assert.ok(!text.includes(f), `sent bytes contain ${f}`);
    }
  } finally {
    await rx.close();
  }
});

describe("drop asks first", () => {
  test("on a stdin that is not a terminal it refuses without --yes and changes nothing", async () => {
    const { p } = await shop("refusing");
    await p.dropPendingPackages();
    const r = await runDlt(["pipeline", "refusing", "drop", "users"], { env: childEnv({ DO_NOT_TRACK: "1" }), cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^About to drop the following data in dataset refusing_data/);
    assert.equal(
      r.stderr,
      "error: `dlt pipeline refusing drop` asks before it changes anything, and stdin is not a terminal: nothing was changed. Run it with --yes to apply it without asking.\n",
    );
    assert.ok((await tableNames(p.dbPath, "refusing_data")).includes("users"));
    assert.ok(p.schema()!.tables["users"]);
  });

  const hasScript = spawnSync("script", ["--version"]).status === 0;

  /** Runs `dlt args…` on a real terminal (util-linux `script` gives it a pty), typing `answer`. */
  function onTerminal(args: readonly string[], answer: string): Promise<{ code: number | null; out: string }> {
    const quote = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;
    const command = [process.execPath, DLT_BIN, ...args].map(quote).join(" ");
    return new Promise((resolve, reject) => {
      const child = spawn("script", ["-qec", command, "/dev/null"], {
        cwd: dir,
        env: { PATH: process.env["PATH"], ...childEnv({ DO_NOT_TRACK: "1" }) },
        stdio: ["pipe", "pipe", "pipe"],
      });
      let out = "";
      let answered = false;
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        // Answer once the question is on the terminal.
        if (!answered && out.includes("[y/N]: ")) {
          answered = true;
          child.stdin.write(`${answer}\n`);
        }
      });
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, out: out.replaceAll("\r\n", "\n") }));
    });
  }

  test("on a terminal, no keeps everything and yes drops", {
    skip: !hasScript && "util-linux `script` is not installed",
  }, async () => {
    const { p } = await shop("asking");
    await p.dropPendingPackages();
    const no = await onTerminal(["pipeline", "asking", "drop", "items"], "n");
    assert.equal(no.code, 0, no.out);
    assert.match(no.out, /Do you want to apply these changes\? \[y\/N\]: n\nNothing was dropped\n/);
    assert.ok((await tableNames(p.dbPath, "asking_data")).includes("items"));
    const yes = await onTerminal(["pipeline", "asking", "drop", "items"], "y");
    assert.equal(yes.code, 0, yes.out);
    assert.match(yes.out, /\[y\/N\]: y\nDropped items from dataset asking_data/);
    assert.ok(!(await tableNames(p.dbPath, "asking_data")).includes("items"));
  });
});

test("the trace of a run in one process is what `dlt pipeline <name> trace` shows in another", async () => {
  const p = pipeline({ pipelineName: "elsewhere", destination: "duckdb", workingDir: dir });
  await p.run([{ a: 1, b: [1, 2, 3] }], { tableName: "t" });
  const r = await runDlt(["pipeline", "elsewhere", "trace", "--format", "json"], { env: childEnv({ DO_NOT_TRACK: "1" }), cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), JSON.parse(JSON.stringify(p.lastTrace)));
  assert.deepEqual(
    JSON.parse(readFileSync(join(DATA, "pipelines", "elsewhere", "trace.json"), "utf8")).steps.map((s: { step: string }) => s.step),
    ["extract", "normalize", "load", "run"],
  );
});
