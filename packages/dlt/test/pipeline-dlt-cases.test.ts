// dlt's own normalizer tests as ours: the same inputs and the same expected tables and columns, checked in the
// DuckDB dataset `pipeline.run` produces. Each test names the dlt cases it ports (dlt-hub/dlt,
// tests/common/normalizers/test_json_relational.py, test_naming_snake_case.py, tests/normalize/test_normalize.py,
// test_json_item_inference.py); DESIGN.md lists the cases we skip and why. Column lists are in dlt's order.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pipeline, resource, type LoadInfo, type Pipeline, type Resource, type ResourceOptions, type RunOptions } from "../src/index.js";
import { columns, query, tableNames } from "./helpers/duck.js";

const FIXTURES = fileURLToPath(new URL("../../test/fixtures/dlt/", import.meta.url));
const DS = "cases"; // named like the pipeline (and so like DuckDB's catalog), as users do
const D = `${DS}.${DS}`; // a qualified reference in our own SQL
const CHATS = {
  _dlt_id: "123456",
  created_at: "2023-05-12T12:34:56Z",
  ended_at: "2023-05-12T13:14:32Z",
  webpath: [
    [
      { url: "https://www.website.com/", timestamp: "2023-05-12T12:35:01Z" },
      { url: "https://www.website.com/products", timestamp: "2023-05-12T12:38:45Z" },
      { url: "https://www.website.com/products/item123", timestamp: "2023-05-12T12:42:22Z" },
      [{ url: "https://www.website.com/products/item1234", timestamp: "2023-05-12T12:42:22Z" }],
    ],
    [1, 2, 3],
  ],
};
const RECURSION = { _dlt_id: "row_id", f: [{ l: ["a"], v: 120, lo: [{ e: { v: 1 } }] }] };
const NAMING: [string, string][] = [
  ["event value", "event_value"],
  ["event-.!:*<>value", "event_x_value"],
  ["1event_n'", "_1event_nx"],
  ["123event_n'", "_123event_nx"],
  ["123BaNaNa", "_123_ba_na_na"],
  ["BANANA", "banana"],
  ["BAN_ANA", "ban_ana"],
  ["BANaNA", "ba_na_na"],
  [" Small Love Potion ", "small_love_potion"],
  ["BANANA_", "bananax"],
  ["+-!$*@#=|:", "x_xa_lx"],
  ["+1", "x1"],
  ["-1", "_1"],
  ["Small__Love__Potion", "small__love__potion"],
  ["e_vent__value_value2___", "e_vent__value_value2__x"],
];

/** dlt's rasa user event case; integers beyond 2^53 (its intent ids) read as BigInt, as Python reads them: exact. */
function rasaUserEvent(): unknown[] {
  const text = readFileSync(join(FIXTURES, "event.event.user_load_1.json"), "utf8").replace(
    /(?<=[:[,]\s*)(-?\d{16,})(?=\s*[,\]}])/g,
    '"\\u0000big:$1"',
  );
  return JSON.parse(text, (_k, v: unknown) => (typeof v === "string" && v.startsWith("\u0000big:") ? BigInt(v.slice(5)) : v)) as unknown[];
}

