/**
 * The pipeline's folder, `<data dir>/pipelines/<pipeline>/`, and everything in it — the one place that knows this
 * layout (dlt's, where dlt has one):
 * - `state.json`: the pipeline state (`state.ts`);
 * - `schemas/<schema>.schema.json`: the schema of the last load, in dlt's stored format (`schema.ts`);
 * - `packages/<load id>/`: load packages waiting for their next step, each with a `package.json` manifest:
 *   `extracted` (the items of each resource in `extracted/*.ndjson`, with the hints their tables are normalized
 *   with) or `normalized` (the rows in `normalized/<table>.csv`, and the schema they load with). A folder without a
 *   manifest is an extract that never finished. `failed.json` beside a manifest records the last failed load of the
 *   package (the table and DuckDB's error): the package waits for the next load;
 * - `loaded/<load id>.json`: what a completed package held (jobs, rows, schema version), once its data files are gone
 *   (dlt keeps completed packages in `load/loaded/`);
 * - `trace.json`: the trace of the last run (dlt's `trace.pickle`, as JSON);
 * - `run.lock`: held by the step or run in progress.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { basename, join } from "node:path";
import { locations } from "@dlt-ts/telemetry";
import { DLT_TELEMETRY_OPTIONS } from "../telemetry.js";
import { asStoredSchema, type StoredSchema, type WriteDisposition } from "./schema.js";
import { asState, type PipelineState, type StateDoc } from "./state.js";
import { asTrace, type PipelineTrace } from "./trace.js";

/** One normalized file: its path and the columns of its CSV fields, in order. */
export interface TableFile {
  readonly path: string;
  readonly columns: readonly string[];
}

/** The manifest format of a package; a normalized package of another format is refused, not misread. */
export const PACKAGE_FORMAT = 2;

/** How a root table is normalized: its resource's hints, kept with the extracted items until normalize. */
export interface TableHints {
  readonly writeDisposition?: WriteDisposition;
  readonly primaryKey: readonly string[];
  readonly maxTableNesting?: number;
}

/** One resource's extracted items. */
export interface ExtractedRoot {
  /** Table name (snake_case). */
  readonly table: string;
  /** The NDJSON file of its items. */
  readonly file: string;
  readonly items: number;
  readonly hints: TableHints;
}

/** What an extracted package holds: the items of each resource, waiting to be normalized. */
export interface ExtractedPackage {
  readonly format: typeof PACKAGE_FORMAT;
  readonly loadId: string;
  readonly state: "extracted";
  readonly roots: readonly ExtractedRoot[];
}

/** What a normalized package holds. */
export interface NormalizedPackage {
  readonly format: typeof PACKAGE_FORMAT;
  readonly loadId: string;
  readonly state: "normalized";
  /** Root tables of the package (each loads with its nested tables). */
  readonly roots: readonly string[];
  readonly files: Readonly<Record<string, TableFile>>;
  /** Rows per table (nested tables included). */
  readonly rows: Readonly<Record<string, number>>;
  /** The schema the package was normalized against: what the destination must have to load it. */
  readonly schema: StoredSchema;
  /** A new version of the pipeline state, loaded as a `_dlt_pipeline_state` row with this package. */
  readonly stateDoc?: StateDoc;
  /** Tables dropped from the dataset, in this order, before anything else loads (`dlt pipeline <name> drop`). */
  readonly droppedTables?: readonly string[];
}

/** One table's file of a package: dlt calls it a job. */
export interface PackageJob {
  readonly table: string;
  /** The file's name in its package. */
  readonly file: string;
  readonly bytes: number;
  /** Items (an extracted file) or rows (a normalized one). */
  readonly rows: number;
}

/** What a completed package held, kept once its files are gone. */
export interface LoadedPackage {
  readonly format: typeof PACKAGE_FORMAT;
  readonly loadId: string;
  readonly state: "loaded";
  readonly schemaName: string;
  readonly schemaVersion: number;
  readonly schemaVersionHash: string;
  /** ISO 8601. */
  readonly completedAt: string;
  readonly jobs: readonly PackageJob[];
  readonly droppedTables?: readonly string[];
}

