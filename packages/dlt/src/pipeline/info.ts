/**
 * What the steps of a pipeline return, and what it tells about its load packages (dlt's `ExtractInfo`,
 * `NormalizeInfo`, `LoadInfo`, `LoadPackageInfo`, `LoadJobInfo`), as plain data with a one-line `toString()`.
 * A package's info is read from the pipeline's folder: its manifest while pending, its record once loaded.
 */
import { basename } from "node:path";
import type { ExtractedPackage, LoadFailure, PipelineDir } from "./package.js";

/** What `extract` made: one package with the items of each resource. */
export interface ExtractInfo {
  readonly pipelineName: string;
  /** The package extracted (one per call). */
  readonly loadIds: readonly string[];
  /** Items per root table. */
  readonly tables: Readonly<Record<string, number>>;
  /** Total items. */
  readonly items: number;
  /** One line, e.g. `Extracted 3 items for 1 table (load id 1732…)`. */
  toString(): string;
}

/** What `normalize` did: the packages it normalized and their rows per table. */
export interface NormalizeInfo {
  readonly pipelineName: string;
  /** Packages normalized, oldest first (every extracted package waiting). */
  readonly loadIds: readonly string[];
  /** Rows per table, nested tables included. */
  readonly tables: Readonly<Record<string, number>>;
  /** Total rows. */
  readonly rows: number;
  /** One line, e.g. `Normalized 2 tables (4 rows) in 1 package (load id 1732…)`. */
  toString(): string;
}

/** What a run (or `load`) loaded. */
export interface LoadInfo {
  readonly pipelineName: string;
  readonly datasetName: string;
  readonly destination: "duckdb";
  /** Absolute path of the DuckDB file. */
  readonly dbPath: string;
  /** Packages loaded, in order (one a failed earlier run left behind comes first). */
  readonly loadIds: readonly string[];
  /** Rows loaded per table, nested tables included. */
  readonly tables: Readonly<Record<string, number>>;
  /** Total rows loaded. */
  readonly rows: number;
  /** Seconds each step took (0 for a step the call did not run). */
  readonly elapsed: { readonly extract: number; readonly normalize: number; readonly load: number };
  /** One line, e.g. `Loaded 2 tables (1,234 rows) into chess.duckdb/chess_data in 1.2 s (load id 1732…)`. */
  toString(): string;
}

/** The state of a package: dlt's `TLoadPackageStatus` for the states dlt-ts keeps. */
export type LoadPackageState = "extracted" | "normalized" | "loaded";

/** The state of a job (one table's file) in its package: dlt's `TPackageJobState`. */
export type LoadJobState = "new_jobs" | "failed_jobs" | "completed_jobs";

/** One job of a package (dlt's `LoadJobInfo`): a table's file. */
export interface LoadJobInfo {
  readonly table: string;
  /** The file's name in its package. */
  readonly file: string;
  /** `ndjson` (extracted items) or `csv` (normalized rows). */
  readonly fileFormat: string;
  readonly bytes: number;
  /** Items (extracted) or rows (normalized, loaded). */
  readonly rows: number;
  readonly state: LoadJobState;
  /** DuckDB's error, on the job whose statement failed. */
  readonly failedMessage?: string;
}

/** A load package (dlt's `LoadPackageInfo`). */
export interface LoadPackageInfo {
  readonly loadId: string;
  readonly state: LoadPackageState;
  /** Where it is on this machine: its folder while pending, its record once loaded. */
  readonly location: string;
  /** The schema it loads with (known once normalized). */
  readonly schemaName: string | undefined;
  readonly schemaVersion: number | undefined;
  /** ISO 8601, once loaded. */
  readonly completedAt: string | undefined;
  readonly jobs: readonly LoadJobInfo[];
  /** The last failed load of a package still waiting, with the table DuckDB refused and its error. */
  readonly failure: LoadFailure | undefined;
  /** Tables a `drop` package dropped. */
  readonly droppedTables: readonly string[];
}

/** A job whose load failed (dlt's `failed-jobs`): the package waits for the next load. */
export interface FailedJob {
  readonly loadId: string;
  /** The table DuckDB refused; undefined when the failure was not a table's (then `file` is too). */
  readonly table: string | undefined;
  readonly file: string | undefined;
  readonly fileFormat: string | undefined;
  /** DuckDB's error. */
  readonly message: string;
  /** ISO 8601. */
  readonly failedAt: string;
}

/** What a step did so far: the packages it finished and their rows (or items) per table, as its info reports them. */
export class StepTotals {
  readonly loadIds: string[] = [];
  readonly tables: Record<string, number> = {};

  add(loadId: string, rows: Readonly<Record<string, number>>): void {
    this.loadIds.push(loadId);
    for (const [t, n] of Object.entries(rows)) this.tables[t] = (this.tables[t] ?? 0) + n;
  }
}