/** The first load of every case, as one run of many resources (one DuckDB load instead of thirty). */
function firstLoads(): Resource[] {
  const r = (name: string, rows: unknown[], opts: Omit<ResourceOptions, "name"> = {}) => resource(rows, { name, ...opts });
  return [
    r("fix_names", [{ "f-1": "!  30", "f 2": [], "f!3": { f4: "a", "f-5": "b", "f*6": { c: 7, "c v": 8, "c x": [] } } }]),
    r("linking", [{ f: [{ l: ["a", "b", "c"], v: 120, o: [{ a: 1 }, { a: 2 }], lo: [{ e: "a" }, { e: "b" }, { e: "c" }] }] }]),
    r("linking_merge", [{ id: 1, f: [{ l: ["a", "b", "c"], v: 120, o: [{ a: 1 }, { a: 2 }] }] }], { writeDisposition: "merge", primaryKey: "id" }),
    r("relation", [
      {
        id: "level0",
        f: [{ id: "level1", l: ["a"], o: [{ a: 1 }], b: { a: [{ id: "level5" }] } }],
        d: { a: [{ id: "level4" }], b: { a: [{ id: "level5" }], a_2: [{ id: "level5" }] }, c: "x" },
        e: [{ o: [{ a: 1 }], b: { a: [{ id: "level5" }] } }],
      },
    ]),
    r("zen", [CHATS]),
    r("keeps", [{ a: "b", _dlt_id: "my-own-id" }]),
    r("removes", [{ comp: [{ _timestamp: "a" }] }]),
    r("rec_all", [RECURSION]),
    ...[0, 1, 2, 3].map((n) => r(`rec_${n}`, [RECURSION], { maxTableNesting: n })),
    r("event_slot", [{ value: ["from", { json: true }] }], { maxTableNesting: 0 }),
    r("simplex", [1, "A"]),
    r("channel", [
      {
        id: "817949077341208606",
        type: 4,
        name: "Moderation",
        position: 0,
        flags: 0,
        parent_id: null,
        guild_id: "815421435900198962",
        permission_overwrites: [],
      },
    ]),
    r("channelSURFING", [{ id: "817949077341208606" }]),
    r("other", [{ a: null, timestamp: 7 }]),
    r("nested_table", [
      {
        id: 1,
        children: [
          { id: 2, col1: null },
          { id: 3, col1: null },
        ],
      },
    ]),
    r("empty_keys", [
      { a: 1, "": 2 },
      { a: 1, b: { "": 2 } },
      { a: 1, c: [{ "": 2 }] },
    ]),
    r("naming", [Object.fromEntries(NAMING.map(([k], i) => [k, i]))]),
    r("issues", [{ id: 1, reactions: { "+1": 2, "-1": 0, laugh: 1 } }]),
    r("appended", [{ id: 1, kids: [{ k: 1 }] }]),
    r("replaced", [{ id: 1, kids: [{ k: 1 }] }], { writeDisposition: "replace" }),
    r("doc", [{ str: "text", int: 1 }]),
    r("event", rasaUserEvent()),
    r("coerce", [
      { timestamp: "2022-05-10T00:17:15.300000+00:00", confidence: 0.1 },
      { timestamp: 78172.128, confidence: 1 },
      { timestamp: "78172.128", confidence: "STR" },
      { timestamp: "übermorgen", confidence: false },
      { timestamp: "2022-05-10T00:17:15.300000+02:00", confidence: "0.5" },
    ]),
  ];
}

let dir: string;
let p: Pipeline;
let first: LoadInfo;
before(async () => {
  process.env["RUNTIME__DLTHUB_TELEMETRY"] = "false";
  dir = mkdtempSync(join(tmpdir(), "dlt-cases-"));
  process.env["DLT_DATA_DIR"] = join(dir, "data");
  p = pipeline({ pipelineName: "cases", destination: "duckdb", datasetName: DS, workingDir: dir });
  first = await p.run(firstLoads());
});
after(() => rmSync(dir, { recursive: true, force: true }));

const load = (table: string, rows: unknown[], opts: Omit<RunOptions, "tableName"> = {}) => p.run(rows, { tableName: table, ...opts });
const cols = (table: string) => columns(p.dbPath, DS, table);
const names = async (table: string) => (await cols(table)).map(([c]) => c);
const sql = (s: string) => query(p.dbPath, s);
/** The dataset's tables whose name starts with `prefix`. */
const tablesOf = async (prefix: string) => (await tableNames(p.dbPath, DS)).filter((t) => t === prefix || t.startsWith(`${prefix}__`));
/** Rows of the first load in `root` and its nested tables. */
const rowsOf = (root: string) => Object.fromEntries(Object.entries(first.tables).filter(([t]) => t === root || t.startsWith(`${root}__`)));

