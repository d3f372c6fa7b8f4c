/**
 * The embedded DuckDB store: zero set-up, one file. A group of stamped messages is written as NDJSON (one message a
 * line, exactly as stored) to a scratch file beside the database and inserted with one `INSERT … SELECT` over
 * `read_ndjson_objects`, in one transaction: the typed columns are extracted by DuckDB's JSON functions, so the
 * JavaScript side serializes each message once and builds no rows (measured in isolation: 57k rows/s, against 37k
 * when rows were built in JavaScript and the message escaped into one of their fields). The primary key drops
 * replays, and the WAL makes the commit durable before the requests are answered.
 *
 * The scratch file holds raw events, so it lives beside the database (same owner, same disk, mode 0600), not in a
 * shared temp dir; one left by a kill -9 is removed at the next open, once DuckDB's lock on the database proves that
 * no other collector is using it.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBConnection, DuckDBInstance, type DuckDBPreparedStatement, type DuckDBValue } from "@duckdb/node-api";
import type { Cell, DashboardApi, Filter, Rows } from "../dashboard/apis.js";
import type { StoredMessage } from "../stamp.js";
import { COLUMNS, createRefused, firstOf, isNullable, literal, typeIn, upsertRefused, valueIn, type Column, type CountKinds, type StoreKinds } from "./columns.js";
import { DUCKDB_DASHBOARD } from "./duckdb-dashboard.js";
import { randomPad, retentionCutoff, type EventStore, type Housekeeping, type RefusedCount } from "./types.js";

/**
 * The JSON paths the columns read, all extracted with one parse (`json_extract_string` of a list of paths, as `x`):
 * `textAt(path)` is the text at a path (strings unquoted, other values as JSON text, NULL when absent), `x[i]`, and
 * adds the path to the list the first time.
 */
const PATHS: string[] = [];
function textAt(path: string): string {
  if (!PATHS.includes(path)) PATHS.push(path);
  return `x[${PATHS.indexOf(path) + 1}]`;
}
const capped = (e: string, max: number): string => `left(${e}, ${max})`;
const time = (e: string): string => `TRY_CAST(${e} AS TIMESTAMP)`;

/** The stored columns (`columns.ts`) as DuckDB types and extracts them; `TRY_CAST` is NULL for what it cannot cast. */
export const DUCKDB_KINDS: StoreKinds = {
  text: { type: "VARCHAR", value: (c) => textAt(c.path) },
  cappedText: { type: "VARCHAR", value: (c) => capped(firstOf(c.paths.map(textAt)), c.max) },
  textOrMarker: {
    type: "VARCHAR",
    value: (c) => `coalesce(${capped(textAt(c.path), c.max)}, CASE WHEN ${textAt(c.marker.path)} IS NOT NULL THEN ${literal(c.marker.text)} END)`,
  },
  timestamp: { type: "TIMESTAMP", value: (c) => firstOf([...c.paths.map((p) => time(textAt(p))), ...(isNullable(c) ? [] : ["now()::TIMESTAMP"])]) },
  boolean: { type: "BOOLEAN", value: (c) => `TRY_CAST(${textAt(c.path)} AS BOOLEAN)` },
  cores: {
    type: "INTEGER",
    value: (c) => {
      const n = `TRY_CAST(${textAt(c.path)} AS DOUBLE)`;
      return `CASE WHEN ${n} >= 1 AND ${n} = trunc(${n}) THEN TRY_CAST(${n} AS INTEGER) END`;
    },
  },
  double: { type: "DOUBLE", value: (c) => `TRY_CAST(${textAt(c.path)} AS DOUBLE)` },
  list: { type: "VARCHAR", value: (c) => `left(array_to_string(TRY_CAST(${textAt(c.path)} AS VARCHAR[]), ','), ${c.max})` },
  message: { type: "VARCHAR", value: () => "json" },
};

/** The refused counts' columns (`REFUSED_COLUMNS`) as DuckDB types them. */
export const DUCKDB_COUNT_KINDS: CountKinds = { day: "BIGINT", name: "VARCHAR", count: "BIGINT" };
const UPSERT_REFUSED = upsertRefused("VALUES (?, ?, ?, ?)");

