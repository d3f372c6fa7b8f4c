/**
 * `pipeline({...})`: extract → normalize → load into DuckDB, as one `run(data)` or as dlt's separate steps
 * `extract(data)`, `normalize()`, `load()`. Between the steps the data lives in a load package on disk
 * (`package.ts`), so memory stays flat whatever the data size, a step may run in another process than the one
 * before it, and a package whose load failed is finished by the next load. The dataset is the one dlt would make of
 * the same data: its tables and columns, its system tables (`_dlt_version`, `_dlt_loads`, `_dlt_pipeline_state`),
 * and a pipeline state from which a pipeline without its local folder is restored (`sync.ts`).
 *
 * `Pipeline` is a facade, as dlt's `Pipeline` hands each step to its runner: the steps' work is `extract.ts`,
 * `normalize-packages.ts` and `load.ts`'s; `step.ts` is where each step starts, reports and ends; the state's
 * bookkeeping is `state.ts`'s, package info `info.ts`'s, dropping tables `drop.ts`'s, restoring `sync.ts`'s.
 *
 * Each top-level call is traced as dlt's `with_runtime_trace` traces it (`step.ts`, `trace.ts`): its steps share
 * one `transaction_id`, each sends one `pipeline_<step>` telemetry event when it ends (`report.ts`), and the trace
 * is kept as `lastTrace`. A step that fails throws {@link PipelineStepFailed} naming the step and the package.
 */
import { dirname, resolve } from "node:path";
import { applyDrop, planDrop, type DropPlan, type DropResult } from "./drop.js";
import { PipelineHasPendingData, PipelineNotFound, stepFailed, type PipelineStepFailed } from "./errors.js";
import { extract } from "./extract.js";
import {
  extractInfo,
  failedJobs,
  loadInfo,
  loadPackageInfo,
  normalizeInfo,
  type StepTotals,
  type ExtractInfo,
  type FailedJob,
  type LoadInfo,
  type LoadPackageInfo,
  type NormalizeInfo,
} from "./info.js";
import { readDataset } from "./inspect.js";
import { loadPending } from "./load.js";
import { normalizeIdentifier } from "./naming.js";
import { normalizePackages } from "./normalize-packages.js";
import { PipelineDir, pipelinesDir } from "./package.js";
import { Progress } from "./progress.js";
import { resourcesOf, type Data, type Resource, type RunOptions } from "./resource.js";
import type { StoredSchema } from "./schema.js";
import { forceStateExtract, newState, propsToState, runDirOf, type PipelineState } from "./state.js";
import { measureStep, noSeconds, StepRunner } from "./step.js";
import { storedStateVersion, syncDestination, type SyncResult } from "./sync.js";
import type { PipelineTrace } from "./trace.js";

export type { ExtractInfo, NormalizeInfo, LoadInfo } from "./info.js";
export type { RunOptions } from "./resource.js";

/** Where and how a pipeline loads. */
export interface PipelineOptions {
  /** Names the DuckDB file (`<pipelineName>.duckdb`) and the pipeline's folder; an identifier. */
  readonly pipelineName: string;
  /** Only `duckdb` for now. */
  readonly destination: "duckdb";
  /** DuckDB schema to load into (default: the one in the pipeline's state, else `<pipelineName>_dataset`). */
  readonly datasetName?: string;
  /** Folder of `<pipelineName>.duckdb` (default: the working directory). */
  readonly workingDir?: string;
  /**
   * Progress (items, items/s) of a step that takes longer than half a second, on stderr when it is a TTY (default
   * true; elsewhere, and for short steps, `run` prints nothing). `false` keeps a terminal quiet too.
   */
  readonly progress?: boolean;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A pipeline into one DuckDB file and dataset. Create it with {@link pipeline}, or {@link attach} to one that ran. */
export class Pipeline {
  readonly pipelineName: string;
  readonly datasetName: string;
  /** The schema the pipeline's tables are described in: the pipeline name, normalized (as dlt names it). */
  readonly schemaName: string;
  /** Absolute path of `<pipelineName>.duckdb`. */
  readonly dbPath: string;
  /** The pipeline's folder under the data dir: its state, schema, load packages and last trace. */
  readonly dir: string;
  private readonly folder: PipelineDir;
  /** Whether this object synced with the destination already (dlt syncs once per pipeline object). */
  private synced = false;
  /** Where every step starts, reports and ends, with the trace. */
  private readonly steps: StepRunner;

