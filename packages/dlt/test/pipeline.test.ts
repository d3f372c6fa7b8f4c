// pipeline.run into a real DuckDB file. Telemetry is off in this file's process (its events have their own test).
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline, resource } from "../src/index.js";
import { query } from "./duck.js";

let dir: string;
before(() => {
  process.env["RUNTIME__DLTHUB_TELEMETRY"] = "false";
  dir = mkdtempSync(join(tmpdir(), "pipe-"));
  process.env["DLT_DATA_DIR"] = join(dir, "data");
});
const fresh = (name: string) => pipeline({ pipelineName: name, destination: "duckdb", datasetName: `${name}_data`, workingDir: dir });

test("nested objects flatten with __; lists of objects become linked child tables; every row has _dlt_id and _dlt_load_id", async () => {
  const p = fresh("nested");
  const info = await p.run(
    [
      { id: 1, userName: "ann", address: { city: "Oslo", geo: { lat: 59.9 } }, orders: [{ sku: "a", lines: [{ qty: 1 }, { qty: 2 }] }, { sku: "b" }] },
      { id: 2, userName: "bob", address: { city: "Rome" }, orders: [] },
    ],
    { tableName: "Customers" },
  );
  assert.deepEqual(info.tables, { customers: 2, customers__orders: 2, customers__orders__lines: 2 });
  const db = p.dbPath;
  const parents = await query(db, "SELECT id, user_name, address__city, address__geo__lat, _dlt_id, _dlt_load_id FROM nested_data.customers ORDER BY id");
  assert.deepEqual(parents.map((r) => [r["id"], r["user_name"], r["address__city"], r["address__geo__lat"]]), [[1, "ann", "Oslo", 59.9], [2, "bob", "Rome", null]]);
  assert.ok(parents.every((r) => typeof r["_dlt_id"] === "string" && r["_dlt_load_id"] === info.loadIds[0]));
  const orders = await query(db, "SELECT o.sku, o._dlt_list_idx, c.id FROM nested_data.customers__orders o JOIN nested_data.customers c ON o._dlt_parent_id = c._dlt_id ORDER BY o._dlt_list_idx");
  assert.deepEqual(orders, [{ sku: "a", _dlt_list_idx: 0, id: 1 }, { sku: "b", _dlt_list_idx: 1, id: 1 }]);
  const lines = await query(db, "SELECT l.qty, l._dlt_list_idx, o.sku FROM nested_data.customers__orders__lines l JOIN nested_data.customers__orders o ON l._dlt_parent_id = o._dlt_id ORDER BY l.qty");
  assert.deepEqual(lines, [{ qty: 1, _dlt_list_idx: 0, sku: "a" }, { qty: 2, _dlt_list_idx: 1, sku: "a" }]);
  const types = await query(db, "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'nested_data' AND table_name = 'customers' ORDER BY ordinal_position");
  assert.deepEqual(types.slice(0, 4).map((t) => [t["column_name"], t["data_type"]]), [["id", "BIGINT"], ["user_name", "VARCHAR"], ["address__city", "VARCHAR"], ["address__geo__lat", "DOUBLE"]]);
  assert.deepEqual(readdirSync(join(dir, "data", "pipelines", "nested", "packages")), [], "a loaded package is removed");
});

test("types: bigint, double, bool, text, timestamp from ISO-8601, json fallback", async () => {
  const p = fresh("types");
  await p.run([{ i: 1, d: 1.5, b: true, t: "hi", ts: "2024-05-01T10:00:00Z", j: [1, "two", null] }], { tableName: "t" });
  const types = await query(p.dbPath, "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'types_data' AND table_name = 't' ORDER BY ordinal_position");
  assert.deepEqual(types.slice(0, 6).map((t) => t["data_type"]), ["BIGINT", "DOUBLE", "BOOLEAN", "VARCHAR", "TIMESTAMP WITH TIME ZONE", "JSON"]);
  const [row] = await query(p.dbPath, "SELECT epoch_ms(ts) AS ms, j::VARCHAR AS j FROM types_data.t");
  assert.equal(row?.["ms"], Date.parse("2024-05-01T10:00:00Z"));
  assert.equal(row?.["j"], '[1,"two",null]');
});

test("schema evolution across two runs: a new field adds a column; a type clash goes to a variant column", async () => {
  const p = fresh("evolve");
  await p.run([{ id: 1, score: 10 }], { tableName: "players" });
  const info = await p.run([{ id: 2, score: "high", country: "NO" }], { tableName: "players" });
  assert.equal(info.tables["players"], 1);
  const rows = await query(p.dbPath, "SELECT id, score, score__v_text, country FROM evolve_data.players ORDER BY id");
  assert.deepEqual(rows, [{ id: 1, score: 10, score__v_text: null, country: null }, { id: 2, score: null, score__v_text: "high", country: "NO" }]);
  assert.equal((await query(p.dbPath, "SELECT count(*) AS n FROM evolve_data._dlt_loads"))[0]?.["n"], 2);
});