/** A column as `CREATE TABLE` and `ADD COLUMN` declare it. */
const definition = (c: Column): string => `"${c.name}" ${typeIn(DUCKDB_KINDS, c)}${c.key ? " PRIMARY KEY" : isNullable(c) ? "" : " NOT NULL"}`;

/** `CREATE TABLE` of the events table (names are what the dashboard queries). */
export const CREATE_EVENTS = `CREATE TABLE IF NOT EXISTS events (${COLUMNS.map(definition).join(", ")})`;

const SELECT = COLUMNS.map((c) => valueIn(DUCKDB_KINDS, c)).join(", ");
// Columns named: a database made by an earlier version gets the new columns appended at open (ADD COLUMN).
const INTO = `events (${COLUMNS.map((c) => `"${c.name}"`).join(", ")})`;
// PATHS is whole once SELECT is built (at load).
const FROM = (file: string): string =>
  `(SELECT json, json_extract_string(json, [${PATHS.map((p) => `'$.${p}'`).join(", ")}]) AS x FROM read_ndjson_objects('${file.replaceAll("'", "''")}'))`;

/** The probe's message, padded to `padBytes` (random hex): inserted through the real insert path, then rolled back. */
const probeLine = (padBytes: number): string =>
  JSON.stringify({
    type: "track", messageId: "dlt-collector-probe", event: "probe", anonymousId: "probe", timestamp: "2000-01-01T00:00:00.000Z",
    receivedAt: "2000-01-01T00:00:00.000Z", ...(padBytes > 0 ? { properties: { pad: randomPad(padBytes) } } : {}),
  }) + "\n";
/** Where the probe's committed write goes: one row, replaced at each probe. */
const PROBE_TABLE = "_dlt_collector_probe";

/** DuckDB's "the database has been invalidated": only a new instance can use the file again. */
const isFatal = (e: unknown): boolean => /FATAL Error|database has been invalidated/i.test(String((e as Error)?.message ?? e));

/** How to open the store. */
export interface DuckDbOptions {
  /** Caps DuckDB's buffer pool (default 256MB). */
  readonly memoryLimit?: string;
  /** WAL size that triggers a checkpoint (default 256MB; see `open`). */
  readonly checkpointThreshold?: string;
}

/** The scratch file of a database: beside it, so raw events never sit in a shared temp dir. */
export const scratchPathOf = (dbPath: string): string => `${dbPath}.scratch.ndjson`;

interface Handles {
  readonly instance: DuckDBInstance;
  readonly writer: DuckDBConnection;
  readonly reader: DuckDBConnection;
}

async function connect(path: string, options: DuckDbOptions): Promise<Handles> {
  const instance = await DuckDBInstance.create(path, { memory_limit: options.memoryLimit ?? "256MB" });
  try {
    const writer = await instance.connect();
    // The default 16 MB WAL checkpoints every ~20k events and the rate then falls as the table grows (measured
    // 47k → 27k rows/s over 100k rows); 256 MB keeps it steady (~63k rows/s) at the price of a longer WAL replay
    // after a crash. Close checkpoints.
    await writer.run(`SET checkpoint_threshold = '${options.checkpointThreshold ?? "256MB"}'`);
    await writer.run(CREATE_EVENTS);
    for (const column of COLUMNS) {
      // A file made by an earlier version lacks the newer columns (none of them is a key or NOT NULL).
      if (isNullable(column)) await writer.run(`ALTER TABLE events ADD COLUMN IF NOT EXISTS ${definition(column)}`);
    }
    await writer.run(`CREATE TABLE IF NOT EXISTS ${PROBE_TABLE} (id INTEGER PRIMARY KEY, checked_at TIMESTAMP)`);
    await writer.run(createRefused(DUCKDB_COUNT_KINDS));
    // No secondary index: DuckDB's ART indexes do not serve range scans (zone maps do) and cost every insert.
    const reader = await instance.connect();
    // A top-N query reads its other columns only for the rows it keeps ("late materialization") up to this many rows
    // (DuckDB's default: 50). The dashboard's live view pages up to 500 stored messages: at 51 rows and more, DuckDB
    // read every message of the table (500 ms on 1M events, measured) instead of 25 ms.
    await reader.run("SET late_materialization_max_rows = 1000");
    return { instance, writer, reader };
  } catch (e) {
    instance.closeSync();
    throw e;
  }
}

