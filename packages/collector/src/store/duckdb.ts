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
import { type DuckDBConnection, DuckDBInstance, type DuckDBPreparedStatement, type DuckDBValue } from "@duckdb/node-api";
import type { Cell, DashboardApi, Filter, Rows } from "../dashboard/apis.js";
import type { StoredMessage } from "../stamp.js";
import {
  COLUMNS,
  createRefused,
  firstOf,
  isNullable,
  literal,
  typeIn,
  upsertRefused,
  valueIn,
  type Column,
  type CountKinds,
  type StoreKinds,
} from "./columns.js";
import { DUCKDB_DASHBOARD } from "./duckdb-dashboard.js";
import { addDimensions, createRollup, insertRollups, merged, namesOf, ROLLUP_TABLES, type RollupDialect } from "./rollup.js";
import { DEFAULT_ROLL_UP, RollUpTrigger, type RollUpPolicy } from "./rollup-pending.js";
import { rollupSql, type RollupQuery, type RollupQueryDialect, type RollupSql } from "./rollup-dashboard.js";
import {
  randomPad,
  retentionCutoff,
  type DashboardSource,
  type EventStore,
  type Housekeeping,
  type OpenProgress,
  type RefusedCount,
} from "./types.js";

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
/** The aggregates on DuckDB (`rollup.ts`). */
export const DUCKDB_ROLLUP: RollupDialect = {
  kinds: DUCKDB_KINDS,
  types: { time: "TIMESTAMP", count: "BIGINT", bin: "INTEGER", boolean: "BOOLEAN", double: "DOUBLE" },
  trunc: (grain, e) => `date_trunc('${grain}', ${e})`,
  finite: (e) => `isfinite(${e})`,
};

/** The dashboard from the aggregates, in DuckDB's dialect (the pending tail is the store's: see `DuckDbStore`). */
const DUCKDB_QUERY_DIALECT: Omit<RollupQueryDialect, "pending"> = {
  ...DUCKDB_ROLLUP,
  placeholder: () => "?",
  time: (p) => `epoch_ms(CAST(${p} AS BIGINT))`,
  epochMs: (e) => `epoch_ms(${e})`,
  collate: "",
  nullsLast: "",
  unnestList: (e) => `unnest(string_split(${e}, ','))`,
  ratio: (a, b) => `round(CAST(${a} AS DOUBLE) / nullif(${b}, 0), 4)`,
  minMs: -8.64e15,
};

/** A column as `CREATE TABLE` and `ADD COLUMN` declare it. */
const definition = (c: Column): string => `"${c.name}" ${typeIn(DUCKDB_KINDS, c)}${c.key ? " PRIMARY KEY" : isNullable(c) ? "" : " NOT NULL"}`;

/** `CREATE TABLE` of the events table (names are what the dashboard queries). */
export const CREATE_EVENTS = `CREATE TABLE IF NOT EXISTS events (${COLUMNS.map(definition).join(", ")})`;

const SELECT = COLUMNS.map((c) => valueIn(DUCKDB_KINDS, c)).join(", ");
// Columns named: a database made by an earlier version gets the new columns appended at open (ADD COLUMN).
const NAMES = COLUMNS.map((c) => `"${c.name}"`).join(", ");
const INTO = `events (${NAMES})`;
/**
 * The events not yet aggregated (`rollup-pending.ts`), DuckDB's way: every insert gives each new event the next value
 * of a sequence (`rollup_seq`, a column of `events` beside the stored ones, its default), in the insert's own
 * statement, and the roll-up adds the events past a mark (`_dlt_rollup_mark`) to the aggregates and moves the mark,
 * in one transaction. A mark is exact here, where PostgreSQL needs a queue: one connection of one process writes the
 * file, its commits one at a time, so the sequence's values commit in order. A replay that the primary key skips gets
 * no row, so no value; older rows (NULL) were aggregated when they were stored, or by the backfill.
 */
const SEQ = "rollup_seq";
const MARK = "_dlt_rollup_mark";
/**
 * The events past the mark as a relation, read with the mark in one statement (so one snapshot); `hint`, a mark known
 * to be no later, lets DuckDB's zone maps skip the older row groups.
 */
const pendingEvents = (hint: number): string => `(SELECT * FROM events WHERE ${SEQ} > ${hint} AND ${SEQ} > (SELECT seq FROM ${MARK}))`;
/** How far the aggregates of a database made before them have been built from its events. */
const ROLLUP_STATE = "_dlt_collector_rollup";
/** A roll-up in this many merges the aggregates' rows of the hours around now (see `compact`): about a minute of traffic. */
const COMPACT_EVERY = 50;
// PATHS is whole once SELECT is built (at load).
const FROM = (file: string): string =>
  `(SELECT json, json_extract_string(json, [${PATHS.map((p) => `'$.${p}'`).join(", ")}]) AS x FROM read_ndjson_objects('${file.replaceAll("'", "''")}'))`;

