/**
 * Load: normalized packages → the DuckDB file `<pipeline_name>.duckdb`, dataset = DuckDB schema. Each package is
 * ONE transaction: new tables and columns, replace/merge deletes, inserts, and dlt's system rows — a `_dlt_version`
 * row when the package's schema version is not there yet, a `_dlt_pipeline_state` row when the package carries a
 * new state, and last its `_dlt_loads` row with the schema's `version_hash`. A failure leaves the previous data
 * exactly as it was, and the package on disk for the next run. A package of `dlt pipeline <name> drop` first drops
 * its tables and every stored version of its schema (dlt's `drop_tables(…, delete_schema=True)`), in the same
 * transaction.
 *
 * Rows go in with `INSERT … SELECT … FROM read_csv(…)`: DuckDB parses the files natively with the column types
 * given (no sniffing), which is faster than appending value by value from JS.
 *
 * `loadPending` is the load step's work (dlt's `Load` runner; `Pipeline.load` hands off to it): the pipeline
 * folder's packages through `loadPackages`, each moved or marked failed as it ends.
 */
import { basename, dirname } from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { newRowId } from "./ids.js";
import { StepTotals } from "./info.js";
import { q } from "./naming.js";
import type { NormalizedPackage, PipelineDir, TableFile } from "./package.js";
import {
  C,
  DUCKDB_TYPES,
  LOADS_TABLE,
  primaryKey,
  STATE_TABLE,
  tableChain,
  VERSION_TABLE,
  writeDisposition,
  type ColumnSchema,
  type DataType,
  type StoredSchema,
  type TableSchema,
} from "./schema.js";
import { recordRunContext } from "./state.js";
import type { Progress } from "./progress.js";

/** How a file's fields are read: timestamps and JSON as text, cast on insert (with an error naming the value). */
const READ_TYPE: Partial<Record<DataType, string>> = {
  bigint: "BIGINT",
  double: "DOUBLE",
  bool: "BOOLEAN",
  text: "VARCHAR",
  timestamp: "VARCHAR",
  json: "VARCHAR",
};
const sqlString = (s: string): string => `'${s.replaceAll("'", "''")}'`;

function readCsv(t: TableSchema, f: TableFile): string {
  const cols = f.columns.map((c) => `${sqlString(c)}: '${READ_TYPE[t.columns[c]?.data_type ?? "text"] ?? "VARCHAR"}'`).join(", ");
  return (
    `read_csv(${sqlString(f.path)}, columns = {${cols}}, header = false, auto_detect = false, delim = ',', ` +
    `quote = '"', escape = '"', new_line = '\\n', allow_quoted_nulls = false, null_padding = true, ` +
    // 2 MB read buffers (DuckDB's default is 16 x the 2 MB line limit = 32 MB per thread), which is most of what
    // a narrow table's load needs beyond its row groups.
    `buffer_size = ${2 << 20}, max_line_size = ${2 << 20})`
  );
}

/** `INSERT INTO <into> (…) SELECT … FROM <file>`; root tables get `_dlt_load_id` as a constant. */
function insertSql(into: string, t: TableSchema, f: TableFile, loadId: string, where = ""): string {
  const select = f.columns.map((c) => {
    const ty = t.columns[c]?.data_type;
    return ty === "timestamp" ? `CAST(${q(c)} AS TIMESTAMPTZ)` : ty === "json" ? `CAST(${q(c)} AS JSON)` : q(c);
  });
  const withLoadId = C.loadId in t.columns;
  const cols = [...f.columns, ...(withLoadId ? [C.loadId] : [])].map(q).join(", ");
  return `INSERT INTO ${into} (${cols}) SELECT ${[...select, ...(withLoadId ? [sqlString(loadId)] : [])].join(", ")} FROM ${readCsv(t, f)}${where}`;
}

function columnSql(c: ColumnSchema, withNotNull: boolean): string {
  const type = DUCKDB_TYPES[c.data_type!];
  if (!type) throw new Error(`column ${c.name} has type ${String(c.data_type)}, which dlt-ts cannot create`);
  return `${q(c.name)} ${type}${withNotNull && c.nullable === false ? " NOT NULL" : ""}`;
}

/**
 * Creates the table (NOT NULL where the schema says so, as dlt does), or adds the columns it lacks (schema
 * evolution: columns are only ever added; DuckDB cannot add a NOT NULL column, so added ones are nullable).
 * Returns the columns it added to an existing table. Incomplete columns (no type yet) are not created.
 */