/** A value of DuckDB's JS conversion as the dashboard answers it: BIGINTs and DECIMALs as numbers. */
function jsCell(v: unknown): Cell {
  if (typeof v === "bigint") return Number(v);
  if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  return Number(v);
}

export class DuckDbStore implements EventStore {
  private readonly prepared: Partial<Record<"plain" | "orIgnore", Promise<DuckDBPreparedStatement>>> = {};
  private turn: Promise<unknown> = Promise.resolve();
  /** Set by a fatal error: the next write opens a new instance on the file first. */
  private invalidated = false;

  private constructor(
    private handles: Handles,
    readonly location: string,
    private readonly options: DuckDbOptions,
    /** The one scratch file: writes take turns (see `insert`), so its statements are planned once. */
    private readonly scratch: string,
    /** A private temp dir holding the scratch file of an in-memory database, removed at close. */
    private readonly tempDir: string | undefined,
  ) {}

  /** Opens (or creates) the database file, and removes a scratch file a killed collector left beside it. */
  static async open(path: string, options: DuckDbOptions = {}): Promise<DuckDbStore> {
    const handles = await connect(path, options);
    // An in-memory database has no "beside": its scratch file goes to a private temp dir.
    const inMemory = path === "" || path === ":memory:" || path.startsWith(":memory:");
    const tempDir = inMemory ? mkdtempSync(join(tmpdir(), "dlt-collector-")) : undefined;
    const scratch = tempDir ? join(tempDir, "scratch.ndjson") : scratchPathOf(path);
    // DuckDB holds the file's lock now, so a scratch file here is a dead collector's.
    rmSync(scratch, { force: true });
    return new DuckDbStore(handles, inMemory ? "an in-memory DuckDB database" : path, options, scratch, tempDir);
  }

  /** Inserts one group at a time: they share the scratch file. */
  insert(messages: readonly StoredMessage[], refused: readonly RefusedCount[] = []): Promise<number> {
    return this.inTurn(() => (refused.length === 0 ? this.insertNow(messages) : this.insertWithRefused(messages, refused)));
  }

  /**
   * A group and the counts of what the plan refused, in one transaction. A failed statement aborts a transaction, so
   * the group goes in with `INSERT OR IGNORE` at once (the plain insert's retry on a replay needs autocommit).
   */
  private async insertWithRefused(messages: readonly StoredMessage[], refused: readonly RefusedCount[]): Promise<number> {
    const { writer } = this.handles;
    if (messages.length > 0) this.writeScratch(messages);
    try {
      await writer.run("BEGIN TRANSACTION");
      try {
        const n = messages.length > 0 ? await this.run("orIgnore") : 0;
        for (const r of refused) await writer.run(UPSERT_REFUSED, [r.day, r.reason, r.event, r.n]);
        await writer.run("COMMIT");
        return n;
      } catch (e) {
        await writer.run("ROLLBACK").catch(() => undefined);
        throw e;
      }
    } finally {
      rmSync(this.scratch, { force: true });
    }
  }

  /** Writes a group to the scratch file, the first of duplicates within it only (replays of stored ids are dropped by the primary key). */
  private writeScratch(messages: readonly StoredMessage[]): void {
    const seen = new Set<string>();
    let text = "";
    for (const m of messages) {
      if (seen.has(m.messageId)) continue;
      seen.add(m.messageId);
      text += m.json + "\n";
    }
    writeFileSync(this.scratch, text, { mode: 0o600 });
  }

