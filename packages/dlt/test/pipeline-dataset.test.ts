// The dataset pipeline.run leaves in DuckDB is one dlt would recognise: the tables, columns and types dlt gives for
// the same nested records, dlt's system tables written as dlt writes them, and a pipeline restored from them when its
// local folder is gone. Telemetry is off in this file's process.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { inflateSync } from "node:zlib";
import { pipeline, type Pipeline, resource } from "../src/index.js";
import { asStoredSchema, versionHash } from "../src/pipeline/schema.js";
import { columns, exec, query, tableNames } from "./helpers/duck.js";

let dir: string;
before(() => {
  process.env["RUNTIME__DLTHUB_TELEMETRY"] = "false";
  dir = mkdtempSync(join(tmpdir(), "dlt-dataset-"));
  process.env["DLT_DATA_DIR"] = join(dir, "data");
});
after(() => rmSync(dir, { recursive: true, force: true }));
const fresh = (name: string) => pipeline({ pipelineName: name, destination: "duckdb", datasetName: `${name}_data`, workingDir: dir });

/** Column name, DuckDB type and NOT NULL of each column of a table, in order. */
async function described(db: string, schema: string, table: string): Promise<string[]> {
  const rows = await query(
    db,
    `SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = '${schema}' AND table_name = '${table}' ORDER BY ordinal_position`,
  );
  return rows.map((r) => `${String(r["column_name"])} ${String(r["data_type"])}${r["is_nullable"] === "NO" ? " NOT NULL" : ""}`);
}