/** The probe's message, padded to `padBytes` (random hex): inserted through the real insert path, then rolled back. */
const probeLine = (padBytes: number): string =>
  JSON.stringify({
    type: "track",
    messageId: "dlt-collector-probe",
    event: "probe",
    anonymousId: "probe",
    timestamp: "2000-01-01T00:00:00.000Z",
    receivedAt: "2000-01-01T00:00:00.000Z",
    ...(padBytes > 0 ? { properties: { pad: randomPad(padBytes) } } : {}),
  }) + "\n";
/** Where the probe's committed write goes: one row, replaced at each probe. */
const PROBE_TABLE = "_dlt_collector_probe";

const DAY_MS = 86_400_000;

/** DuckDB's "the database has been invalidated": only a new instance can use the file again. */
const isFatal = (e: unknown): boolean => /FATAL Error|database has been invalidated/i.test(String((e as Error)?.message ?? e));

/** How to open the store. */
export interface DuckDbOptions {
  /** Caps DuckDB's buffer pool (default 256MB). */
  readonly memoryLimit?: string;
  /** WAL size that triggers a checkpoint (default 256MB; see `open`). */
  readonly checkpointThreshold?: string;
  /** When the pending events are added to the aggregates (default: 20,000 of them, or 1 s after the first). */
  readonly rollUp?: RollUpPolicy;
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
    // The roll-up's sequence (see SEQ); a file made before it gets the column (NULL for the rows it holds). Checkpointed
    // at once: DuckDB 1.5 fails to replay a WAL that holds this default (an internal error on the next open).
    const seq = await writer.runAndReadAll(
      `SELECT column_default FROM information_schema.columns WHERE table_name = 'events' AND column_name = '${SEQ}'`,
    );
    if (seq.getRows()[0]?.[0] == null) {
      await writer.run(`CREATE SEQUENCE IF NOT EXISTS ${SEQ}`);
      await writer.run(`ALTER TABLE events ADD COLUMN IF NOT EXISTS ${SEQ} BIGINT`);
      await writer.run(`ALTER TABLE events ALTER COLUMN ${SEQ} SET DEFAULT nextval('${SEQ}')`);
      await writer.run("CHECKPOINT");
    }
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

/** The statements of an insert, each prepared once (planning costs ~2 ms of a commit, measured). */
const STATEMENTS = {
  plain: (scratch: string) => `INSERT INTO ${INTO} SELECT ${SELECT} FROM ${FROM(scratch)}`,
  orIgnore: (scratch: string) => `INSERT OR IGNORE INTO ${INTO} SELECT ${SELECT} FROM ${FROM(scratch)}`,
} as const;
type Statement = keyof typeof STATEMENTS;

export class DuckDbStore implements EventStore {
  private readonly prepared: Partial<Record<Statement, Promise<DuckDBPreparedStatement>>> = {};
  private turn: Promise<unknown> = Promise.resolve();
  /** Set by a fatal error: the next write opens a new instance on the file first. */
  private invalidated = false;
  /** Roll-ups since the aggregates were last compacted. */
  private rollUps = 0;
  /** Raw events are kept from here (epoch ms; `--raw-days`), or all of them. */
  private rawFrom: number | undefined;
  /** When the pending events are rolled up: a turn of the writer's, between commits. */
  private readonly trigger: RollUpTrigger;
  /** The roll-up's mark as this process last committed it (no later than the file's: see `pendingEvents`). */
  private mark = 0;
  /** The dashboard from the aggregates, the events past the mark added. */
  private readonly rollupSql: RollupSql;

  private constructor(
    private handles: Handles,
    readonly location: string,
    private readonly options: DuckDbOptions,
    /** The one scratch file: writes take turns (see `insert`), so its statements are planned once. */
    private readonly scratch: string,
    /** A private temp dir holding the scratch file of an in-memory database, removed at close. */
    private readonly tempDir: string | undefined,
  ) {
    this.trigger = new RollUpTrigger(() => this.inTurn(() => this.rollUpNow()), options.rollUp ?? DEFAULT_ROLL_UP);
    this.rollupSql = rollupSql({ ...DUCKDB_QUERY_DIALECT, pending: () => pendingEvents(this.mark) });
  }

