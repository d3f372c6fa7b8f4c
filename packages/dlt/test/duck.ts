import { DuckDBInstance } from "@duckdb/node-api";

/** Runs SQL against a DuckDB file and returns plain rows (numbers as numbers where they fit). */
export async function query(dbPath: string, sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(dbPath);
  const c = await instance.connect();
  try {
    const rows = (await c.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
    return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === "string" && /^-?\d+$/.test(v) && Math.abs(Number(v)) < 2 ** 53 ? Number(v) : v])));
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}
