/**
 * Load: normalized packages → the DuckDB file `<pipeline_name>.duckdb`, dataset = DuckDB schema. Each package is
 * ONE transaction (new tables and columns, replace/merge deletes, inserts, its `_dlt_loads` row): a failure leaves
 * the previous data exactly as it was, and the package on disk for the next run.
 *
 * Rows go in with `INSERT … SELECT … FROM read_csv(…)`: DuckDB parses the files natively with the column types
 * given (no sniffing), which is faster than appending value by value from JS.
 */
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { q } from "./naming.js";
import type { NormalizedPackage, TableFile } from "./package.js";
import { DUCKDB_TYPES, type ColumnType, type Schema, type TableSchema } from "./schema.js";

/** How a file's fields are read: timestamps and JSON as text, cast on insert (with an error naming the value). */
const READ_TYPE: Record<ColumnType, string> = { bigint: "BIGINT", double: "DOUBLE", bool: "BOOLEAN", text: "VARCHAR", timestamp: "VARCHAR", json: "VARCHAR" };
const sqlString = (s: string): string => `'${s.replaceAll("'", "''")}'`;

/** The table and its child tables (children after parents). */
function family(schema: Schema, root: string): TableSchema[] {
  const out: TableSchema[] = [];
  const walk = (t: TableSchema): void => {
    out.push(t);
    for (const c of Object.values(schema.tables)) if (c.parent === t.name) walk(c);
  };
  const r = schema.tables[root];
  if (r) walk(r);
  return out;
}

function readCsv(t: TableSchema, f: TableFile): string {
  const cols = f.columns.map((c) => `${sqlString(c)}: '${READ_TYPE[t.columns[c] ?? "text"]}'`).join(", ");
  return (
    `read_csv(${sqlString(f.path)}, columns = {${cols}}, header = false, auto_detect = false, delim = ',', ` +
    `quote = '"', escape = '"', new_line = '\\n', allow_quoted_nulls = false, null_padding = true, ` +
    // 2 MB read buffers (DuckDB's default is 16 x the 2 MB line limit = 32 MB per thread), which is most of what
    // a narrow table's load needs beyond its row groups.
    `buffer_size = ${2 << 20}, max_line_size = ${2 << 20})`
  );
}

/** `INSERT INTO <into> (…) SELECT … FROM <file>`, with `_dlt_load_id` as a constant and an optional filter. */
function insertSql(into: string, t: TableSchema, f: TableFile, loadId: string, where = ""): string {
  const select = f.columns.map((c) => {
    const ty = t.columns[c];
    return ty === "timestamp" ? `CAST(${q(c)} AS TIMESTAMPTZ)` : ty === "json" ? `CAST(${q(c)} AS JSON)` : q(c);
  });
  const cols = [...f.columns, "_dlt_load_id"].map(q).join(", ");
  return `INSERT INTO ${into} (${cols}) SELECT ${select.join(", ")}, ${sqlString(loadId)} FROM ${readCsv(t, f)}${where}`;
}

/** Creates the table, or adds the columns it lacks (schema evolution: columns are only ever added). */
async function ensureTable(c: DuckDBConnection, ds: string, t: TableSchema, existing: Map<string, Set<string>>): Promise<void> {
  const have = existing.get(t.name);
  if (!have) {
    const cols = Object.entries(t.columns).map(([name, ty]) => `${q(name)} ${DUCKDB_TYPES[ty]}`);
    await c.run(`CREATE TABLE ${q(ds)}.${q(t.name)} (${cols.join(", ")})`);
    existing.set(t.name, new Set(Object.keys(t.columns)));
    return;
  }
  for (const [name, ty] of Object.entries(t.columns)) {
    if (have.has(name)) continue;
    await c.run(`ALTER TABLE ${q(ds)}.${q(t.name)} ADD COLUMN ${q(name)} ${DUCKDB_TYPES[ty]}`);
    have.add(name);
  }
}