  /**
   * Opens (or creates) the database file, removes a scratch file a killed collector left beside it, and builds the
   * aggregates of a database made before them (`progress` is told how far, chunk by chunk).
   */
  static async open(path: string, options: DuckDbOptions & { readonly progress?: OpenProgress } = {}): Promise<DuckDbStore> {
    const handles = await connect(path, options);
    // An in-memory database has no "beside": its scratch file goes to a private temp dir.
    const inMemory = path === "" || path === ":memory:" || path.startsWith(":memory:");
    const tempDir = inMemory ? mkdtempSync(join(tmpdir(), "dlt-collector-")) : undefined;
    const scratch = tempDir ? join(tempDir, "scratch.ndjson") : scratchPathOf(path);
    // DuckDB holds the file's lock now, so a scratch file here is a dead collector's.
    rmSync(scratch, { force: true });
    const store = new DuckDbStore(handles, inMemory ? "an in-memory DuckDB database" : path, options, scratch, tempDir);
    try {
      await store.backfill(options.progress);
      // What a killed collector left pending.
      await store.rollUp();
    } catch (e) {
      await store.close().catch(() => undefined);
      throw e;
    }
    return store;
  }

  /**
   * The aggregates of the events stored before they existed: `_dlt_collector_rollup` records when they were created
   * (every event received since is marked pending by its insert, then rolled up) and how far the older events have
   * been added, one UTC day of `received_at` per transaction, so memory is bounded and a killed backfill resumes where
   * it stopped.
   */
  private async backfill(progress: OpenProgress | undefined): Promise<void> {
    const { writer } = this.handles;
    await writer.run("BEGIN TRANSACTION");
    try {
      for (const ddl of createRollup(DUCKDB_ROLLUP)) await writer.run(ddl);
      // Aggregates an earlier version made lack the newer dimensions (`first_run_of_version`, issue 26).
      for (const ddl of addDimensions(DUCKDB_ROLLUP)) await writer.run(ddl);
      await writer.run(`CREATE TABLE IF NOT EXISTS ${MARK} (seq BIGINT NOT NULL)`);
      // Made with the state above: the events stored until now are the backfill's (an older file's have no value).
      await writer.run(`INSERT INTO ${MARK} SELECT coalesce((SELECT max(${SEQ}) FROM events), 0) WHERE NOT EXISTS (SELECT 1 FROM ${MARK})`);
      await writer.run(`CREATE TABLE IF NOT EXISTS ${ROLLUP_STATE} (created_at TIMESTAMP NOT NULL, done_until TIMESTAMP NOT NULL)`);
      await writer.run(`INSERT INTO ${ROLLUP_STATE} SELECT now()::TIMESTAMP, coalesce((SELECT min(received_at) FROM events), now()::TIMESTAMP)
        WHERE NOT EXISTS (SELECT 1 FROM ${ROLLUP_STATE})`);
      await writer.run("COMMIT");
    } catch (e) {
      await writer.run("ROLLBACK").catch(() => undefined);
      throw e;
    }
    const state = async (): Promise<[number, number]> => {
      const r = (await writer.runAndReadAll(`SELECT epoch_ms(created_at), epoch_ms(done_until) FROM ${ROLLUP_STATE}`)).getRows()[0]!;
      return [Number(r[0]), Number(r[1])];
    };
    const [createdAt, start0] = await state();
    let doneUntil = start0;
    if (doneUntil >= createdAt) return;
    const ms = (v: number): string => `make_timestamp(CAST(${v} AS BIGINT) * 1000)`;
    const count = async (from: number, to: number): Promise<number> =>
      Number(
        (await writer.runAndReadAll(`SELECT count(*) FROM events WHERE received_at >= ${ms(from)} AND received_at < ${ms(to)}`)).getRows()[0]![0],
      );
    const total = await count(doneUntil, createdAt);
    let done = 0;
    while (doneUntil < createdAt) {
      const next = (
        await writer.runAndReadAll(
          `SELECT epoch_ms(min(received_at)) FROM events WHERE received_at >= ${ms(doneUntil)} AND received_at < ${ms(createdAt)}`,
        )
      ).getRows()[0]![0];
      const start = next === null ? createdAt : Number(next);
      const end = Math.min(createdAt, Math.floor(start / DAY_MS) * DAY_MS + DAY_MS);
      const chunk = `(SELECT * FROM events WHERE received_at >= ${ms(doneUntil)} AND received_at < ${ms(end)}) AS e`;
      await writer.run("BEGIN TRANSACTION");
      try {
        for (const sql of insertRollups(DUCKDB_ROLLUP, chunk)) await writer.run(sql);
        await writer.run(`UPDATE ${ROLLUP_STATE} SET done_until = ${ms(end)}`);
        await writer.run("COMMIT");
      } catch (e) {
        await writer.run("ROLLBACK").catch(() => undefined);
        throw e;
      }
      if (next !== null) done += await count(start, end);
      doneUntil = end;
      progress?.(done, total);
    }
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
      // Replays skipped at once (a failed statement would abort the transaction the counts share).
      const n = await this.transaction(async () => {
        const n = messages.length > 0 ? await this.run("orIgnore") : 0;
        for (const r of refused) await writer.run(UPSERT_REFUSED, [r.day, r.reason, r.event, r.n]);
        return n;
      });
      this.trigger.added(n);
      return n;
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
      // (measured), so the conflict handling runs only when the primary key refuses the group. The events and their
      // sequence values (what marks them pending) commit together, or neither does: one statement is one transaction.
      let n: number;
      try {
        n = await this.run("plain");
      } catch (e) {
        if (!/duplicate key/i.test(String((e as Error).message))) throw e;
        n = await this.run("orIgnore");
      }
      // The roll-up, when due, is the writer's next turn: this group's requests are answered first.
      this.trigger.added(n);
      return n;
    } finally {
      rmSync(this.scratch, { force: true });
    }
  }