test("test_flatten_fix_field_name: keys are made snake_case along their path", async () => {
  assert.deepEqual(await cols("fix_names"), [
    ["f_1", "VARCHAR"],
    ["f_3__f4", "VARCHAR"],
    ["f_3__f_5", "VARCHAR"],
    ["f_3__fx6__c", "BIGINT"],
    ["f_3__fx6__c_v", "BIGINT"],
    ["_dlt_load_id", "VARCHAR"],
    ["_dlt_id", "VARCHAR"],
  ]);
});

test("test_flatten_fix_field_name: an empty list makes no table (and, above, no column)", async () => {
  assert.deepEqual(await tablesOf("fix_names"), ["fix_names"]);
});

test("test_nested_table_linking, test_list_position: lists of scalars and of objects become linked nested tables, in list order", async () => {
  assert.deepEqual(rowsOf("linking"), { linking: 1, linking__f: 1, linking__f__l: 3, linking__f__o: 2, linking__f__lo: 3 });
  assert.deepEqual(await names("linking"), ["_dlt_load_id", "_dlt_id"], "the root row has no parent, position or root key");
  assert.deepEqual(await cols("linking__f"), [
    ["v", "BIGINT"],
    ["_dlt_parent_id", "VARCHAR"],
    ["_dlt_list_idx", "BIGINT"],
    ["_dlt_id", "VARCHAR"],
  ]);
  assert.deepEqual(await cols("linking__f__l"), [
    ["value", "VARCHAR"],
    ["_dlt_parent_id", "VARCHAR"],
    ["_dlt_list_idx", "BIGINT"],
    ["_dlt_id", "VARCHAR"],
  ]);
  assert.deepEqual(
    await sql(
      `SELECT l.value, l._dlt_list_idx FROM ${D}.linking__f__l l JOIN ${D}.linking__f f ON l._dlt_parent_id = f._dlt_id JOIN ${D}.linking r ON f._dlt_parent_id = r._dlt_id ORDER BY 2`,
    ),
    [
      { value: "a", _dlt_list_idx: 0 },
      { value: "b", _dlt_list_idx: 1 },
      { value: "c", _dlt_list_idx: 2 },
    ],
  );
  assert.deepEqual(await sql(`SELECT e, _dlt_list_idx FROM ${D}.linking__f__lo ORDER BY 2`), [
    { e: "a", _dlt_list_idx: 0 },
    { e: "b", _dlt_list_idx: 1 },
    { e: "c", _dlt_list_idx: 2 },
  ]);
  assert.deepEqual(
    await sql(`SELECT count(DISTINCT _dlt_id) AS n FROM (SELECT _dlt_id FROM ${D}.linking__f__l UNION ALL SELECT _dlt_id FROM ${D}.linking__f__o)`),
    [{ n: 5 }],
  );
});

test("test_nested_table_linking with root key propagation (merge): every nested row carries its root row's _dlt_id as _dlt_root_id", async () => {
  assert.deepEqual(await names("linking_merge"), ["id", "_dlt_load_id", "_dlt_id"]);
  assert.deepEqual(await names("linking_merge__f__l"), ["value", "_dlt_root_id", "_dlt_parent_id", "_dlt_list_idx", "_dlt_id"]);
  const [root] = await sql(`SELECT _dlt_id FROM ${D}.linking_merge`);
  for (const t of ["linking_merge__f", "linking_merge__f__l", "linking_merge__f__o"]) {
    assert.deepEqual(await sql(`SELECT DISTINCT _dlt_root_id FROM ${D}.${t}`), [{ _dlt_root_id: root?.["_dlt_id"] }], t);
  }
});