async function ensureTable(c: DuckDBConnection, ds: string, t: TableSchema, existing: Map<string, Set<string>>): Promise<string[]> {
  const cols = Object.values(t.columns).filter((col) => col.data_type !== undefined);
  const have = existing.get(t.name);
  if (!have) {
    await c.run(`CREATE TABLE ${ds}.${q(t.name)} (${cols.map((col) => columnSql(col, true)).join(", ")})`);
    existing.set(t.name, new Set(cols.map((col) => col.name)));
    return [];
  }
  const added: string[] = [];
  for (const col of cols) {
    if (have.has(col.name)) continue;
    await c.run(`ALTER TABLE ${ds}.${q(t.name)} ADD COLUMN ${columnSql(col, false)}`);
    have.add(col.name);
    added.push(col.name);
  }
  return added;
}

async function existingColumns(c: DuckDBConnection, dataset: string): Promise<Map<string, Set<string>>> {
  const rows = (
    await c.runAndReadAll("SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = ?", [
      dataset,
    ])
  ).getRows();
  const m = new Map<string, Set<string>>();
  for (const [t, col] of rows) {
    let s = m.get(String(t));
    if (!s) m.set(String(t), (s = new Set()));
    s.add(String(col));
  }
  return m;
}

/**
 * A nested table that existed before its root switched to merge gets `_dlt_root_id` now: its rows are given their
 * root's id (through the parent, parents first), so merge can replace them with their root row.
 */
async function fillRootIds(c: DuckDBConnection, ds: string, schema: StoredSchema, t: TableSchema): Promise<void> {
  const parent = schema.tables[t.parent!]!;
  const tn = `${ds}.${q(t.name)}`;
  if (parent.parent === undefined) await c.run(`UPDATE ${tn} SET ${C.rootId} = ${C.parentId} WHERE ${C.rootId} IS NULL`);
  else
    await c.run(
      `UPDATE ${tn} AS t SET ${C.rootId} = p.${C.rootId} FROM ${ds}.${q(parent.name)} p WHERE t.${C.parentId} = p.${C.id} AND t.${C.rootId} IS NULL`,
    );
}

/**
 * Merge of one root table (dlt's delete-insert): incoming rows are deduplicated on the primary key (the last one
 * wins), rows with the same key are replaced together with their nested rows (found by `_dlt_root_id`), and only the
 * kept rows' nested rows are inserted.
 */
async function merge(
  c: DuckDBConnection,
  ds: string,
  chain: TableSchema[],
  pkg: NormalizedPackage,
  existing: Map<string, Set<string>>,
  at: { table: string | undefined },
): Promise<void> {
  const root = chain[0]!;
  const rootFile = pkg.files[root.name];
  if (!rootFile) return;
  const pk = primaryKey(root);
  const stage = q("_dlt_stage");
  const target = `${ds}.${q(root.name)}`;
  const match = (a: string, b: string): string => pk.map((k) => `${a}.${q(k)} = ${b}.${q(k)}`).join(" AND ");
  await c.run(`CREATE OR REPLACE TEMP TABLE ${stage} AS SELECT * FROM ${target} LIMIT 0`);
  await c.run(insertSql(stage, root, rootFile, pkg.loadId));
  await c.run(`DELETE FROM ${stage} WHERE rowid NOT IN (SELECT max(rowid) FROM ${stage} GROUP BY ${pk.map(q).join(", ")})`);
  const replaced = `SELECT t.${C.id} FROM ${target} t WHERE EXISTS (SELECT 1 FROM ${stage} s WHERE ${match("s", "t")})`;
  for (const t of chain.slice(1).reverse()) {
    if (existing.get(t.name)?.has(C.rootId)) await c.run(`DELETE FROM ${ds}.${q(t.name)} WHERE ${C.rootId} IN (${replaced})`);
  }
  await c.run(`DELETE FROM ${target} t WHERE EXISTS (SELECT 1 FROM ${stage} s WHERE ${match("s", "t")})`);
  await c.run(`INSERT INTO ${target} BY NAME SELECT * FROM ${stage}`);
  for (const t of chain.slice(1)) {
    const f = pkg.files[t.name];
    at.table = t.name;
    if (f) await c.run(insertSql(`${ds}.${q(t.name)}`, t, f, pkg.loadId, ` WHERE ${C.rootId} IN (SELECT ${C.id} FROM ${stage})`));
  }
  await c.run(`DROP TABLE ${stage}`);
}

/** The `_dlt_version` row of the package's schema, unless that version is there already (dlt: one row per hash). */
async function storeSchemaVersion(c: DuckDBConnection, ds: string, schema: StoredSchema): Promise<void> {
  const found = await c.runAndReadAll(`SELECT 1 FROM ${ds}.${VERSION_TABLE} WHERE version_hash = ?`, [schema.version_hash]);
  if (found.currentRowCount > 0) return;
  await c.run(
    `INSERT INTO ${ds}.${VERSION_TABLE} (version, engine_version, inserted_at, schema_name, version_hash, schema) VALUES (?, ?, now(), ?, ?, ?)`,
    [schema.version, schema.engine_version, schema.name, schema.version_hash, JSON.stringify(schema)],
  );
}