  private async transaction<T>(work: () => Promise<T>): Promise<T> {
    const { writer } = this.handles;
    await writer.run("BEGIN TRANSACTION");
    try {
      const result = await work();
      await writer.run("COMMIT");
      return result;
    } catch (e) {
      await writer.run("ROLLBACK").catch(() => undefined);
      throw e;
    }
  }

  private async probeNow(padBytes: number): Promise<void> {
    // A commit of N bytes needs them twice on disk (the scratch file, then the WAL, which holds the message and its
    // typed columns): a rolled-back insert writes no WAL, so the scratch file is made large enough for both.
    writeFileSync(this.scratch, probeLine(padBytes * 3), { mode: 0o600 });
    const { writer } = this.handles;
    try {
      // The insert path itself (scratch file, JSON extraction, the table's last blocks, the sequence), then rolled back.
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

  /** Runs one of the insert's statements, prepared once, when the scratch file first exists; it reads the file afresh at each run. */
  private async run(kind: Statement): Promise<number> {
    this.prepared[kind] ??= this.handles.writer.prepare(STATEMENTS[kind](this.scratch));
    const statement = await this.prepared[kind].catch((e: unknown) => {
      this.prepared[kind] = undefined;
      throw e;
    });
    return Number((await statement.run()).rowsChanged);
  }

  /**
   * Adds the pending events to the aggregates now (`rollup-pending.ts`); the collector does it on its own when they
   * are due, before housekeeping and at close.
   */
  async rollUp(): Promise<void> {
    await this.inTurn(() => this.rollUpNow());
  }

  /** The events past the mark into the aggregates and the mark moved past them, in one transaction. */
  private async rollUpNow(): Promise<boolean> {
    const { writer } = this.handles;
    const mark = Number((await writer.runAndReadAll(`SELECT seq FROM ${MARK}`)).getRows()[0]![0]);
    const last = (await writer.runAndReadAll(`SELECT max(${SEQ}) FROM events WHERE ${SEQ} > ${mark}`)).getRows()[0]![0];
    if (last !== null) {
      const to = Number(last);
      const source = `(SELECT * FROM events WHERE ${SEQ} > ${mark} AND ${SEQ} <= ${to}) AS e`;
      await this.transaction(async () => {
        for (const sql of insertRollups(DUCKDB_ROLLUP, source)) await writer.run(sql);
        await writer.run(`UPDATE ${MARK} SET seq = ${to}`);
      });
      this.mark = to;
      // Rows are appended per roll-up now, not per commit: merged every so many of them, off the commit path too.
      if (++this.rollUps >= COMPACT_EVERY) {
        this.rollUps = 0;
        // The buckets live traffic lands in (today's day, the last hours); older ones are merged by the daily housekeeping.
        await this.compactNow(Math.floor((Date.now() - 6 * 3_600_000) / DAY_MS) * DAY_MS, Date.now() + 3_600_000).catch(() => undefined);
      }
    } else this.mark = mark;
    return true;
  }

  /**
   * Merges the aggregates' rows of the hours in `[from, to)` (epoch ms) into one per group: each roll-up appends its
   * own rows, so an hour of live traffic holds a row per group per roll-up until merged.
   */
  compact(from: number, to: number): Promise<void> {
    return this.inTurn(() => this.compactNow(from, to));
  }

  private async compactNow(from: number, to: number): Promise<void> {
    const range = `bucket_start >= make_timestamp(CAST(${from} AS BIGINT) * 1000) AND bucket_start < make_timestamp(CAST(${to} AS BIGINT) * 1000)`;
    await this.transaction(async () => {
      const { writer } = this.handles;
      for (const table of ROLLUP_TABLES) {
        await writer.run(
          `CREATE OR REPLACE TEMP TABLE _dlt_merged AS ${merged(DUCKDB_ROLLUP, table, `(SELECT * FROM ${table} WHERE ${range}) AS r`)}`,
        );
        await writer.run(`DELETE FROM ${table} WHERE ${range}`);
        // Columns named: a table an earlier version made has its newer dimensions last (see `addDimensions`).
        await writer.run(`INSERT INTO ${table} (${namesOf(DUCKDB_ROLLUP, table)}) SELECT * FROM _dlt_merged`);
        await writer.run("DROP TABLE _dlt_merged");
      }
    });
  }

  async dashboard(api: DashboardApi, filter: Filter, source: DashboardSource = "aggregates"): Promise<Rows> {
    const q: RollupQuery =
      api === "events" || api === "refused" || source === "events" ? DUCKDB_DASHBOARD[api](filter) : this.rollupSql[api](filter, this.rawFrom);
    const r = await this.handles.reader.runAndReadAll(q.sql, q.params);
    const rows = r.getRowObjectsJS().map((row) => {
      const out: Record<string, Cell> = {};
      for (const [k, v] of Object.entries(row)) out[k] = jsCell(v);
      return out;
    });
    return q.finish ? q.finish(rows) : rows;
  }

  /**
   * Deletes whole UTC days past the retention, as PostgreSQL drops their partitions (see `retentionCutoff`): the
   * events and the aggregates' hours before the cutoff; with `rawDays`, the events received before that (shorter)
   * cutoff too, the aggregates staying. Then merges the aggregates' rows of the last three days.
   */
  housekeep(retainDays: number | undefined, now = Date.now(), rawDays?: number): Promise<Housekeeping> {
    const cutoff = retainDays === undefined ? undefined : retentionCutoff(retainDays, now);
    const rawCutoff = rawDays === undefined ? undefined : Math.max(retentionCutoff(rawDays, now), cutoff ?? -Infinity);
    return this.inTurn(async () => {
      const { writer } = this.handles;
      // The aggregates whole first: the hours the retention cuts include what was pending.
      await this.rollUpNow();
      const at = (ms: number): string => `make_timestamp(CAST(${ms} AS BIGINT) * 1000)`;
      let removed = 0;
      if (cutoff !== undefined) {
        await this.transaction(async () => {
          removed += Number((await writer.run(`DELETE FROM events WHERE received_at < ${at(cutoff)}`)).rowsChanged);
          for (const table of ROLLUP_TABLES) await writer.run(`DELETE FROM ${table} WHERE bucket_start < ${at(cutoff)}`);
          await writer.run("DELETE FROM refused WHERE day < ?", [cutoff]);
        });
      }
      let rawRemoved = 0;
      if (rawCutoff !== undefined) rawRemoved = Number((await writer.run(`DELETE FROM events WHERE received_at < ${at(rawCutoff)}`)).rowsChanged);
      // Edges of a range before this come from the aggregates: a day's margin for events whose `timestamp` (the
      // client's, corrected) is later than the day they were received in.
      this.rawFrom = rawCutoff === undefined ? undefined : rawCutoff + DAY_MS;
      // The last days' buckets, where late events land; rows appended to older ones stay unmerged (they count the same).
      await this.compactNow(Math.floor(now / DAY_MS) * DAY_MS - 3 * DAY_MS, 8.64e15);
      return rawDays === undefined ? { removed, cutoff } : { removed, cutoff, rawRemoved, rawCutoff };
    });
  }

  async query(sql: string, params: readonly (string | number | boolean | null)[] = []): Promise<Record<string, Cell>[]> {
    const r = await this.handles.reader.runAndReadAll(sql, params as DuckDBValue[]);
    return r.getRowObjectsJson() as Record<string, Cell>[];
  }

  private async closeHandles(): Promise<void> {
    for (const kind of Object.keys(STATEMENTS) as Statement[]) {
      (await this.prepared[kind]?.catch(() => undefined))?.destroySync();
      this.prepared[kind] = undefined;
    }
    const { writer, reader, instance } = this.handles;
    writer.closeSync();
    reader.closeSync();
    instance.closeSync();
  }

  async close(): Promise<void> {
    await this.trigger.stop();
    await this.turn;
    // The queue emptied, so a file closed cleanly holds whole aggregates (an error leaves it for the next open).
    await this.rollUpNow().catch(() => undefined);
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
