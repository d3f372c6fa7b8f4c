/**
 * The embedded DuckDB store: zero set-up, one file. A group of rows is written as NDJSON to a private temp file and
 * inserted with one `INSERT OR IGNORE … SELECT FROM read_ndjson(…)` in one transaction: DuckDB's native JSON reader
 * is ~3x faster than binding values from JS (measured: 58k vs 20k rows/s), the primary key drops replays, and the
 * WAL makes the commit durable before the requests are answered.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBConnection, DuckDBInstance, type DuckDBValue } from "@duckdb/node-api";
import { COLUMNS, type EventRow } from "../row.js";
import type { Cell, EventStore } from "./types.js";

const TS_COLUMNS = new Set(["timestamp_ms", "original_timestamp_ms", "sent_at_ms", "received_at_ms"]);

/** SQL type of each column in `events`; `*_ms` columns become TIMESTAMP columns without the suffix. */
const SQL_TYPES: Record<keyof EventRow, string> = {
  message_id: "VARCHAR PRIMARY KEY", type: "VARCHAR NOT NULL", event: "VARCHAR", anonymous_id: "VARCHAR", user_id: "VARCHAR",
  timestamp_ms: "TIMESTAMP NOT NULL", original_timestamp_ms: "TIMESTAMP", sent_at_ms: "TIMESTAMP", received_at_ms: "TIMESTAMP NOT NULL",
  library_name: "VARCHAR", library_version: "VARCHAR", os_name: "VARCHAR", os_version: "VARCHAR", runtime_name: "VARCHAR",
  runtime_version: "VARCHAR", ci_run: "BOOLEAN", cpu: "INTEGER", exec_info: "VARCHAR", event_category: "VARCHAR",
  event_name: "VARCHAR", success: "BOOLEAN", elapsed: "DOUBLE", destination_name: "VARCHAR", pipeline_name: "VARCHAR",
  transaction_id: "VARCHAR", message: "VARCHAR NOT NULL",
};

const tableColumn = (c: keyof EventRow): string => (TS_COLUMNS.has(c) ? c.slice(0, -3) : c);
const readType = (c: keyof EventRow): string => (TS_COLUMNS.has(c) ? "DOUBLE" : SQL_TYPES[c].split(" ")[0]!);

/** `CREATE TABLE` of the events table (names are what the dashboard queries). */
export const CREATE_EVENTS = `CREATE TABLE IF NOT EXISTS events (${COLUMNS.map((c) => `"${tableColumn(c)}" ${SQL_TYPES[c]}`).join(", ")})`;

const READ_COLUMNS = `{${COLUMNS.map((c) => `'${c}': '${readType(c)}'`).join(", ")}}`;
const SELECT = COLUMNS.map((c) => (TS_COLUMNS.has(c) ? `epoch_ms(CAST("${c}" AS BIGINT))` : `"${c}"`)).join(", ");

export class DuckDbStore implements EventStore {
  private seq = 0;
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    private readonly reader: DuckDBConnection,
    private readonly spill: string,
  ) {}

  /** Opens (or creates) the database file. `memoryLimit` caps DuckDB's buffer pool (default 256MB). */
  static async open(path: string, memoryLimit = "256MB"): Promise<DuckDbStore> {
    const instance = await DuckDBInstance.create(path, { memory_limit: memoryLimit });
    const writer = await instance.connect();
    // The default 16 MB WAL checkpoints every ~20k events and the rate then falls as the table grows (measured
    // 47k → 27k rows/s over 100k rows); 256 MB keeps it steady (~63k rows/s) at the price of a longer WAL replay
    // after a crash. Close checkpoints.
    await writer.run("SET checkpoint_threshold = '256MB'");
    await writer.run(CREATE_EVENTS);
    // No secondary index: DuckDB's ART indexes do not serve range scans (zone maps do) and cost every insert.
    const reader = await instance.connect();
    return new DuckDbStore(instance, writer, reader, mkdtempSync(join(tmpdir(), "dlt-collector-")));
  }

  async insert(rows: readonly EventRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    const file = join(this.spill, `group-${this.seq++}.ndjson`);
    // The first of duplicates within one group wins (replays of stored ids are dropped by the primary key).
    const seen = new Set<string>();
    let text = "";
    for (const r of rows) {
      if (seen.has(r.message_id)) continue;
      seen.add(r.message_id);
      text += JSON.stringify(r) + "\n";
    }
    writeFileSync(file, text, { mode: 0o600 });
    try {
      // One statement is one transaction.
      const r = await this.writer.run(
        `INSERT OR IGNORE INTO events SELECT ${SELECT} FROM read_ndjson('${file.replaceAll("'", "''")}', columns = ${READ_COLUMNS})`,
      );
      return Number(r.rowsChanged);
    } finally {
      rmSync(file, { force: true });
    }
  }

  async query(sql: string, params: readonly (string | number | boolean | null)[] = []): Promise<Record<string, Cell>[]> {
    const r = await this.reader.runAndReadAll(sql, params as DuckDBValue[]);
    return r.getRowObjectsJson() as Record<string, Cell>[];
  }

  async close(): Promise<void> {
    try {
      await this.writer.run("CHECKPOINT");
    } catch {
      /* the WAL is replayed at the next open */
    }
    this.writer.closeSync();
    this.reader.closeSync();
    this.instance.closeSync();
    rmSync(this.spill, { recursive: true, force: true });
  }
}
