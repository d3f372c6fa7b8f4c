// pipeline.run into a real DuckDB file. Telemetry is off in this file's process (its events have their own test).
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pipeline, type Pipeline, PipelineStepFailed, resource } from "../src/index.js";
import { tempDir } from "@dlt-ts/telemetry/testing";
import { runNode } from "./cli-helpers.js";
import { columns, exec, query, tableNames } from "./helpers/duck.js";

const INDEX = fileURLToPath(new URL("../src/index.js", import.meta.url));

let dir: string;
before(() => {
  process.env["RUNTIME__DLTHUB_TELEMETRY"] = "false";
  dir = tempDir("pipe-");
  process.env["DLT_DATA_DIR"] = join(dir, "data");
});
const fresh = (name: string) => pipeline({ pipelineName: name, destination: "duckdb", datasetName: `${name}_data`, workingDir: dir });

describe("normalize: nesting, types and names", () => {
  describe("one run of nested rows", () => {
    let p: Pipeline;
    let info: Awaited<ReturnType<Pipeline["run"]>>;
    const customers = (): ReturnType<typeof query> =>
      query(p.dbPath, "SELECT id, user_name, address__city, address__geo__lat, _dlt_id, _dlt_load_id FROM nested_data.customers ORDER BY id");
    before(async () => {
      p = fresh("nested");
      info = await p.run(
        [
          {
            id: 1,
            userName: "ann",
            address: { city: "Oslo", geo: { lat: 59.9 } },
            orders: [{ sku: "a", lines: [{ qty: 1 }, { qty: 2 }] }, { sku: "b" }],
          },
          { id: 2, userName: "bob", address: { city: "Rome" }, orders: [] },
        ],
        { tableName: "Customers" },
      );
    });

    test("nested objects flatten into columns joined by __, in snake_case", async () => {
      const db = p.dbPath;
      const parents = await customers();
      assert.deepEqual(
        parents.map((r) => [r["id"], r["user_name"], r["address__city"], r["address__geo__lat"]]),
        [
          [1, "ann", "Oslo", 59.9],
          [2, "bob", "Rome", null],
        ],
      );
      assert.deepEqual(
        await columns(db, "nested_data", "customers"),
        [
          ["id", "BIGINT"],
          ["user_name", "VARCHAR"],
          ["address__city", "VARCHAR"],
          ["address__geo__lat", "DOUBLE"],
          ["_dlt_load_id", "VARCHAR"],
          ["_dlt_id", "VARCHAR"],
        ],
        "an empty list adds no column; the _dlt columns follow the first row's columns, as in dlt",
      );
    });

    test("lists of objects become nested tables, each row linked to its parent and its place in the list", async () => {
      const db = p.dbPath;
      assert.deepEqual(info.tables, { customers: 2, customers__orders: 2, customers__orders__lines: 2 });
      const orders = await query(
        db,
        "SELECT o.sku, o._dlt_list_idx, c.id FROM nested_data.customers__orders o JOIN nested_data.customers c ON o._dlt_parent_id = c._dlt_id ORDER BY o._dlt_list_idx",
      );
      assert.deepEqual(orders, [
        { sku: "a", _dlt_list_idx: 0, id: 1 },
        { sku: "b", _dlt_list_idx: 1, id: 1 },
      ]);
      const lines = await query(
        db,
        "SELECT l.qty, l._dlt_list_idx, o.sku FROM nested_data.customers__orders__lines l JOIN nested_data.customers__orders o ON l._dlt_parent_id = o._dlt_id ORDER BY l.qty",
      );
      assert.deepEqual(lines, [
        { qty: 1, _dlt_list_idx: 0, sku: "a" },
        { qty: 2, _dlt_list_idx: 1, sku: "a" },
      ]);
    });

    test("root rows carry the run's _dlt_load_id, and every row a _dlt_id", async () => {
      const parents = await customers();
      assert.ok(parents.every((r) => typeof r["_dlt_id"] === "string" && r["_dlt_load_id"] === info.loadIds[0]));
    });

    test("an appended nested table has no root key and no load id, only its link to its parent", async () => {
      const db = p.dbPath;
      assert.deepEqual(
        (await columns(db, "nested_data", "customers__orders__lines")).map(([c]) => c),
        ["qty", "_dlt_parent_id", "_dlt_list_idx", "_dlt_id"],
        "no root key or load id in an appended nested table",
      );
    });

    test("a loaded package is removed", () => {
      assert.deepEqual(readdirSync(join(dir, "data", "pipelines", "nested", "packages")), [], "a loaded package is removed");
    });
  });

  describe("types", () => {
    let p: Pipeline;
    before(async () => {
      p = fresh("types");
      // Level 1: `j` is flattened, the list in it is at level 0 and stays whole (without the limit: a nested table).
      await p.run([{ i: 1, d: 1.5, b: true, t: "hi", ts: "2024-05-01T10:00:00Z", j: { deep: [{ a: 1 }, "two", null] } }], {
        tableName: "t",
        maxTableNesting: 1,
      });
    });

    test("values load as bigint, double, bool, text, and timestamp from ISO-8601", async () => {
      assert.deepEqual((await columns(p.dbPath, "types_data", "t")).slice(0, 6), [
        ["i", "BIGINT"],
        ["d", "DOUBLE"],
        ["b", "BOOLEAN"],
        ["t", "VARCHAR"],
        ["ts", "TIMESTAMP WITH TIME ZONE"],
        ["j__deep", "JSON"],
      ]);
      const [row] = await query(p.dbPath, "SELECT epoch_ms(ts) AS ms, j__deep::VARCHAR AS j FROM types_data.t");
      assert.equal(row?.["ms"], Date.parse("2024-05-01T10:00:00Z"));
    });

    test("a list nested beyond maxTableNesting stays whole in a json column, not a nested table", async () => {
      const [row] = await query(p.dbPath, "SELECT epoch_ms(ts) AS ms, j__deep::VARCHAR AS j FROM types_data.t");
      assert.equal(row?.["j"], '[{"a":1},"two",null]');
      assert.deepEqual(await tableNames(p.dbPath, "types_data"), ["_dlt_loads", "_dlt_pipeline_state", "_dlt_version", "t"]);
    });
  });

  test("a timestamp without an offset is UTC, as in dlt, whatever the machine's time zone", async () => {
    // DuckDB takes its session time zone from the process's TZ once, so the run is a process of its own.
    const script = `import { pipeline } from ${JSON.stringify(INDEX)};
    await pipeline({ pipelineName: "naive", destination: "duckdb", datasetName: "naive_data" }).run([{ seen: "2024-05-01T10:00:00" }, { seen: "2024-05-01 10:00" }], { tableName: "t" });`;
    const r = await runNode(["--input-type=module", "-e", script], {
      cwd: dir,
      env: { PATH: process.env["PATH"], HOME: dir, TZ: "Europe/Oslo", DLT_DATA_DIR: join(dir, "data"), RUNTIME__DLTHUB_TELEMETRY: "false" },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await query(join(dir, "naive.duckdb"), "SELECT DISTINCT epoch_ms(seen) AS ms FROM naive_data.t"), [
      { ms: Date.parse("2024-05-01T10:00:00Z") },
    ]);
  });

  test("schema evolution across two runs: a new field adds a column, and a clashing type goes to a variant column", async () => {
    const p = fresh("evolve");
    await p.run([{ id: 1, score: 10 }], { tableName: "players" });
    const info = await p.run([{ id: 2, score: "high", country: "NO" }], { tableName: "players" });
    assert.equal(info.tables["players"], 1);
    const rows = await query(p.dbPath, "SELECT id, score, score__v_text, country FROM evolve_data.players ORDER BY id");
    assert.deepEqual(rows, [
      { id: 1, score: 10, score__v_text: null, country: null },
      { id: 2, score: null, score__v_text: "high", country: "NO" },
    ]);
    assert.equal((await query(p.dbPath, "SELECT count(*) AS n FROM evolve_data._dlt_loads"))[0]?.["n"], 2);
  });

  test("values survive the trip: quotes, commas, newlines, empty strings, unicode, big and small numbers, BigInt, offsets, JSON in a json column", async () => {
    const p = fresh("values");
    const texts = ['say "hi", ok', "two\nlines\r\nthree", "", " padded ", "NULL", "back\\slash", "ключ 🦆", "a,b,c"];
    const json = [[1, { a: "x" }], { k: "plain" }, []];
    await p.run(
      texts.map((s, i) => ({
        i,
        s,
        d: [1e21, -0.5, 2 ** 53 + 2, 0.1][i % 4],
        n: 2n ** 63n - 1n - BigInt(i),
        f: i % 2 === 0,
        ts: "2024-05-01T12:00:00.250+02:00",
        j: json[i % 3],
      })),
      { tableName: "v", maxTableNesting: 0 },
    );
    const rows = await query(p.dbPath, "SELECT i, s, d, n::VARCHAR AS n, f, epoch_ms(ts) AS ms, j::VARCHAR AS j FROM values_data.v ORDER BY i");
    assert.deepEqual(
      rows.slice(0, 2).map((r) => r["n"]),
      ["9223372036854775807", "9223372036854775806"],
      "a BigInt loads exact",
    );
    assert.deepEqual((await columns(p.dbPath, "values_data", "v"))[3], ["n", "BIGINT"]);
    assert.deepEqual(
      rows.map((r) => r["s"]),
      texts,
    );
    assert.deepEqual(
      rows.slice(0, 4).map((r) => r["d"]),
      [1e21, -0.5, 2 ** 53 + 2, 0.1],
    );
    assert.deepEqual(
      rows.slice(0, 2).map((r) => r["f"]),
      [true, false],
    );
    assert.ok(rows.every((r) => r["ms"] === Date.parse("2024-05-01T10:00:00.250Z")));
    assert.deepEqual(
      rows.slice(0, 3).map((r) => r["j"]),
      ['[1,{"a":"x"}]', '{"k":"plain"}', "[]"],
    );
    assert.deepEqual(
      await query(p.dbPath, "SELECT count(*) AS n FROM information_schema.columns WHERE table_name = 'v' AND column_name LIKE '%__v_%'"),
      [{ n: 0 }],
    );
    await assert.rejects(
      p.run([{ big: 2n ** 64n }], { tableName: "v2" }),
      /step=normalize` when processing package [\s\S]*table v2: column big \(bigint\) cannot hold bigint value 18446744073709551616/,
    );
  });

  test("a column appearing late in a big batch, coercion and variants as dlt does them, and keys made snake_case", async () => {
    const p = fresh("late");
    function* rows() {
      for (let i = 0; i < 30_000; i++) {
        yield i < 29_990
          ? { Id: i, "Full Name": `n${i}`, Score: i }
          : { Id: i, "Full Name": i, Score: i % 2 ? "n/a" : `${i}`, lateField: true, nested: { deepKey: [{ x: i }] } };
      }
    }
    const info = await p.run(rows, { tableName: "Late Table" });
    assert.deepEqual(info.tables, { late_table: 30_000, late_table__nested__deep_key: 10 });
    // A number fits a text column ("29990"), a numeric string a bigint column; "n/a" does not: it goes to a variant.
    assert.deepEqual(
      await query(
        p.dbPath,
        "SELECT count(*) AS n, count(late_field) AS late, count(full_name) AS t, count(score) AS s, count(score__v_text) AS v, max(full_name) AS top FROM late_data.late_table",
      ),
      [{ n: 30_000, late: 10, t: 30_000, s: 29_995, v: 5, top: "n9999" }],
    );
    assert.deepEqual(
      await query(p.dbPath, "SELECT typeof(full_name) AS t, '#' || full_name AS name, score FROM late_data.late_table WHERE id = 29990"),
      [{ t: "VARCHAR", name: "#29990", score: 29990 }],
    );
  });
});

describe("write dispositions", () => {
  let p: Pipeline;
  before(() => {
    p = fresh("dispositions");
  });

  test("replace swaps the table and its child tables", async () => {
    await p.run(
      [
        { id: 1, v: "a", kids: [{ k: 1 }] },
        { id: 2, v: "b", kids: [{ k: 2 }] },
      ],
      { tableName: "r", writeDisposition: "replace" },
    );
    await p.run([{ id: 3, v: "c", kids: [{ k: 3 }] }], { tableName: "r", writeDisposition: "replace" });
    assert.deepEqual(await query(p.dbPath, "SELECT id FROM dispositions_data.r"), [{ id: 3 }]);
    assert.deepEqual(await query(p.dbPath, "SELECT k FROM dispositions_data.r__kids"), [{ k: 3 }]);
  });

  test("merge upserts on the primary key and drops the replaced rows' children", async () => {
    const items = (rows: Record<string, unknown>[]) => resource(rows, { name: "m", writeDisposition: "merge", primaryKey: "id" });
    await p.run(
      items([
        { id: 1, v: "a", kids: [{ k: 1 }, { k: 11 }] },
        { id: 2, v: "b", kids: [{ k: 2 }] },
      ]),
    );
    await p.run(
      items([
        { id: 2, v: "B", kids: [{ k: 22 }] },
        { id: 4, v: "d" },
      ]),
    );
    assert.deepEqual(await query(p.dbPath, "SELECT id, v FROM dispositions_data.m ORDER BY id"), [
      { id: 1, v: "a" },
      { id: 2, v: "B" },
      { id: 4, v: "d" },
    ]);
    assert.deepEqual(
      await query(
        p.dbPath,
        "SELECT m.id, k.k FROM dispositions_data.m__kids k JOIN dispositions_data.m m ON k._dlt_parent_id = m._dlt_id ORDER BY k.k",
      ),
      [
        { id: 1, k: 1 },
        { id: 1, k: 11 },
        { id: 2, k: 22 },
      ],
    );
  });

  test("merge with no primary key appends, with a warning, as dlt does", async () => {
    // Merge with no primary key is dlt's append, with a warning; it is not a failed normalize.
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.message);
    process.on("warning", onWarning);
    try {
      await p.run([{ id: 1 }], { tableName: "nopk", writeDisposition: "merge" });
      await p.run([{ id: 1 }], { tableName: "nopk", writeDisposition: "merge" });
      // 'warning' events come on the next tick after emitWarning.
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off("warning", onWarning);
    }
    assert.deepEqual(await query(p.dbPath, "SELECT id FROM dispositions_data.nopk"), [{ id: 1 }, { id: 1 }]);
    assert.ok(warnings.includes("dlt-ts: table nopk has write_disposition merge but no primary key: its rows are appended"), warnings.join("\n"));
  });

  test("a write disposition dlt does not have is refused where it is given, naming the value and the choices", async () => {
    const p = pipeline({ pipelineName: "bad_disposition", destination: "duckdb", workingDir: tempDir("dlt-wd-") });
    const upsert = "upsert" as unknown as "merge";
    assert.throws(
      () => resource([{ id: 1 }], { name: "r", writeDisposition: upsert }),
      /^Error: resource r: writeDisposition "upsert" is not one of append, replace, merge$/,
    );
    await assert.rejects(
      p.run([{ id: 1 }], { tableName: "t", writeDisposition: upsert }),
      /run: writeDisposition "upsert" is not one of append, replace, merge/,
    );
    assert.equal(p.schema(), undefined, "nothing was stored");
  });

  test("merge deduplicates incoming rows on the primary key (the last wins) and supports a compound key", async () => {
    const p = fresh("mergekeys");
    const games = (rows: Record<string, unknown>[]) => resource(rows, { name: "games", writeDisposition: "merge", primaryKey: ["site", "gameId"] });
    await p.run(
      games([
        { site: "a", gameId: 1, r: 1, moves: [{ m: "e4" }] },
        { site: "b", gameId: 1, r: 1 },
        { site: "a", gameId: 1, r: 2, moves: [{ m: "d4" }] },
      ]),
    );
    assert.deepEqual(await query(p.dbPath, "SELECT site, game_id, r FROM mergekeys_data.games ORDER BY site"), [
      { site: "a", game_id: 1, r: 2 },
      { site: "b", game_id: 1, r: 1 },
    ]);
    assert.deepEqual(
      await query(p.dbPath, "SELECT m FROM mergekeys_data.games__moves"),
      [{ m: "d4" }],
      "the dropped duplicate's children are not loaded",
    );
    await p.run(games([{ site: "b", gameId: 1, r: 3 }]));
    assert.deepEqual(await query(p.dbPath, "SELECT site, r FROM mergekeys_data.games ORDER BY site"), [
      { site: "a", r: 2 },
      { site: "b", r: 3 },
    ]);
    await assert.rejects(p.run(games([{ site: "c", r: 1 }])), /item 1 of table games has no value for its primary key column game_id/);
  });
});

describe("failing loads", () => {
  // These two tests share one pipeline, in order: the second loads the package the first one's failure left.
  describe("a failing load, then the next run", () => {
    let p: Pipeline;
    let pending: string[];
    const packages = (): string => join(dir, "data", "pipelines", "failing", "packages");
    before(() => {
      p = fresh("failing");
    });

    test("a failing load (a real DuckDB error mid-transaction) leaves the previous data intact and its package on disk", async () => {
      await p.run([{ id: 1, kids: [{ k: 1 }] }], { tableName: "t", writeDisposition: "replace" });
      // The user narrows a column: the next load fails inside its transaction, after the replace deleted both tables'
      // rows and inserted the parent rows, when DuckDB cannot fit k = 1000 into a UTINYINT.
      await exec(p.dbPath, "ALTER TABLE failing_data.t__kids ALTER COLUMN k SET DATA TYPE UTINYINT");
      await assert.rejects(p.run([{ id: 2, kids: [{ k: 1000 }] }], { tableName: "t", writeDisposition: "replace" }), /Conversion Error.*1000/s);
      assert.deepEqual(await query(p.dbPath, "SELECT id FROM failing_data.t"), [{ id: 1 }], "previous data intact");
      assert.deepEqual(await query(p.dbPath, "SELECT k FROM failing_data.t__kids"), [{ k: 1 }]);
      assert.equal((await query(p.dbPath, "SELECT count(*) AS n FROM failing_data._dlt_loads"))[0]?.["n"], 1);
      pending = readdirSync(packages());
      assert.equal(pending.length, 1, "the package waits on disk");
    });

    test("the next run loads the package left first, then its own, and leaves none", async () => {
      await exec(p.dbPath, "ALTER TABLE failing_data.t__kids ALTER COLUMN k SET DATA TYPE BIGINT"); // the cause is fixed
      const info = await p.run([{ id: 3, kids: [{ k: 3 }] }], { tableName: "t", writeDisposition: "append" });
      assert.deepEqual(info.loadIds, [pending[0], info.loadIds[1]], "the left package is loaded first, then the new one");
      assert.deepEqual(info.tables, { t: 2, t__kids: 2 });
      assert.deepEqual(
        await query(p.dbPath, "SELECT t.id, k.k FROM failing_data.t JOIN failing_data.t__kids k ON k._dlt_parent_id = t._dlt_id ORDER BY t.id"),
        [
          { id: 2, k: 1000 },
          { id: 3, k: 3 },
        ],
      );
      assert.equal((await query(p.dbPath, "SELECT count(*) AS n FROM failing_data._dlt_loads"))[0]?.["n"], 3);
      assert.deepEqual(readdirSync(packages()), []);
    });
  });

  test("DuckDB running out of memory under the load's cap: the package is retried with the next cap, and with none left it fails with the data intact", async () => {
    const rows = Array.from({ length: 3000 }, (_, i) =>
      Object.fromEntries([["id", i], ...Array.from({ length: 30 }, (_, c) => [`c${c}`, `value ${i} ${c}`])]),
    );
    const withCaps = async <T>(caps: string, fn: () => Promise<T>): Promise<T> => {
      process.env["DLT_DUCKDB_MEMORY_LIMIT"] = caps;
      try {
        return await fn();
      } finally {
        delete process.env["DLT_DUCKDB_MEMORY_LIMIT"];
      }
    };
    const p = fresh("capped");
    await p.run([{ id: -1 }], { tableName: "wide" });
    // One cap too small for a row group of this table: DuckDB's own error, nothing loaded, the package kept.
    await assert.rejects(
      withCaps("1MB", () => p.run(rows, { tableName: "wide" })),
      /Out of Memory Error/,
    );
    assert.deepEqual(await query(p.dbPath, "SELECT count(*) AS n FROM capped_data.wide"), [{ n: 1 }]);
    assert.equal(readdirSync(join(dir, "data", "pipelines", "capped", "packages")).length, 1);
    // The same cap, then a larger one: the left package and the new one both load.
    const info = await withCaps("1MB, 256MB", () => p.run(rows.slice(0, 10), { tableName: "wide" }));
    assert.equal(info.loadIds.length, 2);
    assert.deepEqual(await query(p.dbPath, "SELECT count(*) AS n FROM capped_data.wide"), [{ n: 3011 }]);
  });
});

describe("data a run takes", () => {
  let p: Pipeline;
  before(() => {
    p = fresh("shapes");
  });

  test("iterables, generators, async generators and resources each load their items", async () => {
    await p.run(new Set([{ a: 1 }]), { tableName: "from_set" });
    await p.run(
      function* gen() {
        yield { a: 1 };
        yield { a: 2 };
      },
      { tableName: "from_gen" },
    );
    await p.run(
      (async function* () {
        yield { a: 1 };
      })(),
      { tableName: "from_async" },
    );
    await p.run(
      resource(async function* named() {
        yield { a: 5 };
      }),
    );
    for (const [t, n] of [
      ["from_set", 1],
      ["from_gen", 2],
      ["from_async", 1],
      ["named", 1],
    ] as const) {
      assert.equal((await query(p.dbPath, `SELECT count(*) AS n FROM shapes_data.${t}`))[0]?.["n"], n, t);
    }
  });

  test("a yielded array is a batch of items, and a null item carries nothing, as in dlt", async () => {
    // As in dlt: a yielded array is a batch of items; null items carry nothing.
    await p.run(function* batches() {
      yield [{ a: 1 }, { a: 2 }];
      yield null;
      yield { a: 3 };
    });
    assert.equal((await query(p.dbPath, "SELECT count(*) AS n FROM shapes_data.batches"))[0]?.["n"], 3);
  });

  test("an error thrown by the data reaches the caller as the cause of the extract step that failed", async () => {
    const boom = new TypeError("source broke");
    await assert.rejects(
      p.run(
        function* bad() {
          yield { a: 1 };
          throw boom;
        },
        { tableName: "x" },
      ),
      (e) => e instanceof PipelineStepFailed && e.step === "extract" && e.cause === boom,
    );
  });

  test("an item that is not a JSON value is refused naming its place, and the failed extract leaves no package", async () => {
    await assert.rejects(p.run([{ a: 1 }, () => 1], { tableName: "x" }), /item 2 of table x is a function, not a JSON value/);
    assert.deepEqual(p.listExtractedLoadPackages(), [], "an extract that failed leaves no package");
  });
});

describe("runs of one pipeline take turns", () => {
  test("a second run at the same time fails clearly, and the first completes", async () => {
    const p = fresh("turns");
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    async function* slow() {
      yield { id: 1 };
      await gate; // the first run is mid-extract while the second starts
      yield { id: 2 };
    }
    const first = p.run(slow, { tableName: "t" });
    await assert.rejects(
      fresh("turns").run([{ id: 3 }], { tableName: "t" }),
      /pipeline turns is already running in this process; runs of one pipeline take turns/,
    );
    release();
    assert.equal((await first).rows, 2);
    assert.deepEqual(await query(p.dbPath, "SELECT id FROM turns_data.t ORDER BY id"), [{ id: 1 }, { id: 2 }]);
  });

  test("the lock of a run whose process is gone (a crash) is taken over by the next run, and released after it", async () => {
    const p = fresh("crashed");
    await p.run([{ id: 0 }], { tableName: "t" });
    // A lock left by a process that is gone (a crash): the next run takes it over.
    const lockFile = join(dir, "data", "pipelines", "crashed", "run.lock");
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid;
    writeFileSync(lockFile, String(dead));
    assert.equal((await p.run([{ id: 4 }], { tableName: "t" })).rows, 1);
    assert.equal(existsSync(lockFile), false, "released after the run");
  });
});