  constructor(private readonly options: PipelineOptions) {
    if (!IDENT.test(options.pipelineName)) {
      throw new Error(`pipeline: pipelineName ${JSON.stringify(options.pipelineName)} must be an identifier (letters, digits, underscores)`);
    }
    if ((options.destination as string) !== "duckdb") {
      throw new Error(`pipeline: destination ${JSON.stringify(options.destination)} is not supported (supported: duckdb)`);
    }
    this.pipelineName = options.pipelineName;
    this.schemaName = normalizeIdentifier(options.pipelineName);
    this.folder = PipelineDir.of(options.pipelineName);
    this.dir = this.folder.dir;
    const dataset = options.datasetName ?? this.folder.readState()?.dataset_name ?? `${options.pipelineName}_dataset`;
    this.datasetName = normalizeIdentifier(dataset);
    this.dbPath = resolve(options.workingDir ?? process.cwd(), `${options.pipelineName}.duckdb`);
    const { pipelineName, datasetName, dbPath, folder } = this;
    this.steps = new StepRunner({ pipelineName, datasetName, dbPath, destination: options.destination, folder });
  }

  // ---------------------------------------------------------------------------------------------------- steps

  /**
   * Extracts, normalizes and loads `data`: JSON-like objects from an array, (async) iterable, (async) generator or
   * a function returning one, or named resources. Packages a failed run left behind are normalized and loaded
   * first. Without `data`, it finishes what is pending. A failed step throws {@link PipelineStepFailed} (its
   * `cause` is the original error); the data already loaded stays as it was.
   * @example
   * const info = await pipeline({ pipelineName: "shop", destination: "duckdb" }).run([{ id: 1 }], { tableName: "items" });
   * console.log(info.toString());
   */
  async run(data?: Data | Resource | readonly Resource[], opts: RunOptions = {}): Promise<LoadInfo> {
    return this.locked(() =>
      this.steps.run("run", async () => {
        const elapsed = noSeconds();
        if (data !== undefined) await measureStep(elapsed, "extract", () => this.extractStep(data, opts));
        else await this.syncOnce();
        await measureStep(elapsed, "normalize", () => this.normalizeStep());
        const loaded = await measureStep(elapsed, "load", () => this.loadStep());
        return loadInfo(this, loaded.loadIds, { ...loaded.tables }, elapsed);
      }),
    );
  }

  /**
   * dlt's `extract`: reads `data` into a new load package on disk, to be normalized by {@link normalize} (now, or
   * in another process). Sends `pipeline_extract`.
   * @example
   * await p.extract(resource(players, { writeDisposition: "merge", primaryKey: "id" }));
   * await p.normalize();
   * await p.load();
   */
  async extract(data: Data | Resource | readonly Resource[], opts: RunOptions = {}): Promise<ExtractInfo> {
    return this.locked(() => this.extractStep(data, opts));
  }

  /**
   * dlt's `normalize`: turns every extracted package into rows per table against the pipeline's schema, oldest
   * first. A package that cannot be normalized is removed (its data is extracted again by a new run). Sends
   * `pipeline_normalize`.
   */
  async normalize(): Promise<NormalizeInfo> {
    return this.locked(() => this.normalizeStep());
  }

  /**
   * dlt's `load`: loads every normalized package into DuckDB, oldest first, each in one transaction. A package
   * whose load fails stays for the next load, with the table and DuckDB's error recorded (`listFailedJobs`). Sends
   * `pipeline_load`.
   */
  async load(): Promise<LoadInfo> {
    return this.locked(async () => {
      const elapsed = noSeconds();
      const loaded = await measureStep(elapsed, "load", () => this.loadStep());
      return loadInfo(this, loaded.loadIds, { ...loaded.tables }, elapsed);
    });
  }

  private extractStep(data: Data | Resource | readonly Resource[], opts: RunOptions): Promise<ExtractInfo> {
    return this.steps.run("extract", async (processing) => {
      const state = await this.syncOnce();
      propsToState(state, this);
      this.folder.writeState(state);
      return extractInfo(this.pipelineName, await extract(this.folder, resourcesOf(data, opts), this.progress("extract"), processing));
    });
  }

  private normalizeStep(): Promise<NormalizeInfo> {
    return this.steps.run("normalize", async (processing) => {
      const target = { folder: this.folder, schemaName: this.schemaName, state: () => this.localState() };
      const normalized = normalizePackages(target, () => this.progress("normalize"), processing);
      return normalizeInfo(this.pipelineName, normalized.loadIds, normalized.tables);
    });
  }