describe("the dataset as dlt writes it", () => {
  test("nested records load as dlt loads them: objects flattened, lists of objects and of scalars and lists in lists as nested tables, variants", async () => {
    // dlt's docs example (destination-tables.md, users and pets) with a list of scalars, a list of lists and a type clash.
    const users = [
      {
        id: 1,
        name: "Alice",
        address: { city: "Oslo", geo: { lat: 59.9, lon: 10.7 } },
        tags: ["admin", "ops"],
        pets: [
          { id: 1, name: "Fluffy", type: "cat" },
          { id: 2, name: "Spot", type: "dog" },
        ],
        matrix: [[1, 2], [3]],
      },
      {
        id: 2,
        name: "Bob",
        address: { city: "Rome" },
        tags: [],
        pets: [{ id: 3, name: "Fido", type: "dog", vaccinated_at: "2024-01-02T03:04:05Z" }],
        score: 7,
      },
      { id: 3, name: "Charlie", pets: [], score: "high", matrix: [["a"]] },
    ];
    const p = fresh("nested");
    const info = await p.run(users, { tableName: "users" });
    assert.deepEqual(info.tables, { users: 3, users__tags: 2, users__pets: 3, users__matrix: 3, users__matrix__list: 4 });
    const db = p.dbPath;
    assert.deepEqual(await tableNames(db, "nested_data"), [
      "_dlt_loads",
      "_dlt_pipeline_state",
      "_dlt_version",
      "users",
      "users__matrix",
      "users__matrix__list",
      "users__pets",
      "users__tags",
    ]);
    assert.deepEqual(await described(db, "nested_data", "users"), [
      "id BIGINT",
      "name VARCHAR",
      "address__city VARCHAR",
      "address__geo__lat DOUBLE",
      "address__geo__lon DOUBLE",
      "_dlt_load_id VARCHAR NOT NULL",
      "_dlt_id VARCHAR NOT NULL",
      "score BIGINT",
      "score__v_text VARCHAR",
    ]);
    assert.deepEqual(await described(db, "nested_data", "users__tags"), [
      "value VARCHAR",
      "_dlt_parent_id VARCHAR NOT NULL",
      "_dlt_list_idx BIGINT NOT NULL",
      "_dlt_id VARCHAR NOT NULL",
    ]);
    assert.deepEqual(await described(db, "nested_data", "users__pets"), [
      "id BIGINT",
      "name VARCHAR",
      "type VARCHAR",
      "_dlt_parent_id VARCHAR NOT NULL",
      "_dlt_list_idx BIGINT NOT NULL",
      "_dlt_id VARCHAR NOT NULL",
      "vaccinated_at TIMESTAMP WITH TIME ZONE",
    ]);
    assert.deepEqual(await described(db, "nested_data", "users__matrix"), [
      "_dlt_parent_id VARCHAR NOT NULL",
      "_dlt_list_idx BIGINT NOT NULL",
      "_dlt_id VARCHAR NOT NULL",
    ]);
    assert.deepEqual(await described(db, "nested_data", "users__matrix__list"), [
      "value BIGINT",
      "_dlt_parent_id VARCHAR NOT NULL",
      "_dlt_list_idx BIGINT NOT NULL",
      "_dlt_id VARCHAR NOT NULL",
      "value__v_text VARCHAR",
    ]);
    assert.deepEqual(
      await query(
        db,
        "SELECT u.name, t.value, t._dlt_list_idx AS i FROM nested_data.users__tags t JOIN nested_data.users u ON t._dlt_parent_id = u._dlt_id ORDER BY u.id, i",
      ),
      [
        { name: "Alice", value: "admin", i: 0 },
        { name: "Alice", value: "ops", i: 1 },
      ],
    );
    assert.deepEqual(
      await query(
        db,
        "SELECT u.name, m._dlt_list_idx AS row, l._dlt_list_idx AS col, coalesce(l.value::VARCHAR, l.value__v_text) AS v FROM nested_data.users__matrix__list l " +
          "JOIN nested_data.users__matrix m ON l._dlt_parent_id = m._dlt_id JOIN nested_data.users u ON m._dlt_parent_id = u._dlt_id ORDER BY u.id, row, col",
      ),
      [
        { name: "Alice", row: 0, col: 0, v: 1 },
        { name: "Alice", row: 0, col: 1, v: 2 },
        { name: "Alice", row: 1, col: 0, v: 3 },
        { name: "Charlie", row: 0, col: 0, v: "a" },
      ],
    );
    assert.deepEqual(await query(db, "SELECT id, score, score__v_text AS v FROM nested_data.users ORDER BY id"), [
      { id: 1, score: null, v: null },
      { id: 2, score: 7, v: null },
      { id: 3, score: null, v: "high" },
    ]);
    const ids = await query(db, "SELECT _dlt_id FROM nested_data.users UNION ALL SELECT _dlt_id FROM nested_data.users__pets");
    assert.ok(
      ids.every((r) => /^[A-Za-z0-9+/]{14}$/.test(String(r["_dlt_id"]))),
      "dlt's ids: 10 random bytes, base64",
    );
  });

  test("_dlt_version, _dlt_loads and _dlt_pipeline_state: dlt's columns and types, a version row per schema version, the state row once per state version", async () => {
    const p = fresh("system");
    const first = await p.run([{ id: 1 }], { tableName: "items" });
    const db = p.dbPath;
    assert.deepEqual(await described(db, "system_data", "_dlt_version"), [
      "version BIGINT NOT NULL",
      "engine_version BIGINT NOT NULL",
      "inserted_at TIMESTAMP WITH TIME ZONE NOT NULL",
      "schema_name VARCHAR NOT NULL",
      "version_hash VARCHAR NOT NULL",
      "schema VARCHAR NOT NULL",
    ]);
    assert.deepEqual(await described(db, "system_data", "_dlt_loads"), [
      "load_id VARCHAR NOT NULL",
      "schema_name VARCHAR",
      "status BIGINT NOT NULL",
      "inserted_at TIMESTAMP WITH TIME ZONE NOT NULL",
      "schema_version_hash VARCHAR",
    ]);
    assert.deepEqual(await described(db, "system_data", "_dlt_pipeline_state"), [
      "version BIGINT NOT NULL",
      "engine_version BIGINT NOT NULL",
      "pipeline_name VARCHAR NOT NULL",
      "state VARCHAR NOT NULL",
      "created_at TIMESTAMP WITH TIME ZONE NOT NULL",
      "version_hash VARCHAR",
      "_dlt_load_id VARCHAR NOT NULL",
      "_dlt_id VARCHAR NOT NULL",
    ]);
    await p.run([{ id: 2 }], { tableName: "items" }); // same schema, same state: no new version, no new state row
    const third = await p.run([{ id: 3, extra: "x" }], { tableName: "items" }); // a new column: schema version 2

    const versions = await query(
      db,
      "SELECT version, engine_version, schema_name, version_hash, schema FROM system_data._dlt_version ORDER BY version",
    );
    assert.deepEqual(
      versions.map((v) => [v["version"], v["engine_version"], v["schema_name"]]),
      [
        [1, 11, "system"],
        [2, 11, "system"],
      ],
    );
    for (const v of versions) {
      const stored = asStoredSchema(JSON.parse(String(v["schema"])), "_dlt_version");
      assert.equal(versionHash(stored), v["version_hash"], "the stored schema hashes to its version_hash");
    }
    const latest = JSON.parse(String(versions[1]?.["schema"])) as {
      version: number;
      engine_version: number;
      tables: Record<string, { columns: Record<string, unknown> }>;
    };
    assert.deepEqual(Object.keys(latest.tables), ["_dlt_version", "_dlt_loads", "items", "_dlt_pipeline_state"]);
    assert.deepEqual(latest.tables["items"]?.columns["_dlt_id"], {
      name: "_dlt_id",
      data_type: "text",
      nullable: false,
      unique: true,
      row_key: true,
    });
    assert.deepEqual(latest.tables["items"]?.columns["extra"], { name: "extra", data_type: "text", nullable: true });

    const loads = await query(db, "SELECT load_id, schema_name, status, schema_version_hash AS h FROM system_data._dlt_loads ORDER BY load_id");
    assert.equal(loads.length, 3);
    assert.deepEqual(
      loads.map((l) => [l["schema_name"], l["status"]]),
      [
        ["system", 0],
        ["system", 0],
        ["system", 0],
      ],
    );
    assert.deepEqual(
      loads.map((l) => l["h"]),
      [versions[0]?.["version_hash"], versions[0]?.["version_hash"], versions[1]?.["version_hash"]],
    );
    assert.equal(loads[0]?.["load_id"], first.loadIds[0]);
    assert.equal(loads[2]?.["load_id"], third.loadIds[0]);

    const states = await query(
      db,
      "SELECT version, engine_version, pipeline_name, state, version_hash, _dlt_load_id FROM system_data._dlt_pipeline_state",
    );
    assert.equal(states.length, 1, "the state did not change after the first run");
    assert.deepEqual(
      [states[0]?.["version"], states[0]?.["engine_version"], states[0]?.["pipeline_name"], states[0]?.["_dlt_load_id"]],
      [1, 4, "system", first.loadIds[0]],
    );
    // dlt's encoding: the state without `_local`, as JSON, zlib-compressed, base64.
    const state = JSON.parse(inflateSync(Buffer.from(String(states[0]?.["state"]), "base64")).toString("utf8")) as Record<string, unknown>;
    assert.deepEqual(
      { ...state, _version_hash: "…" },
      {
        _state_version: 1,
        _state_engine_version: 4,
        pipeline_name: "system",
        dataset_name: "system_data",
        default_schema_name: "system",
        schema_names: ["system"],
        destination_type: "dlt.destinations.duckdb",
        destination_name: null,
        _version_hash: "…",
      },
    );
    assert.equal(state["_version_hash"], states[0]?.["version_hash"]);
    const local = JSON.parse(readFileSync(join(dir, "data", "pipelines", "system", "state.json"), "utf8")) as Record<string, unknown>;
    assert.equal(local["_version_hash"], state["_version_hash"], "state.json in the pipeline folder holds the same state");
    assert.equal(
      JSON.parse(readFileSync(join(dir, "data", "pipelines", "system", "schemas", "system.schema.json"), "utf8")).version_hash,
      versions[1]?.["version_hash"],
    );
  });

  test("dlt's version hash: a schema stored by dlt (its ethereum v11 case) hashes to the version_hash dlt stored with it", () => {
    const file = fileURLToPath(new URL("../../test/fixtures/dlt/ethereum_schema_v11.json", import.meta.url));
    const raw = JSON.parse(readFileSync(file, "utf8")) as { version_hash: string };
    assert.equal(versionHash(asStoredSchema(structuredClone(raw), file)), raw.version_hash);
  });
});