const count = (n: number, one: string, many: string): string => `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;
const sum = (r: Readonly<Record<string, number>>): number => Object.values(r).reduce((a, b) => a + b, 0);
const ids = (loadIds: readonly string[]): string => (loadIds.length === 1 ? "load id" : "load ids") + ` ${loadIds.join(", ") || "none"}`;

/** What extracting `pkg` made: its items per root table. */
export function extractInfo(pipelineName: string, pkg: ExtractedPackage): ExtractInfo {
  const loadIds = [pkg.loadId];
  const tables: Record<string, number> = {};
  for (const r of pkg.roots) tables[r.table] = (tables[r.table] ?? 0) + r.items;
  const items = sum(tables);
  const line = `Extracted ${count(items, "item", "items")} for ${count(Object.keys(tables).length, "table", "tables")} (${ids(loadIds)})`;
  return { pipelineName, loadIds, tables, items, toString: () => line };
}

export function normalizeInfo(pipelineName: string, loadIds: readonly string[], tables: Record<string, number>): NormalizeInfo {
  const rows = sum(tables);
  const line =
    `Normalized ${count(Object.keys(tables).length, "table", "tables")} (${count(rows, "row", "rows")}) ` +
    `in ${count(loadIds.length, "package", "packages")} (${ids(loadIds)})`;
  return { pipelineName, loadIds, tables, rows, toString: () => line };
}

export function loadInfo(
  p: { readonly pipelineName: string; readonly datasetName: string; readonly dbPath: string },
  loadIds: readonly string[],
  tables: Record<string, number>,
  elapsed: LoadInfo["elapsed"],
): LoadInfo {
  const rows = sum(tables);
  const total = elapsed.extract + elapsed.normalize + elapsed.load;
  const n = Object.keys(tables).length;
  const line =
    `Loaded ${count(n, "table", "tables")} (${count(rows, "row", "rows")}) ` +
    `into ${basename(p.dbPath)}/${p.datasetName} in ${total.toFixed(1)} s (load id ${loadIds.join(", ") || "none"})`;
  return {
    pipelineName: p.pipelineName,
    datasetName: p.datasetName,
    destination: "duckdb",
    dbPath: p.dbPath,
    loadIds,
    tables,
    rows,
    elapsed,
    toString: () => line,
  };
}

/**
 * A package of the pipeline in `folder`: its state, jobs (one file per table) with their sizes and rows, and the
 * failure of its last load.
 * @throws when no package has this load id, naming it and the pipeline.
 */
export function loadPackageInfo(folder: PipelineDir, pipelineName: string, loadId: string): LoadPackageInfo {
  const pending = folder.pendingPackages().find((p) => p.loadId === loadId);
  if (pending) {
    const failure = pending.state === "normalized" ? folder.failure(loadId) : undefined;
    const fileFormat = pending.state === "extracted" ? "ndjson" : "csv";
    const jobs: LoadJobInfo[] = folder.jobs(pending).map((j) => {
      const failed = failure !== undefined && failure.table === j.table;
      return { ...j, fileFormat, state: failed ? "failed_jobs" : "new_jobs", ...(failed ? { failedMessage: failure.message } : {}) };
    });
    const schema = pending.state === "normalized" ? pending.schema : undefined;
    return {
      loadId,
      state: pending.state,
      location: folder.packageDir(loadId),
      schemaName: schema?.name,
      schemaVersion: schema?.version,
      completedAt: undefined,
      jobs,
      failure,
      droppedTables: pending.state === "normalized" ? (pending.droppedTables ?? []) : [],
    };
  }
  const loaded = folder.loadedPackages().find((p) => p.loadId === loadId);
  if (loaded) {
    return {
      loadId,
      state: "loaded",
      location: folder.loadedRecord(loadId),
      schemaName: loaded.schemaName,
      schemaVersion: loaded.schemaVersion,
      completedAt: loaded.completedAt,
      jobs: loaded.jobs.map((j) => ({ ...j, fileFormat: "csv", state: "completed_jobs" })),
      failure: undefined,
      droppedTables: loaded.droppedTables ?? [],
    };
  }
  throw new Error(`load package ${loadId} was not found in pipeline ${pipelineName} (see \`dlt pipeline ${pipelineName} info\` for its packages)`);
}

/** The jobs whose last load failed, with DuckDB's error, in every package of `folder` waiting to be loaded. */
export function failedJobs(folder: PipelineDir, pipelineName: string): FailedJob[] {
  const out: FailedJob[] = [];
  for (const { loadId } of folder.normalizedPackages()) {
    const info = loadPackageInfo(folder, pipelineName, loadId);
    const f = info.failure;
    if (!f) continue;
    const job = info.jobs.find((j) => j.state === "failed_jobs");
    out.push({ loadId, table: f.table, file: job?.file, fileFormat: job?.fileFormat, message: f.message, failedAt: f.failedAt });
  }
  return out;
}