  private loadStep(): Promise<StepTotals> {
    return this.steps.run("load", (processing) => loadPending(this.folder, this, processing, new Progress("load", "rows", this.showsProgress)));
  }

  /** Throws {@link PipelineHasPendingData} when packages are pending: a drop would be undone by their load. */
  private refusePending(): void {
    const pending = this.folder.pendingPackages();
    if (pending.length > 0)
      throw new PipelineHasPendingData(
        this.pipelineName,
        pending.map((p) => p.loadId),
      );
  }

  /** Runs `fn` holding the pipeline's run lock: runs, steps and commands that change the folder take turns. */
  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    const release = this.folder.lock(this.pipelineName);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  // ------------------------------------------------------------------------------------------- state and sync

  /**
   * Restores the pipeline's state and schemas from its destination where the destination's are newer (or missing
   * here), as dlt's `sync_destination` does: what the first extract of a `Pipeline` object does first, on demand.
   * Use it on a new machine, or after the pipeline's folder was removed.
   * @example
   * const { restoredStateVersion, restoredSchemas } = await pipeline({ pipelineName: "chess", destination: "duckdb" }).syncDestination();
   */
  async syncDestination(): Promise<SyncResult> {
    return this.locked(() => this.sync());
  }

  /**
   * What `dlt pipeline <name> sync` does (dlt drops the local state, then syncs): when the destination holds a
   * state of this pipeline, everything this machine keeps of it (state, schemas, pending packages, trace) is
   * replaced by the destination's state and schemas.
   * @throws when the destination holds no state of this pipeline (the local folder is then left as it was).
   */
  async restoreFromDestination(): Promise<SyncResult> {
    // Looked up before the lock is taken, which makes the pipeline's folder: a pipeline not found leaves none.
    if ((await storedStateVersion(this)) === undefined) {
      throw new Error(
        `pipeline ${this.pipelineName} was not found in dataset ${this.datasetName} of ${this.dbPath}: nothing was restored, and the local folder was left as it was`,
      );
    }
    return this.locked(async () => {
      this.folder.wipe();
      this.steps.forgetLastTrace();
      return this.sync();
    });
  }

  private async sync(): Promise<SyncResult> {
    const r = await syncDestination({ pipelineName: this.pipelineName, datasetName: this.datasetName, dbPath: this.dbPath, folder: this.folder });
    this.synced = true;
    return r;
  }

  /** The state after this object's one sync with the destination (a failure names the step `sync`). */
  private async syncOnce(): Promise<PipelineState> {
    if (this.synced) return this.localState();
    try {
      return (await this.sync()).state;
    } catch (e) {
      throw stepFailed(this.folder, this.pipelineName, "sync", undefined, e);
    }
  }

  /** The state on this machine, or the one a pipeline that never ran here starts with (not written yet). */
  private localState(): PipelineState {
    return this.folder.readState() ?? newState(this.pipelineName, this.datasetName, dirname(this.dbPath));
  }

  /** The pipeline state on this machine (dlt's `state`), or undefined when the pipeline never ran here. */
  get state(): PipelineState | undefined {
    return this.folder.readState();
  }

  /** The names of the schemas stored here. */
  get schemaNames(): string[] {
    return this.folder.schemaNames();
  }

  /** A stored schema (default: the pipeline's default schema), as of the last load; undefined when none. */
  schema(name?: string): StoredSchema | undefined {
    const n = name ?? this.state?.default_schema_name ?? this.schemaName;
    return this.folder.readSchema(n);
  }

  /**
   * The trace of the last run (dlt's `last_trace`): its steps with their timing, packages and rows per table, and
   * the error of a step that failed. Kept in the pipeline's folder, so it is there for another process too.
   */
  get lastTrace(): PipelineTrace | undefined {
    return this.steps.lastTrace;
  }

  // --------------------------------------------------------------------------------------------- packages

  /** Whether packages wait to be normalized or loaded (dlt's `has_pending_data`). */
  get hasPendingData(): boolean {
    return this.folder.pendingPackages().length > 0;
  }

  /** Load ids of the packages waiting to be normalized, oldest first. */
  listExtractedLoadPackages(): string[] {
    return this.folder.extractedPackages().map((p) => p.loadId);
  }

  /** Load ids of the packages waiting to be loaded (one whose load failed included), oldest first. */
  listNormalizedLoadPackages(): string[] {
    return this.folder.normalizedPackages().map((p) => p.loadId);
  }

