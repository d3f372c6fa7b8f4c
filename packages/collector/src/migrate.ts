/**
 * `dlt-collector migrate --from <file.duckdb> --to postgres://…|clickhouse://…|chdb:DIR`: copies every event of a
 * DuckDB file into the PostgreSQL or the ClickHouse store, for a user who outgrows the file. Each stored message is sent as it is (the JSON the DuckDB store
 * kept, with its `receivedAt`), through the PostgreSQL store's own insert, so the typed columns are derived exactly as
 * for live events and each event lands in the partition of the day it was received. Idempotent: an event already
 * there (same `messageId` and `receivedAt`, or an id seen in the dedup window) is skipped, so a second run, or a run
 * after an interrupted one, adds only what is missing.
 *
 * The counts of what the file's plan refused (`refused`) are copied too, each day's count the larger of the two
 * sides', so a second run changes nothing.
 *
 * The file is read in DuckDB's own chunks (streamed, in storage order: no sort, so memory stays flat whatever the
 * file's size) and written in batches, `concurrency` at a time on their own connections (PostgreSQL runs each
 * statement on one core), while the next is read. The partitions of the days that hold events are made first, a
 * few days per transaction, so the schema lock other collectors wait on is held briefly.
 *
 * The file is data, never code: whoever made it may not be the operator. It is opened read-only with DuckDB's
 * external access off (no file, glob or URL reads, no extension loaded), `events` must be a base table with the
 * collector's columns (a view could read anything), and each message goes through ingest's validation (its size and
 * shape) before it is copied: one that fails is skipped and counted by reason.
 */
import { existsSync } from "node:fs";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { receivedRange, stampedSizeLimit, validateStored } from "./validate.js";
import { COLUMNS, isNullable, typeIn } from "./store/columns.js";
import { DUCKDB_KINDS } from "./store/duckdb.js";
import { PostgresStore, redactUrl, withoutNul } from "./store/postgres.js";
import { ClickHouseStore, isClickHouseDb, redactClickHouse } from "./store/clickhouse.js";
import type { RefusedCount } from "./store/types.js";

/** What a target store needs for `migrate`: its insert of NDJSON lines (skipping what it holds), and a count. */
interface Target {
  insertLines(lines: string[]): Promise<number>;
  copyRefused(refused: readonly RefusedCount[]): Promise<void>;
  count(): Promise<number>;
  close(): Promise<void>;
}

async function openTarget(to: string, days: readonly number[]): Promise<Target> {
  const count = async (store: { query(sql: string): Promise<Record<string, unknown>[]> }): Promise<number> =>
    Number((await store.query("SELECT count(*) AS n FROM events"))[0]!["n"]);
  if (isClickHouseDb(to)) {
    const store = await ClickHouseStore.open(to);
    return {
      insertLines: (lines) => store.insertNdjson(lines),
      copyRefused: (r) => store.copyRefused(r),
      count: () => count(store),
      close: () => store.close(),
    };
  }
  const store = await PostgresStore.open(to);
  await store.ensurePartitionDays(days);
  return {
    insertLines: (lines) => store.insertLines(lines.map(withoutNul).join("\n")),
    copyRefused: (r) => store.copyRefused(r),
    count: () => count(store),
    close: () => store.close(),
  };
}

/** What to migrate. */
export interface MigrateOptions {
  /** The DuckDB file (opened read-only: a running collector may not hold it). */
  readonly from: string;
  /** The target: a PostgreSQL URL, a ClickHouse URL or `chdb:DIR`. */
  readonly to: string;
  /** Events per PostgreSQL statement (default 5,000). */
  readonly batchSize?: number;
  /** Statements in flight at once (default 2). */
  readonly concurrency?: number;
  /** Called after each batch with the events read so far and the total. */
  readonly progress?: (done: number, total: number) => void;
}

/** The counts on both sides. */
export interface MigrateReport {
  readonly source: string;
  readonly target: string;
  /** Events in the DuckDB file. */
  readonly sourceEvents: number;
  /** Events in the target before and after. */
  readonly targetBefore: number;
  readonly targetAfter: number;
  /** Events this run added. */
  readonly added: number;
  /** Messages not copied because they fail ingest's validation, by reason (`message is over the 32 KB limit`, …). */
  readonly skipped: Readonly<Record<string, number>>;
}

/** A source file that is not a collector's events table: the message names what was found. */
export class MigrateSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MigrateSourceError";
  }
}

/** More distinct days than this in one file is not a collector's history (~55 years): refused before any write. */
export const MAX_DAYS = 20_000;

/** Checks that `events` is a base table holding the collector's key and NOT NULL columns, with their types. */
async function checkSource(duck: DuckDBConnection, file: string): Promise<void> {
  const tables = (
    await duck.runAndReadAll("SELECT table_type FROM information_schema.tables WHERE table_schema = 'main' AND table_name = 'events'")
  ).getRows();
  if (tables.length === 0) throw new MigrateSourceError(`${file}: no events table (is it a collector's DuckDB file?)`);
  const kind = String(tables[0]![0]);
  if (kind !== "BASE TABLE")
    throw new MigrateSourceError(`${file}: events is a ${kind}, not a table: refused (a view could read anything on this machine)`);
  const found = new Map(
    (await duck.runAndReadAll("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'main' AND table_name = 'events'"))
      .getRows()
      .map((r) => [String(r[0]), String(r[1])]),
  );
  for (const column of COLUMNS) {
    if (isNullable(column)) continue;
    const type = found.get(column.name);
    const expected = typeIn(DUCKDB_KINDS, column);
    if (type !== expected) {
      throw new MigrateSourceError(
        `${file}: events.${column.name} is ${type === undefined ? "missing" : type}, a collector's is ${expected}: not a collector's events table`,
      );
    }
  }
}