test("replace swaps the table (and its child tables); merge upserts on the primary key and drops the replaced rows' children", async () => {
  const p = fresh("dispositions");
  await p.run([{ id: 1, v: "a", kids: [{ k: 1 }] }, { id: 2, v: "b", kids: [{ k: 2 }] }], { tableName: "r", writeDisposition: "replace" });
  await p.run([{ id: 3, v: "c", kids: [{ k: 3 }] }], { tableName: "r", writeDisposition: "replace" });
  assert.deepEqual(await query(p.dbPath, "SELECT id FROM dispositions_data.r"), [{ id: 3 }]);
  assert.deepEqual(await query(p.dbPath, "SELECT k FROM dispositions_data.r__kids"), [{ k: 3 }]);

  const items = (rows: Record<string, unknown>[]) => resource(rows, { name: "m", writeDisposition: "merge", primaryKey: "id" });
  await p.run(items([{ id: 1, v: "a", kids: [{ k: 1 }, { k: 11 }] }, { id: 2, v: "b", kids: [{ k: 2 }] }]));
  await p.run(items([{ id: 2, v: "B", kids: [{ k: 22 }] }, { id: 4, v: "d" }]));
  assert.deepEqual(await query(p.dbPath, "SELECT id, v FROM dispositions_data.m ORDER BY id"), [{ id: 1, v: "a" }, { id: 2, v: "B" }, { id: 4, v: "d" }]);
  assert.deepEqual(
    await query(p.dbPath, "SELECT m.id, k.k FROM dispositions_data.m__kids k JOIN dispositions_data.m m ON k._dlt_parent_id = m._dlt_id ORDER BY k.k"),
    [{ id: 1, k: 1 }, { id: 1, k: 11 }, { id: 2, k: 22 }],
  );
  await assert.rejects(p.run([{ id: 1 }], { tableName: "nopk", writeDisposition: "merge" }), /merge but has no primary key/);
});

test("a failing load leaves the previous data intact and its package on disk; the next run completes it", async () => {
  const p = fresh("failing");
  await p.run([{ id: 1, kids: [{ k: 1 }] }], { tableName: "t", writeDisposition: "replace" });
  process.env["DLT_TS_FAIL_LOAD_AFTER_TABLE"] = "t"; // fails inside the transaction, after the replace and insert
  try {
    await assert.rejects(p.run([{ id: 2, kids: [{ k: 2 }] }], { tableName: "t", writeDisposition: "replace" }), /injected load failure/);
  } finally {
    delete process.env["DLT_TS_FAIL_LOAD_AFTER_TABLE"];
  }
  assert.deepEqual(await query(p.dbPath, "SELECT id FROM failing_data.t"), [{ id: 1 }], "previous data intact");
  assert.deepEqual(await query(p.dbPath, "SELECT k FROM failing_data.t__kids"), [{ k: 1 }]);
  const pending = readdirSync(join(dir, "data", "pipelines", "failing", "packages"));
  assert.equal(pending.length, 1, "the package waits on disk");
  const info = await p.run([{ id: 3, kids: [{ k: 3 }] }], { tableName: "t", writeDisposition: "replace" });
  assert.equal(info.loadIds.length, 2, "the left package is loaded first, then the new one");
  assert.equal(info.loadIds[0], pending[0]);
  assert.deepEqual(await query(p.dbPath, "SELECT id FROM failing_data.t"), [{ id: 3 }]);
  assert.equal((await query(p.dbPath, "SELECT count(*) AS n FROM failing_data._dlt_loads"))[0]?.["n"], 3);
  assert.equal(existsSync(join(dir, "data", "pipelines", "failing", "packages", pending[0]!)), false);
});

test("data: arrays, iterables, generators, async generators, resources; a step's error reaches the caller unchanged", async () => {
  const p = fresh("shapes");
  await p.run(new Set([{ a: 1 }]), { tableName: "from_set" });
  await p.run(function* gen() { yield { a: 1 }; yield { a: 2 }; }, { tableName: "from_gen" });
  await p.run((async function* () { yield { a: 1 }; })(), { tableName: "from_async" });
  await p.run(resource(async function* named() { yield { a: 5 }; }));
  for (const [t, n] of [["from_set", 1], ["from_gen", 2], ["from_async", 1], ["named", 1]] as const) {
    assert.equal((await query(p.dbPath, `SELECT count(*) AS n FROM shapes_data.${t}`))[0]?.["n"], n, t);
  }
  const boom = new TypeError("source broke");
  await assert.rejects(p.run(function* bad() { yield { a: 1 }; throw boom; }, { tableName: "x" }), (e) => e === boom);
  await assert.rejects(p.run([1 as unknown as Record<string, unknown>], { tableName: "x" }), /item 1 of table x is not an object/);
});