test("test_yields_parent_relation: objects flatten into their table, lists make tables named by their path, linked to the right parent", async () => {
  assert.deepEqual(
    await tablesOf("relation"),
    [
      "relation",
      "relation__d__a",
      "relation__d__b__a",
      "relation__d__b__a_2",
      "relation__e",
      "relation__e__b__a",
      "relation__e__o",
      "relation__f",
      "relation__f__b__a",
      "relation__f__l",
      "relation__f__o",
    ],
    "relation__f__b and relation__d are flattened into their parents, not tables",
  );
  assert.deepEqual(await names("relation"), ["id", "d__c", "_dlt_load_id", "_dlt_id"]);
  assert.deepEqual(await names("relation__e"), ["_dlt_parent_id", "_dlt_list_idx", "_dlt_id"], "relation__e only links");
  assert.deepEqual(await sql(`SELECT count(*) AS n FROM ${D}.relation__e__b__a a JOIN ${D}.relation__e e ON a._dlt_parent_id = e._dlt_id`), [
    { n: 1 },
  ]);
  assert.deepEqual(await sql(`SELECT count(*) AS n FROM ${D}.relation__f__b__a a JOIN ${D}.relation__f f ON a._dlt_parent_id = f._dlt_id`), [
    { n: 1 },
  ]);
  assert.deepEqual(await sql(`SELECT count(*) AS n FROM ${D}.relation__d__b__a_2 a JOIN ${D}.relation r ON a._dlt_parent_id = r._dlt_id`), [
    { n: 1 },
  ]);
});

test("test_list_in_list: lists in lists make `…__list` tables", async () => {
  assert.deepEqual(rowsOf("zen"), { zen: 1, zen__webpath: 2, zen__webpath__list: 7, zen__webpath__list__list: 1 }, "11 rows, as in dlt");
  assert.deepEqual(await cols("zen"), [
    ["_dlt_id", "VARCHAR"],
    ["created_at", "TIMESTAMP WITH TIME ZONE"],
    ["ended_at", "TIMESTAMP WITH TIME ZONE"],
    ["_dlt_load_id", "VARCHAR"],
  ]);
  assert.deepEqual(await names("zen__webpath"), ["_dlt_parent_id", "_dlt_list_idx", "_dlt_id"]);
  assert.deepEqual(await cols("zen__webpath__list"), [
    ["url", "VARCHAR"],
    ["timestamp", "TIMESTAMP WITH TIME ZONE"],
    ["_dlt_parent_id", "VARCHAR"],
    ["_dlt_list_idx", "BIGINT"],
    ["_dlt_id", "VARCHAR"],
    ["value", "BIGINT"],
  ]);
});

test("test_child_row_deterministic_hash: a given _dlt_id is kept, and its nested rows get dlt's derived ids", async () => {
  // ('#' || …: the query helper would read the id "123456" as a number)
  assert.deepEqual(await sql(`SELECT '#' || _dlt_id AS id FROM ${D}.zen`), [{ id: "#123456" }]);
  // dlt's ids (digest128 of "<parent id>_<table>_<list idx>", 10 bytes), computed with Python's hashlib.shake_128.
  assert.deepEqual(await sql(`SELECT _dlt_id, '#' || _dlt_parent_id AS parent, _dlt_list_idx FROM ${D}.zen__webpath ORDER BY _dlt_list_idx`), [
    { _dlt_id: "DLZqexu9nUyZgw", parent: "#123456", _dlt_list_idx: 0 },
    { _dlt_id: "6649vlnRHqu5Vg", parent: "#123456", _dlt_list_idx: 1 },
  ]);
  assert.deepEqual(await sql(`SELECT _dlt_id, _dlt_parent_id FROM ${D}.zen__webpath__list WHERE _dlt_list_idx = 3`), [
    { _dlt_id: "tN3sqRNapwDqJQ", _dlt_parent_id: "DLZqexu9nUyZgw" },
  ]);
  assert.deepEqual(await sql(`SELECT value, _dlt_id FROM ${D}.zen__webpath__list WHERE _dlt_parent_id = '6649vlnRHqu5Vg' AND _dlt_list_idx = 2`), [
    { value: 3, _dlt_id: "cQcIwzGvN+bd4A" },
  ]);
  assert.deepEqual(await sql(`SELECT url, _dlt_id, _dlt_parent_id FROM ${D}.zen__webpath__list__list`), [
    { url: "https://www.website.com/products/item1234", _dlt_id: "zAH5NuRrtcw4hA", _dlt_parent_id: "tN3sqRNapwDqJQ" },
  ]);
});