/**
 * `dataset` as a qualified SQL prefix: `"<catalog>"."<dataset>"`. With the catalog named (DuckDB names it after the
 * file) a dataset named like its pipeline (`chess.duckdb`, dataset `chess`) is not an ambiguous reference.
 */
async function qualified(c: DuckDBConnection, dataset: string): Promise<string> {
  const r = await c.runAndReadAll("SELECT current_database()");
  return `${q(String(r.getRows()[0]![0]))}.${q(dataset)}`;
}

/**
 * Loads one package; `ds` is the dataset as a qualified SQL prefix, `dataset` its name. `at.table` follows the table
 * being loaded, so that a failure can name it.
 */
async function loadOne(
  c: DuckDBConnection,
  ds: string,
  dataset: string,
  pkg: NormalizedPackage,
  at: { table: string | undefined },
): Promise<boolean> {
  const schema = pkg.schema;
  at.table = undefined;
  await c.run("BEGIN TRANSACTION");
  try {
    await c.run(`CREATE SCHEMA IF NOT EXISTS ${ds}`);
    const existing = await existingColumns(c, dataset);
    at.table = VERSION_TABLE;
    await ensureTable(c, ds, schema.tables[VERSION_TABLE]!, existing);
    at.table = LOADS_TABLE;
    await ensureTable(c, ds, schema.tables[LOADS_TABLE]!, existing);
    // A package whose commit went through but whose folder outlived a crash is not loaded twice.
    const done = await c.runAndReadAll(`SELECT 1 FROM ${ds}.${LOADS_TABLE} WHERE load_id = ?`, [pkg.loadId]);
    if (done.currentRowCount > 0) {
      await c.run("ROLLBACK");
      return false;
    }
    for (const t of pkg.droppedTables ?? []) {
      at.table = t;
      await c.run(`DROP TABLE IF EXISTS ${ds}.${q(t)}`);
      existing.delete(t);
    }
    if (pkg.droppedTables) {
      at.table = VERSION_TABLE;
      await c.run(`DELETE FROM ${ds}.${VERSION_TABLE} WHERE schema_name = ?`, [schema.name]);
    }
    at.table = VERSION_TABLE;
    await storeSchemaVersion(c, ds, schema);
    for (const rootName of pkg.roots) {
      const chain = tableChain(schema, rootName);
      const root = chain[0];
      if (!root) throw new Error(`package ${pkg.loadId} has no schema for table ${rootName}`);
      // Tables with rows in this package are created (as dlt does: a table never seen with data is not); tables
      // already there get the columns they lack.
      for (const t of chain) {
        at.table = t.name;
        if (!pkg.files[t.name] && !existing.has(t.name)) continue;
        const added = await ensureTable(c, ds, t, existing);
        if (added.includes(C.rootId) && t.parent !== undefined) await fillRootIds(c, ds, schema, t);
      }
      let wd = writeDisposition(schema, root);
      at.table = root.name;
      if (wd === "merge" && primaryKey(root).length === 0) {
        // dlt's fallback: merge with nothing to merge on appends, and says so.
        process.emitWarning(`dlt-ts: table ${root.name} has write_disposition merge but no primary key: its rows are appended`);
        wd = "append";
      }
      if (wd === "merge") {
        await merge(c, ds, chain, pkg, existing, at);
        continue;
      }
      if (wd === "replace") {
        for (const t of chain.slice().reverse()) {
          at.table = t.name;
          if (existing.has(t.name)) await c.run(`DELETE FROM ${ds}.${q(t.name)}`);
        }
      }
      for (const t of chain) {
        const f = pkg.files[t.name];
        at.table = t.name;
        if (f) await c.run(insertSql(`${ds}.${q(t.name)}`, t, f, pkg.loadId));
      }
    }
    if (pkg.stateDoc) {
      const s = pkg.stateDoc;
      at.table = STATE_TABLE;
      await ensureTable(c, ds, schema.tables[STATE_TABLE]!, existing);
      await c.run(
        `INSERT INTO ${ds}.${STATE_TABLE} (version, engine_version, pipeline_name, state, created_at, version_hash, ${C.loadId}, ${C.id}) ` +
          "VALUES (?, ?, ?, ?, CAST(? AS TIMESTAMPTZ), ?, ?, ?)",
        [s.version, s.engine_version, s.pipeline_name, s.state, s.created_at, s.version_hash, pkg.loadId, newRowId()],
      );
    }
    at.table = LOADS_TABLE;
    await c.run(`INSERT INTO ${ds}.${LOADS_TABLE} (load_id, schema_name, status, inserted_at, schema_version_hash) VALUES (?, ?, 0, now(), ?)`, [
      pkg.loadId,
      schema.name,
      schema.version_hash,
    ]);
    at.table = undefined;
    await c.run("COMMIT");
    return true;
  } catch (e) {
    await c.run("ROLLBACK").catch(() => undefined);
    throw e;
  }
}