async function existingColumns(c: DuckDBConnection, ds: string): Promise<Map<string, Set<string>>> {
  const rows = (
    await c.runAndReadAll("SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = ?", [ds])
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
 * Merge of one root table: incoming rows are deduplicated on the primary key (the last one wins), rows with the
 * same key are replaced together with their child rows, and only the kept rows' children are inserted.
 */
async function merge(c: DuckDBConnection, ds: string, fam: TableSchema[], pkg: NormalizedPackage): Promise<void> {
  const root = fam[0]!;
  const rootFile = pkg.files[root.name];
  if (!rootFile) return;
  const stage = q("_dlt_stage");
  const target = `${q(ds)}.${q(root.name)}`;
  const match = (a: string, b: string): string => root.primaryKey.map((k) => `${a}.${q(k)} = ${b}.${q(k)}`).join(" AND ");
  await c.run(`CREATE OR REPLACE TEMP TABLE ${stage} AS SELECT * FROM ${target} LIMIT 0`);
  await c.run(insertSql(stage, root, rootFile, pkg.loadId));
  await c.run(`DELETE FROM ${stage} WHERE rowid NOT IN (SELECT max(rowid) FROM ${stage} GROUP BY ${root.primaryKey.map(q).join(", ")})`);
  const replaced = `SELECT t._dlt_id FROM ${target} t WHERE EXISTS (SELECT 1 FROM ${stage} s WHERE ${match("s", "t")})`;
  for (const t of fam.slice(1).reverse()) await c.run(`DELETE FROM ${q(ds)}.${q(t.name)} WHERE _dlt_root_id IN (${replaced})`);
  await c.run(`DELETE FROM ${target} t WHERE EXISTS (SELECT 1 FROM ${stage} s WHERE ${match("s", "t")})`);
  await c.run(`INSERT INTO ${target} BY NAME SELECT * FROM ${stage}`);
  for (const t of fam.slice(1)) {
    const f = pkg.files[t.name];
    if (f) await c.run(insertSql(`${q(ds)}.${q(t.name)}`, t, f, pkg.loadId, ` WHERE _dlt_root_id IN (SELECT _dlt_id FROM ${stage})`));
  }
  await c.run(`DROP TABLE ${stage}`);
}

async function loadOne(c: DuckDBConnection, ds: string, pipelineName: string, pkg: NormalizedPackage): Promise<boolean> {
  await c.run("BEGIN TRANSACTION");
  try {
    await c.run(`CREATE SCHEMA IF NOT EXISTS ${q(ds)}`);
    await c.run(
      `CREATE TABLE IF NOT EXISTS ${q(ds)}._dlt_loads (load_id VARCHAR NOT NULL, schema_name VARCHAR, status BIGINT NOT NULL, inserted_at TIMESTAMPTZ NOT NULL)`,
    );
    // A package whose commit went through but whose folder outlived a crash is not loaded twice.
    const done = await c.runAndReadAll(`SELECT 1 FROM ${q(ds)}._dlt_loads WHERE load_id = ?`, [pkg.loadId]);
    if (done.currentRowCount > 0) {
      await c.run("ROLLBACK");
      return false;
    }
    const existing = await existingColumns(c, ds);
    for (const rootName of pkg.roots) {
      const fam = family(pkg.schema, rootName);
      const root = fam[0];
      if (!root) throw new Error(`load: package ${pkg.loadId} has no schema for table ${rootName}`);
      for (const t of fam) await ensureTable(c, ds, t, existing);
      if (root.writeDisposition === "merge") {
        await merge(c, ds, fam, pkg);
        continue;
      }
      if (root.writeDisposition === "replace") {
        for (const t of fam.slice().reverse()) await c.run(`DELETE FROM ${q(ds)}.${q(t.name)}`);
      }
      for (const t of fam) {
        const f = pkg.files[t.name];
        if (f) await c.run(insertSql(`${q(ds)}.${q(t.name)}`, t, f, pkg.loadId));
      }
    }
    await c.run(`INSERT INTO ${q(ds)}._dlt_loads VALUES (?, ?, 0, now())`, [pkg.loadId, pipelineName]);
    await c.run("COMMIT");
    return true;
  } catch (e) {
    await c.run("ROLLBACK").catch(() => undefined);
    throw e;
  }
}

/**
 * Loads packages in order, each in its own transaction; `loaded` is called after each commit (the caller then
 * removes the package). Stops at the first failure, which is rethrown as DuckDB raised it.
 */
export async function loadPackages(
  dbPath: string,
  dataset: string,
  pipelineName: string,
  packages: readonly NormalizedPackage[],
  loaded: (pkg: NormalizedPackage, committed: boolean) => void,
): Promise<void> {
  // DuckDB's buffer pool defaults to 80 % of RAM and a load holds its transaction's row groups, so without a cap
  // a large run's RSS follows the data size. The cap starts small (a narrow table loads in 64 MB, spilling to
  // DuckDB's temp directory); a wide table needs whole row groups of ~122k rows in memory, so on DuckDB's
  // out-of-memory error the package's transaction (rolled back) is retried with a larger cap rather than failing
  // a load that fits the machine. DLT_DUCKDB_MEMORY_LIMIT sets the caps to try, comma-separated ("1GB" = one
  // fixed cap, no retry; "default" = DuckDB's own).
  const custom = (process.env["DLT_DUCKDB_MEMORY_LIMIT"] ?? "").split(",").map((x) => x.trim()).filter(Boolean);
  const ladder = custom.length > 0 ? custom : ["64MB", "512MB", "2GB", "default"];
  const instance = await DuckDBInstance.create(dbPath, ladder[0] === "default" ? {} : { memory_limit: ladder[0]! });
  try {
    const c = await instance.connect();
    try {
      let step = 0;
      for (const pkg of packages) {
        for (;;) {
          try {
            loaded(pkg, await loadOne(c, dataset, pipelineName, pkg));
            break;
          } catch (e) {
            if (!/Out of Memory Error/.test(String(e)) || step >= ladder.length - 1) throw e;
            const next = ladder[++step]!;
            await c.run(next === "default" ? "RESET memory_limit" : `SET memory_limit = '${next}'`);
          }
        }
      }
    } finally {
      c.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}
