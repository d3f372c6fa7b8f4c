/**
 * The schema a pipeline infers and keeps between runs, in dlt's stored format (`TStoredSchema`, engine version 11,
 * `dlt/common/schema/`): tables with their columns (type, nullability, hints) in order, `version` bumped and
 * `version_hash` recomputed when the content changes, dlt's system tables `_dlt_version` and `_dlt_loads` (and
 * `_dlt_pipeline_state` once a state was loaded). This is what `schemas/<name>.schema.json` and every row of
 * `_dlt_version` hold, so a schema written here reads as a dlt schema and one written by dlt reads here.
 */
import { contentHash } from "./canonical.js";
import { NESTING } from "./naming.js";

/** Column types of dlt. The normalizer infers the first six; the others may come with a schema restored from dlt. */
export type DataType = "bigint" | "double" | "bool" | "text" | "timestamp" | "json" | "date" | "time" | "decimal" | "binary" | "wei";

export type WriteDisposition = "append" | "replace" | "merge";

/** dlt's `TColumnSchema` (the hints we set; a restored schema may carry more, which are kept). */
export interface ColumnSchema {
  name: string;
  /** Missing on an incomplete column: a primary key named before any value was seen. */
  data_type?: DataType;
  nullable?: boolean;
  primary_key?: boolean;
  unique?: boolean;
  row_key?: boolean;
  parent_key?: boolean;
  root_key?: boolean;
  variant?: boolean;
  [hint: string]: unknown;
}

/** dlt's `TTableSchema`. Nested tables have `parent` and take their write disposition from their root table. */
export interface TableSchema {
  name: string;
  columns: Record<string, ColumnSchema>;
  write_disposition?: WriteDisposition | "skip";
  parent?: string;
  resource?: string;
  description?: string;
  file_format?: string;
  /** `seen-data` once rows were normalized into the table; `max_nesting` from `maxTableNesting`. */
  "x-normalizer"?: { "seen-data"?: boolean; max_nesting?: number; [key: string]: unknown };
  [key: string]: unknown;
}

/** dlt's `TStoredSchema`. */
export interface StoredSchema {
  version: number;
  version_hash: string;
  engine_version: number;
  name: string;
  tables: Record<string, TableSchema>;
  settings: Record<string, unknown>;
  normalizers: { names: string; json: { module: string; config?: NormalizerConfig } };
  previous_hashes: string[];
  [key: string]: unknown;
}

/** dlt's relational normalizer config: which root tables propagate `_dlt_id` to `_dlt_root_id`. */
export interface NormalizerConfig {
  propagation?: { root?: Record<string, string>; tables?: Record<string, Record<string, string>> };
  max_nesting?: number;
  [key: string]: unknown;
}

/** dlt's schema engine version (`SCHEMA_ENGINE_VERSION`). */
export const SCHEMA_ENGINE_VERSION = 11;
export const VERSION_TABLE = "_dlt_version";
export const LOADS_TABLE = "_dlt_loads";
export const STATE_TABLE = "_dlt_pipeline_state";
/** The columns dlt's relational normalizer adds. */
export const C = { id: "_dlt_id", parentId: "_dlt_parent_id", listIdx: "_dlt_list_idx", rootId: "_dlt_root_id", loadId: "_dlt_load_id" } as const;
/** dlt's default `max_nesting`. */
export const DEFAULT_MAX_NESTING = 1000;

export const DUCKDB_TYPES: Record<DataType, string> = {
  bigint: "BIGINT",
  double: "DOUBLE",
  bool: "BOOLEAN",
  text: "VARCHAR",
  timestamp: "TIMESTAMP WITH TIME ZONE",
  json: "JSON",
  date: "DATE",
  time: "TIME",
  decimal: "DECIMAL(38,9)",
  binary: "BLOB",
  wei: "DECIMAL(38,0)",
};

const col = (name: string, data_type: DataType, nullable: boolean): ColumnSchema => ({ name, data_type, nullable });
const columns = (...cs: ColumnSchema[]): Record<string, ColumnSchema> => Object.fromEntries(cs.map((c) => [c.name, c]));

/** `_dlt_version`: one row per schema version (dlt's `version_table()`; the column order is dlt's and fixed). */
function versionTable(): TableSchema {
  return {
    name: VERSION_TABLE,
    columns: columns(
      col("version", "bigint", false),
      col("engine_version", "bigint", false),
      col("inserted_at", "timestamp", false),
      col("schema_name", "text", false),
      col("version_hash", "text", false),
      col("schema", "text", false),
    ),
    write_disposition: "skip",
    resource: VERSION_TABLE,
    description: "Created by DLT. Tracks schema updates",
  };
}