  /** Load ids of the completed packages, oldest first. */
  listCompletedLoadPackages(): string[] {
    return this.folder.loadedPackages().map((p) => p.loadId);
  }

  /**
   * A package: its state, jobs (one file per table) with their sizes and rows, and the failure of its last load.
   * @throws when no package has this load id, naming it and the pipeline.
   */
  getLoadPackageInfo(loadId: string): LoadPackageInfo {
    return loadPackageInfo(this.folder, this.pipelineName, loadId);
  }

  /** The jobs whose last load failed, with DuckDB's error, in every package waiting to be loaded. */
  listFailedJobs(): FailedJob[] {
    return failedJobs(this.folder, this.pipelineName);
  }

  /**
   * Deletes every package waiting to be normalized or loaded (dlt's `drop_pending_packages`). The state is not
   * rolled back; its current version is loaded again with the next package, so the destination keeps up.
   * Returns the load ids dropped.
   */
  async dropPendingPackages(): Promise<string[]> {
    return this.locked(async () => {
      const dropped = this.folder.removePending();
      const state = this.state;
      if (dropped.length > 0 && state && forceStateExtract(state)) this.folder.writeState(state);
      return dropped;
    });
  }

  // ------------------------------------------------------------------------------------------------- drop

  /**
   * Plans dropping root tables (dlt's resources) with their nested tables: what `drop` will do, to show first (dlt's
   * `pipeline_drop(...).info`). Syncs with the destination first, as dlt's drop does.
   * @throws when packages are pending ({@link PipelineHasPendingData}: they would load the tables again), the
   *   pipeline has no schema yet, or a table is not one of its root tables (naming it).
   */
  async prepareDrop(tables: readonly string[]): Promise<DropPlan> {
    return this.locked(async () => {
      this.refusePending();
      const state = await this.syncOnce();
      const schema = this.schema(state.default_schema_name ?? this.schemaName);
      if (!schema) throw new Error(`pipeline ${this.pipelineName} has not loaded anything yet: it has no tables to drop`);
      const inDestination = new Set(Object.keys((await readDataset(this.dbPath, this.datasetName, 0)).tables));
      return planDrop(this, schema, state, tables, inDestination);
    });
  }

  /**
   * Applies a drop planned by {@link prepareDrop}, as dlt does: one load package drops the tables in DuckDB,
   * replaces the schema's stored versions with the new one and loads the new state, in one transaction; then the
   * local schema and state follow. On a failure nothing changed.
   * @throws when packages are pending ({@link PipelineHasPendingData}), the schema changed since the plan, or the
   *   load failed ({@link PipelineStepFailed}).
   */
  async drop(plan: DropPlan): Promise<DropResult> {
    return this.locked(async () => {
      this.refusePending();
      return applyDrop(this.folder, this, plan);
    });
  }

  // ---------------------------------------------------------------------------------------------- internals

  /** A progress line for a step: shown when asked for (the default) and stderr is a TTY. */
  private progress(step: "extract" | "normalize"): Progress {
    return new Progress(step, "items", this.showsProgress);
  }

  private get showsProgress(): boolean {
    return this.options.progress !== false && process.stderr.isTTY === true;
  }
}

/**
 * Creates a pipeline.
 * @example
 * const p = pipeline({ pipelineName: "chess", destination: "duckdb", datasetName: "chess_data" });
 * const info = await p.run(players, { tableName: "players", writeDisposition: "merge", primaryKey: "player_id" });
 */
export function pipeline(options: PipelineOptions): Pipeline {
  return new Pipeline(options);
}

/**
 * A pipeline that ran on this machine, from its folder (dlt's `dlt.attach`): its dataset and the DuckDB file of its
 * last load, as its state remembers them.
 * @throws {@link PipelineNotFound} when it has no folder here.
 * @example
 * const trace = attach("chess").lastTrace;
 */
export function attach(pipelineName: string, options: { readonly progress?: boolean } = {}): Pipeline {
  if (!IDENT.test(pipelineName)) throw new PipelineNotFound(pipelineName, pipelinesDir());
  const state = PipelineDir.of(pipelineName).readState();
  if (!state) throw new PipelineNotFound(pipelineName, pipelinesDir());
  const workingDir = runDirOf(state);
  return new Pipeline({
    pipelineName,
    destination: "duckdb",
    datasetName: state.dataset_name,
    ...(workingDir ? { workingDir } : {}),
    ...(options.progress !== undefined ? { progress: options.progress } : {}),
  });
}