test("test_keeps_dlt_id: an item's own _dlt_id stays", async () => {
  assert.deepEqual(await sql(`SELECT a, _dlt_id FROM ${D}.keeps`), [{ a: "b", _dlt_id: "my-own-id" }]);
  assert.deepEqual(await names("keeps"), ["a", "_dlt_id", "_dlt_load_id"]);
});

test("test_removes_normalized_list: a list leaves no column in its parent", async () => {
  assert.deepEqual(await names("removes"), ["_dlt_load_id", "_dlt_id"]);
  assert.deepEqual(await names("removes__comp"), ["_timestamp", "_dlt_parent_id", "_dlt_list_idx", "_dlt_id"]);
});

test("test_json_types_for_recursion_level: maxTableNesting 0, 1, 2, 3 keeps what lies deeper whole in json columns", async () => {
  assert.deepEqual(await tablesOf("rec_all"), ["rec_all", "rec_all__f", "rec_all__f__l", "rec_all__f__lo"]);
  assert.deepEqual(await names("rec_all__f__lo"), ["e__v", "_dlt_parent_id", "_dlt_list_idx", "_dlt_id"]);

  assert.deepEqual(await tablesOf("rec_0"), ["rec_0"]);
  assert.deepEqual(await cols("rec_0"), [
    ["_dlt_id", "VARCHAR"],
    ["f", "JSON"],
    ["_dlt_load_id", "VARCHAR"],
  ]);
  assert.deepEqual(await sql(`SELECT f::VARCHAR AS f FROM ${D}.rec_0`), [{ f: JSON.stringify(RECURSION.f) }]);

  assert.deepEqual(await tablesOf("rec_1"), ["rec_1", "rec_1__f"]);
  assert.deepEqual(await cols("rec_1__f"), [
    ["l", "JSON"],
    ["v", "BIGINT"],
    ["lo", "JSON"],
    ["_dlt_parent_id", "VARCHAR"],
    ["_dlt_list_idx", "BIGINT"],
    ["_dlt_id", "VARCHAR"],
  ]);

  assert.deepEqual(await tablesOf("rec_2"), ["rec_2", "rec_2__f", "rec_2__f__l", "rec_2__f__lo"]);
  assert.deepEqual(await cols("rec_2__f__lo"), [
    ["e", "JSON"],
    ["_dlt_parent_id", "VARCHAR"],
    ["_dlt_list_idx", "BIGINT"],
    ["_dlt_id", "VARCHAR"],
  ]);

  assert.deepEqual(await tablesOf("rec_3"), ["rec_3", "rec_3__f", "rec_3__f__l", "rec_3__f__lo"]);
  assert.deepEqual(await names("rec_3__f__lo"), await names("rec_all__f__lo"));
});

test("test_preserves_json_types_list: a value of an existing json column stays whole, whatever the nesting level", async () => {
  await load("event_slot", [{ value: ["from", ["json", true]] }], { maxTableNesting: 1000 });
  assert.deepEqual(await tablesOf("event_slot"), ["event_slot"]);
  assert.deepEqual(await sql(`SELECT value::VARCHAR AS v FROM ${D}.event_slot ORDER BY _dlt_load_id`), [
    { v: '["from",{"json":true}]' },
    { v: '["from",["json",true]]' },
  ]);
});

test("test_wrap_in_dict: an item that is not an object is loaded as { value: item }", async () => {
  assert.deepEqual(await cols("simplex"), [
    ["value", "BIGINT"],
    ["_dlt_load_id", "VARCHAR"],
    ["_dlt_id", "VARCHAR"],
    ["value__v_text", "VARCHAR"],
  ]);
  assert.deepEqual(await sql(`SELECT value, value__v_text, _dlt_load_id FROM ${D}.simplex ORDER BY value`), [
    { value: 1, value__v_text: null, _dlt_load_id: first.loadIds[0] },
    { value: null, value__v_text: "A", _dlt_load_id: first.loadIds[0] },
  ]);
});

test("test_extract_with_table_name_meta, test_table_name_meta_normalized: the table name is normalized", async () => {
  assert.deepEqual(await tablesOf("channel"), ["channel"]);
  assert.deepEqual(await tablesOf("channel_surfing"), ["channel_surfing"]);
});