/** The last failed load of a package that waits to be loaded again. */
export interface LoadFailure {
  /** The table whose statement DuckDB refused (a system table, or none when the failure was not a table's). */
  readonly table: string | undefined;
  /** DuckDB's error, as it gave it. */
  readonly message: string;
  /** ISO 8601. */
  readonly failedAt: string;
}

/** A package waiting in `packages/`, as read from its manifest. */
export type PendingPackage = ExtractedPackage | NormalizedPackage;

/** The global data dir (env `DLT_DATA_DIR`, else `~/.dlt`), resolved as telemetry and the CLI resolve it. */
export function dataDir(): string {
  return locations(DLT_TELEMETRY_OPTIONS, process.env).dataDir;
}

/** The folder holding every pipeline's folder (dlt's `get_dlt_pipelines_dir()`). */
export function pipelinesDir(): string {
  return join(dataDir(), "pipelines");
}

/** The names of the pipelines with a folder in {@link pipelinesDir}, sorted. */
export function pipelineNames(): string[] {
  try {
    return readdirSync(pipelinesDir(), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}

const byLoadId = (a: string, b: string): number => Number(a) - Number(b) || a.localeCompare(b);

/** Writes a file so that a reader sees the old or the new content, never a part. */
export function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new Error(`${file} is not valid JSON (${(e as Error).message}); move it away to start this pipeline afresh`);
  }
}

/** The working folder of one pipeline. */
export class PipelineDir {
  constructor(readonly dir: string) {}

  /** The folder of pipeline `name` under the data dir. */
  static of(pipelineName: string): PipelineDir {
    return new PipelineDir(join(pipelinesDir(), pipelineName));
  }

  /** Whether the folder exists (a pipeline that ran on this machine, or was restored here). */
  exists(): boolean {
    return existsSync(this.dir);
  }

  get packages(): string {
    return join(this.dir, "packages");
  }

  packageDir(loadId: string): string {
    return join(this.packages, loadId);
  }

  /** Where extract writes a package's item files (created). */
  extractedDir(loadId: string): string {
    const d = join(this.packageDir(loadId), "extracted");
    mkdirSync(d, { recursive: true });
    return d;
  }

  /** Where normalize writes a package's table files (created). */
  normalizedDir(loadId: string): string {
    const d = join(this.packageDir(loadId), "normalized");
    mkdirSync(d, { recursive: true });
    return d;
  }

  /** Removes a package's extracted files once they are normalized. */
  removeExtracted(loadId: string): void {
    rmSync(join(this.packageDir(loadId), "extracted"), { recursive: true, force: true });
  }

  /** The record of a completed package. */
  loadedRecord(loadId: string): string {
    return join(this.loadedDir, `${loadId}.json`);
  }

  get stateFile(): string {
    return join(this.dir, "state.json");
  }

  private get traceFile(): string {
    return join(this.dir, "trace.json");
  }

  private get loadedDir(): string {
    return join(this.dir, "loaded");
  }

  private manifestFile(loadId: string): string {
    return join(this.packageDir(loadId), "package.json");
  }

  private failureFile(loadId: string): string {
    return join(this.packageDir(loadId), "failed.json");
  }

  schemaFile(name: string): string {
    return join(this.dir, "schemas", `${name}.schema.json`);
  }

  /** The pipeline state, or undefined when this machine has none (a new pipeline, or its folder was removed). */
  readState(): PipelineState | undefined {
    const v = readJson(this.stateFile);
    if (v === undefined) return undefined;
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error(`${this.stateFile} is not a JSON object`);
    return asState(v as Record<string, unknown>, this.stateFile);
  }

  writeState(state: PipelineState): void {
    mkdirSync(this.dir, { recursive: true });
    writeAtomic(this.stateFile, JSON.stringify(state, null, 2));
  }

  /** The stored schema `name` (of the last load), or undefined. */
  readSchema(name: string): StoredSchema | undefined {
    const v = readJson(this.schemaFile(name));
    return v === undefined ? undefined : asStoredSchema(v, this.schemaFile(name));
  }

  /** Names of the stored schemas. */
  schemaNames(): string[] {
    try {
      return readdirSync(join(this.dir, "schemas"))
        .filter((f) => f.endsWith(".schema.json"))
        .map((f) => f.slice(0, -".schema.json".length))
        .sort();
    } catch {
      return [];
    }
  }