  probe(padBytes = 0): Promise<void> {
    return this.inTurn(() => this.probeNow(padBytes));
  }

  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const run = this.turn.then(async () => {
      if (this.invalidated) await this.reopen();
      try {
        return await work();
      } catch (e) {
        if (isFatal(e)) this.invalidated = true;
        throw e;
      }
    });
    this.turn = run.catch(() => undefined);
    return run;
  }

  /**
   * After a fatal error (e.g. a checkpoint on a full disk) DuckDB refuses every statement until the database is
   * opened again; the WAL holds every acknowledged commit, so a new instance loses nothing.
   */
  private async reopen(): Promise<void> {
    await this.closeHandles();
    this.handles = await connect(this.location, this.options);
    this.invalidated = false;
  }

  private async insertNow(messages: readonly StoredMessage[]): Promise<number> {
    if (messages.length === 0) return 0;
    this.writeScratch(messages);
    try {
      // Most groups hold no replay: a plain INSERT costs ~13 ms for 800 events where INSERT OR IGNORE costs ~20
      // (measured), so the conflict handling runs only when the primary key refuses the group. A refused statement
      // changes nothing: one statement is one transaction.
      try {
        return await this.run("plain");
      } catch (e) {
        if (!/duplicate key/i.test(String((e as Error).message))) throw e;
        return await this.run("orIgnore");
      }
    } finally {
      rmSync(this.scratch, { force: true });
    }
  }

  private async probeNow(padBytes: number): Promise<void> {
    // A commit of N bytes needs them twice on disk (the scratch file, then the WAL, which holds the message and its
    // typed columns): a rolled-back insert writes no WAL, so the scratch file is made large enough for both.
    writeFileSync(this.scratch, probeLine(padBytes * 3), { mode: 0o600 });
    const { writer } = this.handles;
    try {
      // The insert path itself (scratch file, JSON extraction, the table's last blocks), then rolled back.
      await writer.run("BEGIN TRANSACTION");
      try {
        await this.run("plain");
      } finally {
        await writer.run("ROLLBACK");
      }
      // A committed write: a file that opened but whose log cannot be written fails here.
      await writer.run(`INSERT OR REPLACE INTO ${PROBE_TABLE} VALUES (1, now()::TIMESTAMP)`);
    } finally {
      rmSync(this.scratch, { force: true });
    }
  }

  /**
   * Runs an insert of the scratch file. Planning costs ~2 ms of a commit (measured): each statement is prepared
   * once, when the file first exists, and reads the file afresh at each run.
   */
  private async run(kind: "plain" | "orIgnore"): Promise<number> {
    this.prepared[kind] ??= this.handles.writer.prepare(
      `INSERT ${kind === "orIgnore" ? "OR IGNORE " : ""}INTO ${INTO} SELECT ${SELECT} FROM ${FROM(this.scratch)}`,
    );
    const statement = await this.prepared[kind].catch((e: unknown) => {
      this.prepared[kind] = undefined;
      throw e;
    });
    return Number((await statement.run()).rowsChanged);
  }

  async dashboard(api: DashboardApi, filter: Filter): Promise<Rows> {
    const { sql, params } = DUCKDB_DASHBOARD[api](filter);
    const r = await this.handles.reader.runAndReadAll(sql, params);
    return r.getRowObjectsJS().map((row) => {
      const out: Record<string, Cell> = {};
      for (const [k, v] of Object.entries(row)) out[k] = jsCell(v);
      return out;
    });
  }

  /** Deletes whole UTC days past the retention, as PostgreSQL drops their partitions (see `retentionCutoff`). */
  housekeep(retainDays: number | undefined, now = Date.now()): Promise<Housekeeping> {
    if (retainDays === undefined) return Promise.resolve({ removed: 0, cutoff: undefined });
    const cutoff = retentionCutoff(retainDays, now);
    return this.inTurn(async () => {
      const r = await this.handles.writer.run("DELETE FROM events WHERE received_at < make_timestamp(CAST(? AS BIGINT) * 1000)", [cutoff]);
      await this.handles.writer.run("DELETE FROM refused WHERE day < ?", [cutoff]);
      return { removed: Number(r.rowsChanged), cutoff };
    });
  }

  async query(sql: string, params: readonly (string | number | boolean | null)[] = []): Promise<Record<string, Cell>[]> {
    const r = await this.handles.reader.runAndReadAll(sql, params as DuckDBValue[]);
    return r.getRowObjectsJson() as Record<string, Cell>[];
  }

  private async closeHandles(): Promise<void> {
    for (const kind of ["plain", "orIgnore"] as const) {
      (await this.prepared[kind]?.catch(() => undefined))?.destroySync();
      this.prepared[kind] = undefined;
    }
    const { writer, reader, instance } = this.handles;
    writer.closeSync();
    reader.closeSync();
    instance.closeSync();
  }

  async close(): Promise<void> {
    await this.turn;
    try {
      await this.handles.writer.run("CHECKPOINT");
    } catch {
      /* the WAL is replayed at the next open */
    }
    await this.closeHandles();
    rmSync(this.scratch, { force: true });
    if (this.tempDir) rmSync(this.tempDir, { recursive: true, force: true });
  }
}