test("test_keeps_none_values: null-only fields and empty lists make no column and no table", async () => {
  assert.deepEqual(await cols("channel"), [
    ["id", "VARCHAR"],
    ["type", "BIGINT"],
    ["name", "VARCHAR"],
    ["position", "BIGINT"],
    ["flags", "BIGINT"],
    ["guild_id", "VARCHAR"],
    ["_dlt_load_id", "VARCHAR"],
    ["_dlt_id", "VARCHAR"],
  ]);
  assert.deepEqual(await cols("other"), [
    ["timestamp", "BIGINT"],
    ["_dlt_load_id", "VARCHAR"],
    ["_dlt_id", "VARCHAR"],
  ]);
  // tests/normalize test_warning_from_json_normalizer_on_null_column: a nested null-only column is not created either.
  assert.deepEqual(await names("nested_table__children"), ["id", "_dlt_parent_id", "_dlt_list_idx", "_dlt_id"]);
});

test("test_normalize_empty_keys: an empty key is named _empty, at the root, flattened and nested", async () => {
  assert.deepEqual(await names("empty_keys"), ["a", "_empty", "_dlt_load_id", "_dlt_id", "b___empty"]);
  assert.deepEqual(await sql(`SELECT _empty FROM ${D}.empty_keys__c`), [{ _empty: 2 }]);
});

test("test_naming_snake_case (test_normalize_identifier, test_normalize_path), test_normalize_twice_with_flatten: dlt's snake_case names", async () => {
  assert.deepEqual(await names("naming"), [...NAMING.map(([, n]) => n), "_dlt_load_id", "_dlt_id"]);
  // GitHub's reactions, as in dlt's issues case: "+1" and "-1" under "reactions".
  assert.deepEqual(await names("issues"), ["id", "reactions__x1", "reactions___1", "reactions__laugh", "_dlt_load_id", "_dlt_id"]);
});

test("test_requires_root_key, test_extend_table: only merge propagates the root key, and a table chain that has it keeps it", async () => {
  assert.deepEqual(await names("appended__kids"), ["k", "_dlt_parent_id", "_dlt_list_idx", "_dlt_id"]);
  assert.deepEqual(await names("replaced__kids"), ["k", "_dlt_parent_id", "_dlt_list_idx", "_dlt_id"]);
  // The appended table turns merge: its nested table gets the root key, filled in for the rows already there.
  await load("appended", [{ id: 2, kids: [{ k: 2 }] }], { writeDisposition: "merge", primaryKey: "id" });
  assert.deepEqual(await names("appended__kids"), ["k", "_dlt_parent_id", "_dlt_list_idx", "_dlt_id", "_dlt_root_id"]);
  assert.deepEqual(await sql(`SELECT count(*) AS n FROM ${D}.appended__kids k JOIN ${D}.appended a ON k._dlt_root_id = a._dlt_id`), [{ n: 2 }]);
  // Back to append: the chain keeps propagating it (dlt: once a nested table has a root key, always).
  await load("appended", [{ id: 3, kids: [{ k: 3 }] }], { writeDisposition: "append" });
  assert.deepEqual(await sql(`SELECT count(*) AS n FROM ${D}.appended__kids WHERE _dlt_root_id IS NULL`), [{ n: 0 }]);
  const [v] = await sql(`SELECT schema FROM ${D}._dlt_version ORDER BY version DESC LIMIT 1`);
  const stored = JSON.parse(String(v?.["schema"])) as { normalizers: { json: { config: { propagation: { tables: Record<string, unknown> } } } } };
  assert.deepEqual(stored.normalizers.json.config.propagation.tables["appended"], { _dlt_id: "_dlt_root_id" });
  assert.equal(stored.normalizers.json.config.propagation.tables["replaced"], undefined);
});

