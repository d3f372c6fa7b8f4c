/**
 * What `dlt pipeline …` shows about pipelines that ran here: the pipelines in the data dir with their last run
 * (from their folders, `package.ts`), and what a pipeline's dataset holds (from its DuckDB file, opened read only:
 * row counts per table and the last loads in `_dlt_loads`).
 */
import { existsSync } from "node:fs";
import { DuckDBInstance } from "@duckdb/node-api";
import { q } from "./naming.js";
import { PipelineDir, pipelineNames, pipelinesDir } from "./package.js";
import { LOADS_TABLE } from "./schema.js";

/** A pipeline in the data dir. */
export interface PipelineListItem {
  readonly name: string;
  /** From its state; undefined when the state cannot be read. */
  readonly datasetName: string | undefined;
  /**
   * Its last run, from its trace; with no trace here (a pipeline restored by `sync`, whose runs were elsewhere), the
   * time its state was last extracted (`from: "state"`); undefined when it never ran.
   */
  readonly lastRun:
    | { readonly startedAt: string; readonly finishedAt: string | undefined; readonly failed: boolean; readonly from: "trace" | "state" }
    | undefined;
}

/** The pipelines with a folder in the data dir, the most recently run first (dlt's order), never-run last. */
export function listPipelines(): { readonly pipelinesDir: string; readonly pipelines: readonly PipelineListItem[] } {
  const pipelines = pipelineNames().map((name): PipelineListItem => {
    const dir = PipelineDir.of(name);
    let state: ReturnType<PipelineDir["readState"]>;
    try {
      state = dir.readState();
    } catch {
      state = undefined; // a broken state.json is said by `info`; the list still lists the pipeline
    }
    const trace = dir.readTrace();
    const extracted = state?._local._last_extracted_at;
    const lastRun = trace
      ? {
          startedAt: trace.startedAt,
          finishedAt: trace.finishedAt,
          failed: trace.steps.some((s) => s.exception !== undefined),
          from: "trace" as const,
        }
      : extracted !== undefined
        ? { startedAt: extracted, finishedAt: extracted, failed: false, from: "state" as const }
        : undefined;
    return { name, datasetName: state?.dataset_name, lastRun };
  });
  const at = (p: PipelineListItem): string => p.lastRun?.finishedAt ?? p.lastRun?.startedAt ?? "";
  return { pipelinesDir: pipelinesDir(), pipelines: [...pipelines].sort((a, b) => at(b).localeCompare(at(a)) || a.name.localeCompare(b.name)) };
}

/** A row of `_dlt_loads`. */
export interface DatasetLoad {
  readonly loadId: string;
  readonly schemaName: string | null;
  /** 0: completed. */
  readonly status: number;
  /** ISO 8601. */
  readonly insertedAt: string;
  readonly schemaVersionHash: string | null;
}

/** What a dataset holds. */
export interface DatasetSnapshot {
  readonly dbPath: string;
  readonly datasetName: string;
  /** Rows per table of the dataset (system tables included); empty when the file or dataset does not exist. */
  readonly tables: Readonly<Record<string, number>>;
  /** The last loads, newest first. */
  readonly loads: readonly DatasetLoad[];
}

/**
 * Reads row counts and the last `limit` loads of a dataset, read only.
 * @throws when DuckDB cannot open the file (e.g. another process is writing it), with DuckDB's reason.
 */
export async function readDataset(dbPath: string, datasetName: string, limit = 10): Promise<DatasetSnapshot> {
  if (!existsSync(dbPath)) return { dbPath, datasetName, tables: {}, loads: [] };
  const instance = await DuckDBInstance.create(dbPath, { access_mode: "READ_ONLY" });
  try {
    const c = await instance.connect();
    try {
      const cat = String((await c.runAndReadAll("SELECT current_database()")).getRows()[0]![0]);
      const names = (
        await c.runAndReadAll(
          "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ? ORDER BY table_name",
          [datasetName],
        )
      )
        .getRows()
        .map(([t]) => String(t));
      const tables: Record<string, number> = {};
      const ds = `${q(cat)}.${q(datasetName)}`;
      for (const t of names) tables[t] = Number((await c.runAndReadAll(`SELECT count(*) FROM ${ds}.${q(t)}`)).getRows()[0]![0]);
      let loads: DatasetLoad[] = [];
      if (names.includes(LOADS_TABLE)) {
        const r = await c.runAndReadAll(
          `SELECT load_id, schema_name, status, strftime(inserted_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%gZ'), schema_version_hash FROM ${ds}.${LOADS_TABLE} ORDER BY load_id DESC LIMIT ${Math.max(0, Math.floor(limit))}`,
        );
        loads = r.getRows().map(([loadId, schemaName, status, insertedAt, hash]) => ({
          loadId: String(loadId),
          schemaName: schemaName === null ? null : String(schemaName),
          status: Number(status),
          insertedAt: String(insertedAt),
          schemaVersionHash: hash === null ? null : String(hash),
        }));
      }
      return { dbPath, datasetName, tables, loads };
    } finally {
      c.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}
