/**
 * `pipeline({...}).run(data)`: extract → normalize → load into DuckDB. Between the steps the data lives in a load
 * package on disk (`<data dir>/pipelines/<name>/packages/<load id>/`), so memory stays flat whatever the data size
 * and a package whose load failed is finished by the next run. Each step sends one `pipeline_<step>` telemetry
 * event (see `report.ts`).
 */
import { mkdirSync, rmSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { extract, type Extracted } from "./extract.js";
import { loadPackages } from "./load.js";
import { snakeCase } from "./naming.js";
import { Normalizer } from "./normalize.js";
import { dataDir, PipelineDir, type NormalizedPackage } from "./package.js";
import { Progress } from "./progress.js";
import { reported, stepReporter } from "./report.js";
import { isResource, resource, type Data, type Resource, type WriteDisposition } from "./resource.js";
import type { Schema, TableSchema } from "./schema.js";

/** Where and how a pipeline loads. */
export interface PipelineOptions {
  /** Names the DuckDB file (`<pipelineName>.duckdb`) and the pipeline's folder; an identifier. */
  readonly pipelineName: string;
  /** Only `duckdb` for now. */
  readonly destination: "duckdb";
  /** DuckDB schema to load into (default `<pipelineName>_dataset`). */
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
  /** `append` (default), `replace` (the table and its child tables) or `merge` (upsert on `primaryKey`). */
  readonly writeDisposition?: WriteDisposition;
  /** Column(s) identifying a row; required for `merge`. */
  readonly primaryKey?: string | readonly string[];
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
  /** Rows loaded per table, child tables included. */
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
  /** Absolute path of `<pipelineName>.duckdb`. */
  readonly dbPath: string;
  /** The pipeline's folder under the data dir: its schema and load packages. */
  readonly dir: string;
  private readonly pdir: PipelineDir;

  constructor(private readonly options: PipelineOptions) {
    if (!IDENT.test(options.pipelineName)) {
      throw new Error(`pipeline: pipelineName ${JSON.stringify(options.pipelineName)} must be an identifier (letters, digits, underscores)`);
    }
    if ((options.destination as string) !== "duckdb") {
      throw new Error(`pipeline: destination ${JSON.stringify(options.destination)} is not supported (supported: duckdb)`);
    }
    this.pipelineName = options.pipelineName;
    this.datasetName = snakeCase(options.datasetName ?? `${options.pipelineName}_dataset`);
    this.dbPath = resolve(options.workingDir ?? process.cwd(), `${options.pipelineName}.duckdb`);
    this.dir = join(dataDir(), "pipelines", options.pipelineName);
    this.pdir = new PipelineDir(this.dir);
  }

  /** The resources of a run: named resources as given, anything else as one resource named by `tableName`. */
  private resources(data: Data | Resource | readonly Resource[], opts: RunOptions): Resource[] {
    if (isResource(data)) return [data];
    if (Array.isArray(data) && data.length > 0 && data.every(isResource)) return [...(data as Resource[])];
    const name = opts.tableName ?? (typeof data === "function" && data.name !== "" ? data.name : undefined);
    if (!name) throw new Error("run: give options.tableName, or pass named resources (resource(data, { name }))");
    return [resource(data as Data, { name, ...(opts.writeDisposition ? { writeDisposition: opts.writeDisposition } : {}), ...(opts.primaryKey ? { primaryKey: opts.primaryKey } : {}) })];
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
      const extracted = await timed("extract", async () => {
        release = this.pdir.lock(this.pipelineName);
        return extract(this.pdir, this.resources(data, opts), new Progress("extract", "items", show));
      });
      // Packages a failed run left behind: normalized against, then loaded first (so loads keep their order).
      let waiting: NormalizedPackage[] = [];
      const pkg = await timed("normalize", async () => {
        try {
          waiting = this.pdir.pending(extracted.loadId);
          return this.normalize(extracted, waiting, new Progress("normalize", "items", show));
        } catch (e) {
          this.pdir.remove(extracted.loadId); // nothing of it can be loaded: a new run extracts again
          throw e;
        }
      });

      const tables: Record<string, number> = {};
      const loadIds: string[] = [];
      await timed("load", () =>
        loadPackages(this.dbPath, this.datasetName, this.pipelineName, [...waiting, pkg], (p, committed) => {
          this.pdir.writeSchema(p.schema);
          this.pdir.remove(p.loadId);
          if (!committed) return;
          loadIds.push(p.loadId);
          for (const [t, n] of Object.entries(p.rows)) tables[t] = (tables[t] ?? 0) + n;
        }),
      );
      return loadInfo(this, loadIds, tables, elapsed);
    } finally {
      release?.();
    }
  }

  private normalize(ex: Extracted, waiting: readonly NormalizedPackage[], progress: Progress): NormalizedPackage {
    const schema: Schema = this.pdir.readSchema();
    // Packages waiting to be loaded were normalized against a newer schema than the last loaded one. Copies: this
    // run's schema evolves (a new write disposition, new columns), theirs must stay as they will be loaded.
    for (const m of waiting) Object.assign(schema.tables, structuredClone(m.schema.tables));
    const outDir = join(ex.dir, "normalized");
    mkdirSync(outDir, { recursive: true });
    const n = new Normalizer(schema, outDir, progress);
    let out: ReturnType<Normalizer["close"]>;
    try {
      for (const r of ex.roots) n.root(this.rootTable(schema, r.table, r.resource), r.file);
    } finally {
      out = n.close();
    }
    const pkg: NormalizedPackage = {
      loadId: ex.loadId,
      state: "normalized",
      roots: [...new Set(ex.roots.map((r) => r.table))],
      files: out.files,
      rows: out.rows,
      schema,
    };
    this.pdir.markNormalized(pkg);
    rmSync(join(ex.dir, "extracted"), { recursive: true, force: true });
    return pkg;
  }

  /** The root table's schema with this run's write disposition and primary key (earlier ones when not given). */
  private rootTable(schema: Schema, name: string, res: Resource): TableSchema {
    const existing = schema.tables[name];
    const wd = res.writeDisposition ?? existing?.writeDisposition ?? "append";
    const pk = res.primaryKey.length > 0 ? res.primaryKey.map(snakeCase) : (existing?.primaryKey ?? []);
    if (wd === "merge" && pk.length === 0) throw new Error(`run: table ${name} uses merge but has no primary key`);
    const t: TableSchema = existing ?? { name, columns: {}, writeDisposition: wd, primaryKey: pk };
    t.writeDisposition = wd;
    t.primaryKey = pk;
    for (const c of Object.values(schema.tables)) if (c.parent !== undefined && c.name.startsWith(`${name}__`)) c.writeDisposition = wd;
    schema.tables[name] = t;
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