test("tests/normalize test_schema_changes: new fields add columns, a clash adds a variant, in the root and nested table alike", async () => {
  const doc = { str: "text", int: 1 };
  const doc2 = { str: "text", int: 1, bool: true };
  await load("doc", [doc, doc2, doc]);
  await load("doc", [{ comp: [doc] }, doc, { int: "hundred" }, { comp: [doc2] }, { comp: [{ int: "hundred" }] }]);
  assert.deepEqual(new Set(await names("doc")), new Set(["_dlt_load_id", "_dlt_id", "str", "int", "bool", "int__v_text"]));
  assert.deepEqual(new Set(await names("doc__comp")), new Set(["_dlt_id", "_dlt_list_idx", "_dlt_parent_id", "str", "int", "bool", "int__v_text"]));
  const [v] = await sql(`SELECT schema FROM ${D}._dlt_version ORDER BY version DESC LIMIT 1`);
  const stored = JSON.parse(String(v?.["schema"])) as { tables: Record<string, { parent?: string; columns: Record<string, { variant?: boolean }> }> };
  assert.equal(stored.tables["doc__comp"]?.parent, "doc");
  assert.equal(stored.tables["doc"]?.columns["int__v_text"]?.variant, true);
});

test("tests/normalize test_normalize_single_user_event_jsonl, test_normalize_raw_no_type_hints: dlt's rasa user event case", async () => {
  assert.deepEqual(Object.keys(rowsOf("event")).sort(), [
    "event",
    "event__parse_data__intent_ranking",
    "event__parse_data__response_selector__all_retrieval_intents",
    "event__parse_data__response_selector__default__ranking",
    "event__parse_data__response_selector__default__response__response_templates",
    "event__parse_data__response_selector__default__response__responses",
  ]);
  assert.equal(first.tables["event"], 1);
  assert.equal(first.tables["event__parse_data__response_selector__default__ranking"], 10);
  assert.deepEqual(await sql(`SELECT event, parse_data__intent__name AS intent, text FROM ${D}.event`), [
    { event: "user", intent: "greet", text: "hello" },
  ]);
  const ranking = Object.fromEntries(await cols("event__parse_data__response_selector__default__ranking"));
  assert.deepEqual([ranking["id"], ranking["confidence"], ranking["intent_response_key"]], ["BIGINT", "DOUBLE", "VARCHAR"]);
  assert.equal(Object.fromEntries(await cols("event"))["timestamp"], "DOUBLE", "a float timestamp stays double without type hints");
  assert.deepEqual(await sql(`SELECT id::VARCHAR AS id FROM ${D}.event__parse_data__intent_ranking WHERE _dlt_list_idx = 5`), [
    { id: "9125925096810900236" },
  ]);
});

test("tests/normalize test_coerce_row, test_coerce_row_iso_timestamp, test_coerce_tz_awareness: values coerced into their column, or a variant", async () => {
  assert.deepEqual(await cols("coerce"), [
    ["timestamp", "TIMESTAMP WITH TIME ZONE"],
    ["confidence", "DOUBLE"],
    ["_dlt_load_id", "VARCHAR"],
    ["_dlt_id", "VARCHAR"],
    ["confidence__v_text", "VARCHAR"],
    ["timestamp__v_text", "VARCHAR"],
    ["confidence__v_bool", "BOOLEAN"],
  ]);
  const rows = await sql(
    `SELECT epoch_ms("timestamp") AS ms, confidence AS c, confidence__v_text AS ct, timestamp__v_text AS tt, confidence__v_bool AS cb FROM ${D}.coerce ORDER BY _dlt_id`,
  );
  const got = rows.map((r) => [r["ms"], r["c"], r["ct"], r["tt"], r["cb"]]);
  const want = [
    [Date.parse("2022-05-10T00:17:15.300Z"), 0.1, null, null, null],
    [Date.parse("1970-01-01T21:42:52.128Z"), 1, null, null, null],
    [Date.parse("1970-01-01T21:42:52.128Z"), null, "STR", null, null],
    [null, null, null, "übermorgen", false],
    [Date.parse("2022-05-09T22:17:15.300Z"), 0.5, null, null, null],
  ];
  assert.deepEqual(new Set(got.map((r) => JSON.stringify(r))), new Set(want.map((r) => JSON.stringify(r))));
});