describe("restored from the destination", () => {
  test("restore: a pipeline whose local folder is gone picks up its state and schema from the destination on its next run", async () => {
    const games = (rows: Record<string, unknown>[]) => resource(rows, { name: "games", writeDisposition: "merge", primaryKey: "game_id" });
    const p = fresh("restore");
    await p.run(
      games([
        { game_id: 1, score: 10, moves: ["e4", "e5"] },
        { game_id: 2, score: 20, moves: ["d4"] },
      ]),
    );
    const pipelineDir = join(dir, "data", "pipelines", "restore");
    const schemaBefore = readFileSync(join(pipelineDir, "schemas", "restore.schema.json"), "utf8");
    rmSync(pipelineDir, { recursive: true, force: true }); // a new machine

    // Without its schema this run would infer `score` as text and fail to load "high" into the BIGINT column, and
    // without its primary key, merge would be refused: both come back from the destination.
    const again = pipeline({ pipelineName: "restore", destination: "duckdb", datasetName: "restore_data", workingDir: dir });
    const info = await again.run(resource([{ game_id: 2, score: "high", moves: ["c4"] }], { name: "games" }));
    assert.deepEqual(info.tables, { games: 1, games__moves: 1 });
    assert.deepEqual(await query(again.dbPath, "SELECT game_id, score, score__v_text AS v FROM restore_data.games ORDER BY game_id"), [
      { game_id: 1, score: 10, v: null },
      { game_id: 2, score: null, v: "high" },
    ]);
    assert.deepEqual(
      await query(
        again.dbPath,
        "SELECT g.game_id, m.value FROM restore_data.games__moves m JOIN restore_data.games g ON m._dlt_root_id = g._dlt_id ORDER BY 1, m._dlt_list_idx",
      ),
      [
        { game_id: 1, value: "e4" },
        { game_id: 1, value: "e5" },
        { game_id: 2, value: "c4" },
      ],
    );
    const state = JSON.parse(readFileSync(join(pipelineDir, "state.json"), "utf8")) as Record<string, unknown>;
    assert.deepEqual([state["_state_version"], state["dataset_name"], state["default_schema_name"]], [1, "restore_data", "restore"]);
    assert.equal(
      (await query(again.dbPath, "SELECT count(*) AS n FROM restore_data._dlt_pipeline_state"))[0]?.["n"],
      1,
      "the restored state is not loaded again",
    );
    const schemaAfter = JSON.parse(readFileSync(join(pipelineDir, "schemas", "restore.schema.json"), "utf8")) as { version: number };
    assert.equal(
      schemaAfter.version,
      (JSON.parse(schemaBefore) as { version: number }).version + 1,
      "the restored schema evolved by one version (the variant)",
    );

    // On demand, as `dlt pipeline <name> sync` will: the folder is gone again, the dataset name comes from the caller.
    rmSync(pipelineDir, { recursive: true, force: true });
    const synced = await pipeline({ pipelineName: "restore", destination: "duckdb", datasetName: "restore_data", workingDir: dir }).syncDestination();
    assert.deepEqual([synced.restoredStateVersion, synced.restoredSchemas], [1, ["restore"]]);
    assert.ok(existsSync(join(pipelineDir, "state.json")));
    assert.deepEqual(JSON.parse(readFileSync(join(pipelineDir, "schemas", "restore.schema.json"), "utf8")), schemaAfter);
    // Once the state is here, a pipeline created without a dataset name attaches to the stored one.
    assert.equal(pipeline({ pipelineName: "restore", destination: "duckdb", workingDir: dir }).datasetName, "restore_data");
  });

  // One pipeline whose local folder is gone; each test damages what its restore reads in the destination.
  describe("a destination that cannot be restored from", () => {
    let p: Pipeline;
    let info: Awaited<ReturnType<Pipeline["run"]>>;
    let folder: string;
    let state: string;
    before(async () => {
      p = fresh("broken");
      info = await p.run([{ id: 1 }], { tableName: "t" });
      folder = join(dir, "data", "pipelines", "broken");
      rmSync(folder, { recursive: true, force: true });
      state = String((await query(p.dbPath, "SELECT state FROM broken_data._dlt_pipeline_state"))[0]?.["state"]);
    });

    test("a state that cannot be decoded fails the run, naming the table and the load, and loads nothing", async () => {
      await exec(p.dbPath, "UPDATE broken_data._dlt_pipeline_state SET state = 'not base64 zlib'");
      await assert.rejects(
        fresh("broken").run([{ id: 2 }], { tableName: "t" }),
        new RegExp(`_dlt_pipeline_state row of load ${info.loadIds[0]!.replace(".", "\\.")}: the state cannot be decoded`),
      );
      assert.deepEqual(await columns(p.dbPath, "broken_data", "t"), [
        ["id", "BIGINT"],
        ["_dlt_load_id", "VARCHAR"],
        ["_dlt_id", "VARCHAR"],
      ]);
      assert.equal((await query(p.dbPath, "SELECT count(*) AS n FROM broken_data.t"))[0]?.["n"], 1, "nothing loaded, nothing lost");
    });

    test("a stored schema whose name is a path is refused, and nothing is written", async () => {
      // A stored schema whose name is a path (a hostile or damaged file) is refused before anything is written.
      rmSync(folder, { recursive: true, force: true });
      await exec(
        p.dbPath,
        `UPDATE broken_data._dlt_pipeline_state SET state = '${state}'`,
        `UPDATE broken_data._dlt_version SET schema = replace(schema, '"name":"broken"', '"name":"../../../escaped"')`,
      );
      await assert.rejects(
        fresh("broken").syncDestination(),
        /_dlt_version schema broken version 1: name "..\/..\/..\/escaped" is not a schema name/,
      );
      assert.equal(existsSync(join(dir, "data", "escaped.schema.json")), false); // schemas/../../../escaped.schema.json
      assert.equal(existsSync(join(folder, "schemas")), false);
    });
  });
});
