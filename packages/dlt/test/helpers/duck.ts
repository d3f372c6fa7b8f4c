/** Reading (and, to set up failures, changing) a DuckDB file from a test, each call with its own connection. */
import { DuckDBInstance } from "@duckdb/node-api";

async function withDb<T>(dbPath: string, fn: (c: Awaited<ReturnType<DuckDBInstance["connect"]>>) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(dbPath);
  const c = await instance.connect();
  try {
    return await fn(c);
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

/** Runs a query and returns plain rows (integers as numbers where they fit). */
export function query(dbPath: string, sql: string): Promise<Record<string, unknown>[]> {
  return withDb(dbPath, async (c) => {
    const rows = (await c.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
    return rows.map((r) =>
      Object.fromEntries(
        Object.entries(r).map(([k, v]) => [k, typeof v === "string" && /^-?\d+$/.test(v) && Math.abs(Number(v)) < 2 ** 53 ? Number(v) : v]),
      ),
    );
  });
}

/** Runs statements. */
export function exec(dbPath: string, ...sql: string[]): Promise<void> {
  return withDb(dbPath, async (c) => {
    for (const s of sql) await c.run(s);
  });
}

/** Column name → DuckDB type of a table, in column order. */
export async function columns(dbPath: string, schema: string, table: string): Promise<[string, string][]> {
  const rows = await query(
    dbPath,
    `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = '${schema}' AND table_name = '${table}' ORDER BY ordinal_position`,
  );
  return rows.map((r) => [String(r["column_name"]), String(r["data_type"])]);
}

/** The tables of a DuckDB schema, sorted by name. */
export async function tableNames(dbPath: string, schema: string): Promise<string[]> {
  const rows = await query(dbPath, `SELECT table_name FROM information_schema.tables WHERE table_schema = '${schema}' ORDER BY table_name`);
  return rows.map((r) => String(r["table_name"]));
}
