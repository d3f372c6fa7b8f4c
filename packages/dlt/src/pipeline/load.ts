/**
 * Load: normalized files → the DuckDB file `<pipeline_name>.duckdb`, dataset = DuckDB schema, all in ONE
 * transaction (tables and new columns, replace/merge deletes, inserts, the `_dlt_loads` row): a failure leaves the
 * previous data exactly as it was.
 */
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { q } from "./naming.js";
import { DUCKDB_TYPES, type ColumnType, type Schema, type TableSchema } from "./schema.js";

/** What one load package holds for the loader. */
export interface LoadJob {
  readonly loadId: string;
  readonly pipelineName: string;
  readonly dataset: string;
  readonly dbPath: string;
  readonly schema: Schema;
  /** Root tables loaded in this package, with their normalized files per table (root and children). */
  readonly roots: readonly string[];
  readonly files: Readonly<Record<string, string>>;
}

const READ_TYPE: Record<ColumnType, string> = { bigint: "BIGINT", double: "DOUBLE", bool: "BOOLEAN", text: "VARCHAR", timestamp: "VARCHAR", json: "VARCHAR" };
const sqlString = (s: string): string => `'${s.replaceAll("'", "''")}'`;

function descendants(schema: Schema, root: string): TableSchema[] {
  const out: TableSchema[] = [];
  const walk = (name: string): void => {
    for (const t of Object.values(schema.tables)) {
      if (t.parent === name) {
        out.push(t);
        walk(t.name);
      }
    }
  };
  walk(root);
  return out;
}

function readFrom(t: TableSchema, file: string): string {
  const cols = Object.entries(t.columns).map(([c, ty]) => `${sqlString(c)}: '${READ_TYPE[ty]}'`).join(", ");
  return `read_ndjson(${sqlString(file)}, columns = {${cols}})`;
}

async function ensureTable(c: DuckDBConnection, ds: string, t: TableSchema): Promise<void> {
  const cols = Object.entries(t.columns).map(([name, ty]) => `${q(name)} ${DUCKDB_TYPES[ty]}`);
  await c.run(`CREATE TABLE IF NOT EXISTS ${q(ds)}.${q(t.name)} (${cols.join(", ")})`);
  for (const [name, ty] of Object.entries(t.columns)) {
    await c.run(`ALTER TABLE ${q(ds)}.${q(t.name)} ADD COLUMN IF NOT EXISTS ${q(name)} ${DUCKDB_TYPES[ty]}`);
  }
}

async function insert(c: DuckDBConnection, ds: string, t: TableSchema, file: string): Promise<void> {
  const names = Object.keys(t.columns);
  const select = Object.entries(t.columns).map(([name, ty]) =>
    ty === "timestamp" ? `CAST(${q(name)} AS TIMESTAMPTZ)` : ty === "json" ? `CAST(${q(name)} AS JSON)` : q(name),
  );
  await c.run(`INSERT INTO ${q(ds)}.${q(t.name)} (${names.map(q).join(", ")}) SELECT ${select.join(", ")} FROM ${readFrom(t, file)}`);
}

/** Runs the load; rows per table as counted in the files are the caller's. */
export async function loadPackage(job: LoadJob): Promise<void> {
  const instance = await DuckDBInstance.create(job.dbPath);
  const c = await instance.connect();
  const ds = job.dataset;
  try {
    await c.run("BEGIN TRANSACTION");
    try {
      await c.run(`CREATE SCHEMA IF NOT EXISTS ${q(ds)}`);
      await c.run(
        `CREATE TABLE IF NOT EXISTS ${q(ds)}._dlt_loads (load_id VARCHAR NOT NULL, schema_name VARCHAR, status BIGINT NOT NULL, inserted_at TIMESTAMPTZ NOT NULL)`,
      );
      for (const rootName of job.roots) {
        const root = job.schema.tables[rootName]!;
        const family = [root, ...descendants(job.schema, rootName)];
        for (const t of family) await ensureTable(c, ds, t);
        if (root.writeDisposition === "replace") {
          for (const t of family.slice().reverse()) await c.run(`DELETE FROM ${q(ds)}.${q(t.name)}`);
        } else if (root.writeDisposition === "merge" && job.files[rootName]) {
          const pk = root.primaryKey.map(q).join(", ");
          const incoming = `SELECT ${pk} FROM ${readFrom(root, job.files[rootName])}`;
          const replaced = `SELECT _dlt_id FROM ${q(ds)}.${q(root.name)} WHERE (${pk}) IN (${incoming})`;
          for (const t of family.slice(1).reverse()) {
            await c.run(`DELETE FROM ${q(ds)}.${q(t.name)} WHERE _dlt_root_id IN (${replaced})`);
          }
          await c.run(`DELETE FROM ${q(ds)}.${q(root.name)} WHERE (${pk}) IN (${incoming})`);
        }
        for (const t of family) {
          const file = job.files[t.name];
          if (file) await insert(c, ds, t, file);
          // Test-only fault injection: a failure in the middle of the transaction.
          if (process.env["DLT_TS_FAIL_LOAD_AFTER_TABLE"] === t.name) throw new Error(`injected load failure after table ${t.name}`);
        }
      }
      await c.run(`INSERT INTO ${q(ds)}._dlt_loads VALUES (?, ?, 0, now())`, [job.loadId, job.pipelineName]);
      await c.run("COMMIT");
    } catch (e) {
      await c.run("ROLLBACK").catch(() => undefined);
      throw e;
    }
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}