/** What the loader tells its caller as it goes. */
export interface LoadProgress {
  /** After a package's commit (`committed` false: it was loaded before, by a run that crashed after its commit). */
  loaded(pkg: NormalizedPackage, committed: boolean): void;
  /** A package failed and was rolled back, at `table` (the table whose statement failed, if it was a table's). */
  failed(pkg: NormalizedPackage, table: string | undefined, error: unknown): void;
}

/**
 * Loads packages in order, each in its own transaction; `progress.loaded` is called after each commit (the caller
 * then moves the package to `loaded/`). Stops at the first failure, which `progress.failed` learns first and is then
 * rethrown as DuckDB raised it.
 */
export async function loadPackages(dbPath: string, dataset: string, packages: readonly NormalizedPackage[], progress: LoadProgress): Promise<void> {
  // DuckDB's buffer pool defaults to 80 % of RAM and a load holds its transaction's row groups, so without a cap
  // a large run's RSS follows the data size. The cap starts small (a narrow table loads in 64 MB, spilling to
  // DuckDB's temp directory); a wide table needs whole row groups of ~122k rows in memory, so on DuckDB's
  // out-of-memory error the package's transaction (rolled back) is retried with a larger cap rather than failing
  // a load that fits the machine. DLT_DUCKDB_MEMORY_LIMIT sets the caps to try, comma-separated ("1GB" = one
  // fixed cap, no retry; "default" = DuckDB's own).
  const custom = (process.env["DLT_DUCKDB_MEMORY_LIMIT"] ?? "")
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
  const ladder = custom.length > 0 ? custom : ["64MB", "512MB", "2GB", "default"];
  const instance = await DuckDBInstance.create(dbPath, ladder[0] === "default" ? {} : { memory_limit: ladder[0]! });
  try {
    const c = await instance.connect();
    try {
      // A timestamp without an offset is UTC (dlt's default), not the machine's local time.
      await c.run("SET TimeZone = 'UTC'");
      const ds = await qualified(c, dataset);
      let step = 0;
      const at: { table: string | undefined } = { table: undefined };
      for (const pkg of packages) {
        for (;;) {
          let committed: boolean;
          try {
            committed = await loadOne(c, ds, dataset, pkg, at);
          } catch (e) {
            if (!/Out of Memory Error/.test(String(e)) || step >= ladder.length - 1) {
              progress.failed(pkg, at.table, e);
              throw e;
            }
            const next = ladder[++step]!;
            await c.run(next === "default" ? "RESET memory_limit" : `SET memory_limit = '${next}'`);
            continue;
          }
          progress.loaded(pkg, committed);
          break;
        }
      }
    } finally {
      c.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

/**
 * Loads every normalized package of `folder`, oldest first (see `loadPackages`). A committed package's schema becomes
 * the pipeline's and the package moves to `loaded/`; one that fails stays for the next load, with the table and
 * DuckDB's error recorded, and `processing` learns its load id. After a load the state remembers where the DuckDB
 * file is, so `attach` finds it from anywhere.
 */
export async function loadPending(
  folder: PipelineDir,
  where: { readonly dbPath: string; readonly datasetName: string },
  processing: (loadId: string) => void,
  progress?: Progress,
): Promise<StepTotals> {
  const totals = new StepTotals();
  const packages = folder.normalizedPackages();
  const rowsOf = (p: NormalizedPackage): number => Object.values(p.rows).reduce((a, b) => a + b, 0);
  const total = packages.reduce((n, p) => n + rowsOf(p), 0);
  if (packages.length > 0) progress?.announce(`${total.toLocaleString("en-US")} rows into ${basename(where.dbPath)}/${where.datasetName}`);
  await loadPackages(where.dbPath, where.datasetName, packages, {
    loaded: (p, committed) => {
      folder.writeSchema(p.schema);
      folder.markLoaded(p, new Date());
      if (committed) totals.add(p.loadId, p.rows);
      progress?.add(rowsOf(p), total);
    },
    failed: (p, table, error) => {
      processing(p.loadId);
      folder.recordFailure(p.loadId, { table, message: error instanceof Error ? error.message : String(error), failedAt: new Date().toISOString() });
    },
  });
  progress?.done();
  const state = folder.readState();
  if (state && packages.length > 0) {
    recordRunContext(state, dirname(where.dbPath));
    folder.writeState(state);
  }
  return totals;
}
