/**
 * `dlt-collector migrate --from <file.duckdb> --to postgres://…`: copies every event of a DuckDB file into the
 * PostgreSQL store, for a user who outgrows the file. Each stored message is sent as it is (the JSON the DuckDB store
 * kept, with its `receivedAt`), through the PostgreSQL store's own insert, so the typed columns are derived exactly as
 * for live events and each event lands in the partition of the day it was received. Idempotent: an event already
 * there (same `messageId` and `receivedAt`, or an id seen in the dedup window) is skipped, so a second run, or a run
 * after an interrupted one, adds only what is missing.
 *
 * The file is read in DuckDB's own chunks (streamed, in storage order: no sort, so memory stays flat whatever the
 * file's size) and written in batches; the next batch is read while the previous one is being written.
 */
import { existsSync } from "node:fs";
import { DuckDBInstance } from "@duckdb/node-api";
import { PostgresStore, redactUrl, withoutNul } from "./store/postgres.js";

/** What to migrate. */
export interface MigrateOptions {
  /** The DuckDB file (opened read-only: a running collector may not hold it). */
  readonly from: string;
  /** The PostgreSQL URL. */
  readonly to: string;
  /** Events per PostgreSQL statement (default 5,000). */
  readonly batchSize?: number;
  /** Called after each batch with the events read so far and the total. */
  readonly progress?: (done: number, total: number) => void;
}

/** The counts on both sides. */
export interface MigrateReport {
  readonly source: string;
  readonly target: string;
  /** Events in the DuckDB file. */
  readonly sourceEvents: number;
  /** Events in PostgreSQL before and after. */
  readonly targetBefore: number;
  readonly targetAfter: number;
  /** Events this run added. */
  readonly added: number;
}

export async function migrate(options: MigrateOptions): Promise<MigrateReport> {
  if (!existsSync(options.from)) throw new Error(`${options.from}: no such file`);
  const batchSize = options.batchSize ?? 5_000;
  const instance = await DuckDBInstance.create(options.from, { access_mode: "READ_ONLY" });
  let store: PostgresStore | undefined;
  try {
    const duck = await instance.connect();
    const total = Number((await duck.runAndReadAll("SELECT count(*) FROM events")).getRows()[0]![0]);
    store = await PostgresStore.open(options.to);
    const count = async (): Promise<number> => Number((await store!.query("SELECT count(*) AS n FROM events"))[0]!["n"]);
    const targetBefore = await count();
    let added = 0;
    let done = 0;
    let writing: Promise<void> = Promise.resolve();
    let lines: string[] = [];
    const flush = async (): Promise<void> => {
      const batch = lines;
      lines = [];
      await writing; // one batch in flight: reading the next overlaps writing this one
      const n = batch.length;
      writing = store!.insertLines(batch.join("\n")).then((k) => {
        added += k;
        done += n;
        options.progress?.(done, total);
      });
    };
    const result = await duck.stream("SELECT message FROM events");
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      for (const [message] of chunk.getRows()) {
        lines.push(withoutNul(String(message)));
        if (lines.length >= batchSize) await flush();
      }
    }
    if (lines.length > 0) await flush();
    await writing;
    duck.closeSync();
    return { source: options.from, target: redactUrl(options.to), sourceEvents: total, targetBefore, targetAfter: await count(), added };
  } finally {
    await store?.close();
    instance.closeSync();
  }
}
