/**
 * `pipeline({...}).run(data)`: extract → normalize → load into DuckDB. Between the steps the data lives in a load
 * package on disk (`<data dir>/pipelines/<name>/packages/<load id>/`), so memory stays flat whatever the data size
 * and a package whose load failed is finished by the next run. The dataset is the one dlt would make of the same
 * data: its tables and columns, its system tables (`_dlt_version`, `_dlt_loads`, `_dlt_pipeline_state`), and a
 * pipeline state from which a pipeline without its local folder is restored (`sync.ts`). Each step sends one
 * `pipeline_<step>` telemetry event (see `report.ts`).
 */
import { mkdirSync, rmSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { extract, type Extracted } from "./extract.js";
import { loadPackages } from "./load.js";
import { normalizeIdentifier, normalizePath } from "./naming.js";
import { Normalizer } from "./normalize.js";
import { PipelineDir, type NormalizedPackage, PACKAGE_FORMAT } from "./package.js";
import { Progress } from "./progress.js";
import { reported, stepReporter } from "./report.js";
import { isResource, resource, type Data, type Resource, type WriteDisposition } from "./resource.js";
import {
  bumpVersion,
  C,
  dltColumn,
  isUnder,
  newSchema,
  propagateRootKey,
  requiresRootKey,
  STATE_TABLE,
  stateTable,
  type StoredSchema,
  type TableSchema,
} from "./schema.js";
import { bumpStateVersion, newState, stateDoc, type PipelineState, type StateDoc } from "./state.js";
import { syncDestination, type SyncResult } from "./sync.js";

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

/** How to load data that is not a named resource (a resource's own settings win). */
export interface RunOptions {
  /** Table to load into (default: the name of a named function given as data). */
  readonly tableName?: string;
  /** `append` (default), `replace` (the table and its nested tables) or `merge` (upsert on `primaryKey`). */
  readonly writeDisposition?: WriteDisposition;
  /** Column(s) identifying a row; required for `merge`. */
  readonly primaryKey?: string | readonly string[];
  /** Levels of nesting turned into columns and nested tables (dlt's `max_table_nesting`); deeper values stay JSON. */
  readonly maxTableNesting?: number;
}

/** What a run loaded. */
export interface LoadInfo {
  readonly pipelineName: string;
  readonly datasetName: string;
  readonly destination: "duckdb";
  /** Absolute path of the DuckDB file. */
  readonly dbPath: string;
  /** Packages loaded by this run, in order (one a failed earlier run left behind comes first). */
  readonly loadIds: readonly string[];
  /** Rows loaded per table, nested tables included. */
  readonly tables: Readonly<Record<string, number>>;
  /** Total rows loaded. */
  readonly rows: number;
  /** Seconds each step took. */
  readonly elapsed: { readonly extract: number; readonly normalize: number; readonly load: number };
  /** One line, e.g. `Loaded 2 tables (1,234 rows) into chess.duckdb/chess_data in 1.2 s (load id 1732…)`. */
  toString(): string;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A pipeline into one DuckDB file and dataset. Create it with {@link pipeline}. */
export class Pipeline {
  readonly pipelineName: string;
  readonly datasetName: string;
  /** The schema the pipeline's tables are described in: the pipeline name, normalized (as dlt names it). */
  readonly schemaName: string;
  /** Absolute path of `<pipelineName>.duckdb`. */
  readonly dbPath: string;
  /** The pipeline's folder under the data dir: its state, schema and load packages. */
  readonly dir: string;
  private readonly pdir: PipelineDir;
  /** Whether this object synced with the destination already (dlt syncs once per pipeline object). */
  private synced = false;

  constructor(private readonly options: PipelineOptions) {
    if (!IDENT.test(options.pipelineName)) {
      throw new Error(`pipeline: pipelineName ${JSON.stringify(options.pipelineName)} must be an identifier (letters, digits, underscores)`);
    }
    if ((options.destination as string) !== "duckdb") {
      throw new Error(`pipeline: destination ${JSON.stringify(options.destination)} is not supported (supported: duckdb)`);
    }
    this.pipelineName = options.pipelineName;
    this.schemaName = normalizeIdentifier(options.pipelineName);
    this.pdir = PipelineDir.of(options.pipelineName);
    this.dir = this.pdir.dir;
    const dataset = options.datasetName ?? this.pdir.readState()?.dataset_name ?? `${options.pipelineName}_dataset`;
    this.datasetName = normalizeIdentifier(dataset);
    this.dbPath = resolve(options.workingDir ?? process.cwd(), `${options.pipelineName}.duckdb`);
  }

  /** The resources of a run: named resources as given, anything else as one resource named by `tableName`. */
  private resources(data: Data | Resource | readonly Resource[], opts: RunOptions): Resource[] {
    if (isResource(data)) return [data];
    if (Array.isArray(data) && data.length > 0 && data.every(isResource)) return [...(data as Resource[])];
    const name = opts.tableName ?? (typeof data === "function" && data.name !== "" ? data.name : undefined);
    if (!name) throw new Error("run: give options.tableName, or pass named resources (resource(data, { name }))");
    const { writeDisposition, primaryKey, maxTableNesting } = opts;
    return [resource(data as Data, { name, ...(writeDisposition ? { writeDisposition } : {}), ...(primaryKey ? { primaryKey } : {}), ...(maxTableNesting !== undefined ? { maxTableNesting } : {}) })];
  }

  /**
   * Restores the pipeline's state and schemas from its destination where the destination's are newer (or missing
   * here), as dlt's `sync_destination` does: what `run` does before its first extract, on demand. Use it on a new
   * machine, or after the pipeline's folder was removed.
   * @example
   * const { restoredStateVersion, restoredSchemas } = await pipeline({ pipelineName: "chess", destination: "duckdb" }).syncDestination();
   */
  async syncDestination(): Promise<SyncResult> {
    const release = this.pdir.lock(this.pipelineName);
    try {
      return await this.sync();
    } finally {
      release();
    }
  }

  private async sync(): Promise<SyncResult> {
    const r = await syncDestination({ pipelineName: this.pipelineName, datasetName: this.datasetName, dbPath: this.dbPath, pdir: this.pdir });
    this.synced = true;
    return r;
  }

  /**
   * Extracts, normalizes and loads `data`: JSON-like objects from an array, (async) iterable, (async) generator or
   * a function returning one, or named resources. A step's error reaches the caller unchanged; the data already
   * loaded stays as it was.
   * @example
   * const info = await pipeline({ pipelineName: "shop", destination: "duckdb" }).run([{ id: 1 }], { tableName: "items" });
   * console.log(info.toString());
   */
  async run(data: Data | Resource | readonly Resource[], opts: RunOptions = {}): Promise<LoadInfo> {
    const started = performance.now();
    const report = stepReporter(this.options.destination, started);
    const show = this.options.progress !== false && process.stderr.isTTY === true;
    const elapsed = { extract: 0, normalize: 0, load: 0 };
    const timed = async <T>(step: keyof typeof elapsed, fn: () => Promise<T>): Promise<T> => {
      const t0 = performance.now();
      try {
        return await reported(report, step, fn);
      } finally {
        elapsed[step] = (performance.now() - t0) / 1000;
      }
    };

    let release: (() => void) | undefined;
    try {
      let state!: PipelineState;
      const extracted = await timed("extract", async () => {
        release = this.pdir.lock(this.pipelineName);
        state = this.synced ? this.state() : (await this.sync()).state;
        this.withProps(state);
        return extract(this.pdir, this.resources(data, opts), new Progress("extract", "items", show));
      });
      // Packages a failed run left behind: normalized against, then loaded first (so loads keep their order).
      let waiting: NormalizedPackage[] = [];
      const pkg = await timed("normalize", async () => {
        try {
          waiting = this.pdir.pending(extracted.loadId);
          return this.normalize(extracted, waiting, state, new Progress("normalize", "items", show));
        } catch (e) {
          this.pdir.remove(extracted.loadId); // nothing of it can be loaded: a new run extracts again
          throw e;
        }
      });

      const tables: Record<string, number> = {};
      const loadIds: string[] = [];
      await timed("load", () =>
        loadPackages(this.dbPath, this.datasetName, [...waiting, pkg], (p, committed) => {
          this.pdir.writeSchema(p.schema);
          this.pdir.remove(p.loadId);
          if (!committed) return;
          loadIds.push(p.loadId);
          for (const [t, n] of Object.entries(p.rows)) tables[t] = (tables[t] ?? 0) + n;
        }),
      );
      if (state._local.first_run) {
        state._local.first_run = false;
        this.pdir.writeState(state);
      }
      return loadInfo(this, loadIds, tables, elapsed);
    } finally {
      release?.();
    }
  }

  /** The local state, or a new one. */
  private state(): PipelineState {
    return this.pdir.readState() ?? newState(this.pipelineName, this.datasetName, dirname(this.dbPath));
  }

  /** This pipeline's names in its state (dlt's `_props_to_state`), with the version bumped if anything changed. */
  private withProps(state: PipelineState): void {
    state.dataset_name = this.datasetName;
    state.default_schema_name ??= this.schemaName;
    if (!state.schema_names.includes(this.schemaName)) state.schema_names = [...state.schema_names, this.schemaName].sort();
    bumpStateVersion(state);
  }

  private normalize(ex: Extracted, waiting: readonly NormalizedPackage[], state: PipelineState, progress: Progress): NormalizedPackage {
    // The newest schema: of the last package waiting to be loaded (normalized against everything before it; a copy,
    // as this run's changes must not alter how it loads), else of the last load.
    const last = waiting.at(-1)?.schema;
    const schema: StoredSchema = last ? structuredClone(last) : (this.pdir.readSchema(this.schemaName) ?? newSchema(this.schemaName));
    const outDir = join(ex.dir, "normalized");
    mkdirSync(outDir, { recursive: true });
    const n = new Normalizer(schema, outDir, progress);
    let out: ReturnType<Normalizer["close"]>;
    try {
      for (const r of ex.roots) n.root(this.rootTable(schema, r.table, r.resource), r.file);
    } finally {
      out = n.close();
    }
    // A state version not yet in any package goes with this one (dlt extracts the state when its hash changed).
    let doc: StateDoc | undefined;
    if (state._version_hash !== state._local._last_extracted_hash) {
      doc = stateDoc(state, new Date());
      schema.tables[STATE_TABLE] ??= stateTable();
    }
    bumpVersion(schema);
    const pkg: NormalizedPackage = {
      format: PACKAGE_FORMAT,
      loadId: ex.loadId,
      state: "normalized",
      roots: [...new Set(ex.roots.map((r) => r.table))],
      files: out.files,
      rows: out.rows,
      schema,
      ...(doc ? { stateDoc: doc } : {}),
    };
    this.pdir.markNormalized(pkg);
    rmSync(join(ex.dir, "extracted"), { recursive: true, force: true });
    if (doc) {
      state._local._last_extracted_hash = state._version_hash!;
      state._local._last_extracted_at = doc.created_at;
    }
    this.pdir.writeState(state);
    return pkg;
  }

  /**
   * The root table's schema with this run's write disposition, primary key and nesting level (earlier ones when
   * not given), as dlt applies a resource's hints to its table.
   */
  private rootTable(schema: StoredSchema, name: string, res: Resource): TableSchema {
    const t: TableSchema = (schema.tables[name] ??= { name, columns: {}, write_disposition: "append", resource: name });
    if (t.parent !== undefined) throw new Error(`run: table ${name} is a nested table of ${t.parent} and cannot be loaded as a root table`);
    if (res.writeDisposition) t.write_disposition = res.writeDisposition;
    if (res.primaryKey.length > 0) {
      // The primary key is one compound hint: naming it again replaces it (dlt's compound props).
      for (const c of Object.values(t.columns)) delete c.primary_key;
      for (const k of res.primaryKey.map(normalizePath)) {
        const c = (t.columns[k] ??= { name: k, nullable: false });
        c.nullable = false;
        c.primary_key = true;
      }
    }
    if (res.maxTableNesting !== undefined) t["x-normalizer"] = { ...t["x-normalizer"], max_nesting: res.maxTableNesting };
    if (t.write_disposition === "merge" && !Object.values(t.columns).some((c) => c.primary_key)) {
      throw new Error(`run: table ${name} uses merge but has no primary key`);
    }
    if (requiresRootKey(schema, t)) {
      propagateRootKey(schema, name);
      // Nested tables loaded before the root key was needed get it too, so a merge finds all their rows.
      for (const nt of Object.values(schema.tables)) {
        if (nt.parent !== undefined && isUnder(nt.name, name) && nt.columns[C.id]) nt.columns[C.rootId] ??= dltColumn(C.rootId);
      }
    }
    return t;
  }
}

function loadInfo(p: Pipeline, loadIds: string[], tables: Record<string, number>, elapsed: LoadInfo["elapsed"]): LoadInfo {
  const rows = Object.values(tables).reduce((a, b) => a + b, 0);
  const total = elapsed.extract + elapsed.normalize + elapsed.load;
  const line =
    `Loaded ${Object.keys(tables).length} ${Object.keys(tables).length === 1 ? "table" : "tables"} (${rows.toLocaleString("en-US")} ${rows === 1 ? "row" : "rows"}) ` +
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
 * Creates a pipeline.
 * @example
 * const p = pipeline({ pipelineName: "chess", destination: "duckdb", datasetName: "chess_data" });
 * const info = await p.run(players, { tableName: "players", writeDisposition: "merge", primaryKey: "player_id" });
 */
export function pipeline(options: PipelineOptions): Pipeline {
  return new Pipeline(options);
}