/**
 * The UTC days (epoch ms) that hold events, in rounds of at most `MAX_DAYS`: a table with one event in 1901 and one in
 * 9999 needs two partitions, not three million.
 */
async function daysOf(duck: DuckDBConnection, file: string): Promise<number[]> {
  // Only days a collector can have stamped: a message received outside them is skipped (validateStored).
  const [from, to] = receivedRange();
  const rows = (
    await duck.runAndReadAll(
      `SELECT DISTINCT epoch_ms(date_trunc('day', received_at)) FROM events WHERE received_at >= make_timestamp(${from * 1000}) AND received_at < make_timestamp(${to * 1000}) LIMIT ${MAX_DAYS + 1}`,
    )
  ).getRows();
  if (rows.length > MAX_DAYS) throw new MigrateSourceError(`${file}: events spread over more than ${MAX_DAYS.toLocaleString("en-US")} days: refused`);
  return rows.map((r) => Number(r[0])).sort((a, b) => a - b);
}

export async function migrate(options: MigrateOptions): Promise<MigrateReport> {
  if (!existsSync(options.from)) throw new Error(`${options.from}: no such file`);
  const batchSize = options.batchSize ?? 5_000;
  // A stream needs little of DuckDB's buffer pool (by default 80 % of RAM; measured 546 MB peak RSS for 1M events).
  // External access off: no function of the file (a view, a macro, a generated column) can read this machine.
  const instance = await DuckDBInstance.create(options.from, {
    access_mode: "READ_ONLY",
    memory_limit: "64MB",
    enable_external_access: "false",
    autoload_known_extensions: "false",
    autoinstall_known_extensions: "false",
    lock_configuration: "true",
  });
  let store: Target | undefined;
  try {
    const duck = await instance.connect();
    await checkSource(duck, options.from);
    const total = Number((await duck.runAndReadAll("SELECT count(*) FROM events")).getRows()[0]![0]);
    const days = await daysOf(duck, options.from);
    store = await openTarget(options.to, days);
    const count = (): Promise<number> => store!.count();
    const targetBefore = await count();
    let added = 0;
    let done = 0;
    const skipped: Record<string, number> = {};
    const skip = (reason: string): void => {
      skipped[reason] = (skipped[reason] ?? 0) + 1;
      done++;
    };
    const concurrency = options.concurrency ?? 2;
    const writing = new Set<Promise<void>>();
    let failed: unknown;
    let lines: string[] = [];
    const flush = async (): Promise<void> => {
      const batch = lines;
      lines = [];
      while (writing.size >= concurrency) await Promise.race(writing);
      if (failed !== undefined) throw failed;
      const n = batch.length;
      const w: Promise<void> = store!.insertLines(batch).then(
        (k) => {
          added += k;
          done += n;
          options.progress?.(done, total);
        },
        (e: unknown) => void (failed ??= e),
      );
      writing.add(w);
      void w.finally(() => writing.delete(w));
    };
    // An oversize message is not read at all: only its size.
    const limit = stampedSizeLimit();
    const result = await duck.stream(`SELECT CASE WHEN strlen(message::VARCHAR) <= ${limit} THEN message END, strlen(message::VARCHAR) FROM events`);
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      for (const [message, size] of chunk.getRows()) {
        if (message === null) {
          skip(size === null ? "message is missing" : "message is over the 32 KB limit");
          continue;
        }
        const checked = validateStored(String(message));
        if (!checked.ok) {
          skip(checked.reason);
          continue;
        }
        lines.push(checked.json);
        if (lines.length >= batchSize) await flush();
      }
    }
    if (lines.length > 0) await flush();
    await Promise.all(writing);
    if (failed !== undefined) throw failed;
    // What the file's plan refused, counted per day (a file made before plans has no such table).
    const hasRefused =
      Number((await duck.runAndReadAll("SELECT count(*) FROM information_schema.tables WHERE table_name = 'refused'")).getRows()[0]![0]) > 0;
    if (hasRefused) {
      const rows = (await duck.runAndReadAll("SELECT day, reason, event, n FROM refused")).getRows();
      await store.copyRefused(
        rows.map(([day, reason, event, n]) => ({ day: Number(day), reason: String(reason), event: String(event), n: Number(n) })),
      );
    }
    duck.closeSync();
    return {
      source: options.from,
      target: isClickHouseDb(options.to) ? redactClickHouse(options.to) : redactUrl(options.to),
      sourceEvents: total,
      targetBefore,
      targetAfter: await count(),
      added,
      skipped,
    };
  } finally {
    await store?.close();
    instance.closeSync();
  }
}