  writeSchema(schema: StoredSchema): void {
    mkdirSync(join(this.dir, "schemas"), { recursive: true });
    writeAtomic(this.schemaFile(schema.name), JSON.stringify(schema, null, 2));
  }

  /** Removes every stored schema (a state restored from the destination brings its own). */
  clearSchemas(): void {
    rmSync(join(this.dir, "schemas"), { recursive: true, force: true });
  }

  /** The manifest that makes a package's extracted files a package: written last, when every file is complete. */
  markExtracted(p: ExtractedPackage): void {
    writeAtomic(this.manifestFile(p.loadId), JSON.stringify(p));
  }

  markNormalized(p: NormalizedPackage): void {
    mkdirSync(this.packageDir(p.loadId), { recursive: true }); // a package of a drop has no files of its own
    writeAtomic(this.manifestFile(p.loadId), JSON.stringify(p));
  }

  /** The manifest of a package in `packages/`, or undefined (no manifest: an extract that never finished). */
  private manifest(loadId: string): { state?: unknown; format?: unknown } | undefined {
    try {
      const v = JSON.parse(readFileSync(this.manifestFile(loadId), "utf8")) as unknown;
      return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as { state?: unknown; format?: unknown }) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Load ids of the folders in `packages/`, oldest first. */
  private packageIds(): string[] {
    try {
      return readdirSync(this.packages).sort(byLoadId);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw e;
    }
  }

  /**
   * Packages waiting for their next step, oldest first. Read only: a folder without a usable manifest (an extract
   * that never finished, or one extracted by a dlt-ts before packages carried a format) is left out here and
   * removed by {@link removeIncomplete}.
   * @throws when a normalized package has another manifest format (it cannot be loaded by this version).
   */
  pendingPackages(): PendingPackage[] {
    const out: PendingPackage[] = [];
    for (const id of this.packageIds()) {
      const m = this.manifest(id);
      if (m?.state === "extracted" && m.format === PACKAGE_FORMAT) out.push(m as unknown as ExtractedPackage);
      else if (m?.state === "normalized") {
        if (m.format !== PACKAGE_FORMAT) {
          throw new Error(
            `package ${this.manifestFile(id)} was normalized by another version of dlt-ts and cannot be loaded by this one; remove ${this.packageDir(id)} to drop it`,
          );
        }
        out.push(m as unknown as NormalizedPackage);
      }
    }
    return out;
  }

  /** Extracted packages waiting to be normalized, oldest first. */
  extractedPackages(): ExtractedPackage[] {
    return this.pendingPackages().filter((p): p is ExtractedPackage => p.state === "extracted");
  }

  /** Normalized packages waiting to be loaded, oldest first (one whose load failed stays here). */
  normalizedPackages(): NormalizedPackage[] {
    return this.pendingPackages().filter((p): p is NormalizedPackage => p.state === "normalized");
  }

  /**
   * Removes the folders in `packages/` that are no package: extracts that never finished (the caller holds the run
   * lock, so none is in progress). Their data is extracted again by whoever runs them again.
   */
  removeIncomplete(): void {
    for (const id of this.packageIds()) {
      const m = this.manifest(id);
      if (!(m && (m.state === "normalized" || (m.state === "extracted" && m.format === PACKAGE_FORMAT)))) this.remove(id);
    }
  }

  /** The files of a pending package (dlt's jobs), with their sizes. */
  jobs(p: PendingPackage): PackageJob[] {
    const size = (f: string): number => {
      try {
        return statSync(f).size;
      } catch {
        return 0;
      }
    };
    if (p.state === "extracted") return p.roots.map((r) => ({ table: r.table, file: basename(r.file), bytes: size(r.file), rows: r.items }));
    return Object.entries(p.files).map(([table, f]) => ({ table, file: basename(f.path), bytes: size(f.path), rows: p.rows[table] ?? 0 }));
  }

  /** Records that loading a package failed; it stays in `packages/` for the next load. */
  recordFailure(loadId: string, failure: LoadFailure): void {
    writeAtomic(this.failureFile(loadId), JSON.stringify(failure));
  }

  /** The last failed load of a pending package, if any. */
  failure(loadId: string): LoadFailure | undefined {
    const v = readJson(this.failureFile(loadId));
    if (typeof v !== "object" || v === null) return undefined;
    const f = v as Record<string, unknown>;
    return {
      table: typeof f["table"] === "string" ? f["table"] : undefined,
      message: String(f["message"] ?? ""),
      failedAt: String(f["failedAt"] ?? ""),
    };
  }

  /** Moves a package whose commit went through to `loaded/`: its record stays, its files go. */
  markLoaded(p: NormalizedPackage, completedAt: Date): void {
    const record: LoadedPackage = {
      format: PACKAGE_FORMAT,
      loadId: p.loadId,
      state: "loaded",
      schemaName: p.schema.name,
      schemaVersion: p.schema.version,
      schemaVersionHash: p.schema.version_hash,
      completedAt: completedAt.toISOString(),
      jobs: this.jobs(p),
      ...(p.droppedTables ? { droppedTables: p.droppedTables } : {}),
    };
    mkdirSync(this.loadedDir, { recursive: true });
    writeAtomic(this.loadedRecord(p.loadId), JSON.stringify(record));
    this.remove(p.loadId);
  }

  /** Completed packages, oldest first. */
  loadedPackages(): LoadedPackage[] {
    let files: string[];
    try {
      files = readdirSync(this.loadedDir).filter((f) => f.endsWith(".json"));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw e;
    }
    const out: LoadedPackage[] = [];
    for (const id of files.map((f) => f.slice(0, -".json".length)).sort(byLoadId)) {
      const v = readJson(this.loadedRecord(id));
      if (typeof v === "object" && v !== null && (v as { state?: unknown }).state === "loaded") out.push(v as LoadedPackage);
    }
    return out;
  }

  /** The trace of the last run, or undefined (none yet, or one written by another version). */
  readTrace(): PipelineTrace | undefined {
    let v: unknown;
    try {
      v = readJson(this.traceFile);
    } catch {
      return undefined; // dlt does not guarantee traces across versions either: a trace that cannot be read is none
    }
    return v === undefined ? undefined : asTrace(v);
  }

  writeTrace(trace: PipelineTrace): void {
    mkdirSync(this.dir, { recursive: true });
    writeAtomic(this.traceFile, JSON.stringify(trace, null, 2));
  }

  /** Removes every pending package (`dlt pipeline <name> drop-pending-packages`). Returns their load ids. */
  removePending(): string[] {
    const ids = this.packageIds();
    for (const id of ids) this.remove(id);
    return ids;
  }

  /**
   * Removes everything this machine keeps of the pipeline but the lock (dlt's `_wipe_working_folder`): state,
   * schemas, packages, completed package records and the trace. The caller holds the lock.
   */
  wipe(): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
      throw e;
    }
    for (const n of names) if (n !== "run.lock") rmSync(join(this.dir, n), { recursive: true, force: true });
  }

  /**
   * Takes `run.lock` for one run (or step, or a command that changes the folder) and returns its release. Runs of
   * one pipeline take turns: a second run (in this or another process) fails with a clear error instead of removing
   * the first one's packages as leftovers. A lock whose process is gone (a crash) is taken over.
   */
  lock(pipelineName: string): () => void {
    mkdirSync(this.dir, { recursive: true });
    const file = join(this.dir, "run.lock");
    for (let attempt = 0; ; attempt++) {
      try {
        const fd = openSync(file, "wx", 0o600);
        try {
          writeSync(fd, String(process.pid));
        } finally {
          closeSync(fd);
        }
        return () => rmSync(file, { force: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        let pid = NaN;
        try {
          pid = Number(readFileSync(file, "utf8"));
        } catch {
          /* released meanwhile: try again */
        }
        if (attempt < 2 && (Number.isNaN(pid) ? !existsSync(file) : pid > 0 && pid !== process.pid && !alive(pid))) {
          if (!Number.isNaN(pid)) rmSync(file, { force: true });
          continue;
        }
        const who = pid === process.pid ? "in this process" : `in process ${Number.isNaN(pid) ? "?" : pid}`;
        throw new Error(`pipeline ${pipelineName} is already running ${who}; runs of one pipeline take turns (lock: ${file})`);
      }
    }
  }

  remove(loadId: string): void {
    rmSync(this.packageDir(loadId), { recursive: true, force: true });
  }
}

/** Whether a process exists (EPERM: it does, but is someone else's). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