/** `_dlt_loads`: one row per completed load (dlt's `loads_table()`). */
function loadsTable(): TableSchema {
  return {
    name: LOADS_TABLE,
    columns: columns(
      { ...col("load_id", "text", false), precision: 64 },
      col("schema_name", "text", true),
      col("status", "bigint", false),
      col("inserted_at", "timestamp", false),
      col("schema_version_hash", "text", true),
    ),
    write_disposition: "skip",
    resource: LOADS_TABLE,
    description: "Created by DLT. Tracks completed loads",
  };
}

/** `_dlt_pipeline_state`: the state rows (dlt's `pipeline_state_table()` plus the `_dlt_id` its normalizer adds). */
export function stateTable(): TableSchema {
  return {
    name: STATE_TABLE,
    columns: columns(
      col("version", "bigint", false),
      col("engine_version", "bigint", false),
      col("pipeline_name", "text", false),
      col("state", "text", false),
      col("created_at", "timestamp", false),
      col("version_hash", "text", true),
      dltColumn(C.loadId),
      dltColumn(C.id),
    ),
    write_disposition: "append",
    file_format: "preferred",
    resource: STATE_TABLE,
    "x-normalizer": { "seen-data": true },
  };
}

/** A `_dlt_*` column as dlt's default hints make it: not null, and its key hint. */
export function dltColumn(name: (typeof C)[keyof typeof C]): ColumnSchema {
  const c = col(name, name === C.listIdx ? "bigint" : "text", false);
  if (name === C.parentId) c.parent_key = true;
  if (name === C.rootId) c.root_key = true;
  if (name === C.id) Object.assign(c, { unique: true, row_key: true });
  return c;
}

/** A new schema named `name`, as dlt's `Schema(name)` creates it. */
export function newSchema(name: string): StoredSchema {
  return {
    version: 0,
    version_hash: "",
    engine_version: SCHEMA_ENGINE_VERSION,
    name,
    tables: { [VERSION_TABLE]: versionTable(), [LOADS_TABLE]: loadsTable() },
    settings: {
      detections: ["iso_timestamp"],
      default_hints: {
        not_null: [C.id, C.rootId, C.parentId, C.listIdx, C.loadId],
        parent_key: [C.parentId],
        root_key: [C.rootId],
        unique: [C.id],
        row_key: [C.id],
      },
    },
    normalizers: { names: "snake_case", json: { module: "dlt.common.normalizers.json.relational" } },
    previous_hashes: [],
  };
}

/**
 * dlt's `generate_version_hash`: SHA3-256 of the schema as compact JSON with sorted keys (without `version`,
 * `version_hash`, `imported_version_hash`, `previous_hashes`), then every table name in sorted order followed by its
 * column names in their order (column order is content). Checked against a schema stored by dlt in our tests.
 */
export function versionHash(schema: StoredSchema): string {
  const { version: _v, version_hash: _h, imported_version_hash: _i, previous_hashes: _p, ...content } = schema;
  const h = contentHash(content);
  for (const name of Object.keys(schema.tables).sort()) {
    h.update(name);
    for (const c of Object.keys(schema.tables[name]!.columns ?? {})) h.update(c);
  }
  return h.digest("base64");
}

/** dlt's `bump_version_if_modified`: a changed content bumps `version` and keeps the last 10 hashes. Returns whether it did. */
export function bumpVersion(schema: StoredSchema): boolean {
  const hash = versionHash(schema);
  const previous = schema.version_hash;
  if (!previous) schema.version = schema.version || 1;
  else if (hash !== previous) {
    schema.version += 1;
    if (!schema.previous_hashes.includes(previous)) schema.previous_hashes.unshift(previous);
    schema.previous_hashes.length = Math.min(schema.previous_hashes.length, 10);
  }
  schema.version_hash = hash;
  return hash !== previous;
}

/** The table and its nested tables, parents before children. */
export function tableChain(schema: StoredSchema, root: string): TableSchema[] {
  const out: TableSchema[] = [];
  const walk = (t: TableSchema): void => {
    out.push(t);
    for (const c of Object.values(schema.tables)) if (c.parent === t.name) walk(c);
  };
  const r = schema.tables[root];
  if (r) walk(r);
  return out;
}

/** The root table of `name` (itself when it has no parent). */
export function rootOf(schema: StoredSchema, name: string): TableSchema | undefined {
  let t = schema.tables[name];
  for (let hops = 0; t?.parent !== undefined && hops < 1000; hops++) t = schema.tables[t.parent];
  return t;
}

/** The primary key columns of a table, in column order. */
export function primaryKey(t: TableSchema): string[] {
  return Object.values(t.columns)
    .filter((c) => c.primary_key === true)
    .map((c) => c.name);
}

/** A table's write disposition: its own, or its root table's (nested tables inherit it, as in dlt). */
export function writeDisposition(schema: StoredSchema, t: TableSchema): WriteDisposition {
  const wd = (t.parent === undefined ? t : rootOf(schema, t.name))?.write_disposition;
  return wd === "replace" || wd === "merge" ? wd : "append";
}

/**
 * Whether the nested tables of `root` carry `_dlt_root_id` (dlt's `requires_root_key`): for merge, whose
 * delete-insert removes a replaced row's nested rows by it, and for good once any nested table has it.
 */
export function requiresRootKey(schema: StoredSchema, root: TableSchema): boolean {
  if (root.write_disposition === "merge") return true;
  return tableChain(schema, root.name).some((t) => t !== root && Object.values(t.columns).some((c) => c.root_key === true));
}

/** Records in dlt's normalizer config that `root` propagates its `_dlt_id` as `_dlt_root_id` (dlt's `extend_table`). */
export function propagateRootKey(schema: StoredSchema, root: string): void {
  const json = schema.normalizers.json;
  const config = (json.config ??= {});
  const propagation = (config.propagation ??= {});
  const tables = (propagation.tables ??= {});
  tables[root] = { ...tables[root], [C.id]: C.rootId };
}

/** The nesting level of a root table (`maxTableNesting`, stored as dlt's `x-normalizer.max_nesting`). */
export function maxNesting(schema: StoredSchema, root: TableSchema): number {
  return root["x-normalizer"]?.max_nesting ?? schema.normalizers.json.config?.max_nesting ?? DEFAULT_MAX_NESTING;
}

/** Whether `name` looks like a nested table's name of `root` (`root__…`). */
export const isUnder = (name: string, root: string): boolean => name.startsWith(root + NESTING);

const KNOWN_TYPES = new Set<string>(Object.keys(DUCKDB_TYPES));
/** A schema name names a file (`schemas/<name>.schema.json`): an identifier, as dlt requires, and nothing else. */
export const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * Checks that `value` (read from a file or from `_dlt_version`) is a stored schema this code can use, and fills in
 * what dlt leaves out when it stores one (table and column names, a root table's write disposition).
 * @throws an error naming `where` and the field that is wrong.
 */
export function asStoredSchema(value: unknown, where: string): StoredSchema {
  const fail = (field: string, why: string): never => {
    throw new Error(`${where}: ${field} ${why}`);
  };
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObj(value)) fail("the schema", "is not a JSON object");
  const s = value as Record<string, unknown>;
  if (typeof s["name"] !== "string" || !SCHEMA_NAME.test(s["name"]))
    fail("name", `${JSON.stringify(s["name"])} is not a schema name (an identifier)`);
  if (typeof s["engine_version"] !== "number") fail("engine_version", "is missing");
  if ((s["engine_version"] as number) > SCHEMA_ENGINE_VERSION) {
    fail("engine_version", `is ${String(s["engine_version"])}, newer than this dlt-ts understands (${SCHEMA_ENGINE_VERSION})`);
  }
  if (!isObj(s["tables"])) fail("tables", "is not an object");
  for (const [tn, t] of Object.entries(s["tables"] as Record<string, unknown>)) {
    if (!isObj(t)) fail(`tables.${tn}`, "is not an object");
    const table = t as Record<string, unknown>;
    table["name"] = tn;
    table["columns"] ??= {};
    if (!isObj(table["columns"])) fail(`tables.${tn}.columns`, "is not an object");
    for (const [cn, c] of Object.entries(table["columns"] as Record<string, unknown>)) {
      if (!isObj(c)) fail(`tables.${tn}.columns.${cn}`, "is not an object");
      const column = c as Record<string, unknown>;
      column["name"] = cn;
      if (column["data_type"] === "complex") column["data_type"] = "json"; // dlt's name for json before engine 10
      if (column["data_type"] !== undefined && !KNOWN_TYPES.has(String(column["data_type"]))) {
        fail(`tables.${tn}.columns.${cn}.data_type`, `is ${JSON.stringify(column["data_type"])}, not a dlt type`);
      }
    }
    if (table["parent"] === undefined) {
      table["write_disposition"] ??= "append";
      table["resource"] ??= tn;
    }
  }
  s["engine_version"] = SCHEMA_ENGINE_VERSION;
  s["version"] = typeof s["version"] === "number" ? s["version"] : 0;
  s["version_hash"] = typeof s["version_hash"] === "string" ? s["version_hash"] : "";
  s["previous_hashes"] = Array.isArray(s["previous_hashes"]) ? s["previous_hashes"] : [];
  s["settings"] = isObj(s["settings"]) ? s["settings"] : {};
  const n = isObj(s["normalizers"]) ? s["normalizers"] : {};
  s["normalizers"] = { names: "snake_case", ...n, json: isObj(n["json"]) ? n["json"] : { module: "dlt.common.normalizers.json.relational" } };
  return s as StoredSchema;
}
