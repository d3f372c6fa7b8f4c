/**
 * `pipeline({...}).run(data)`: extract → normalize → load into DuckDB, with a load package on disk between steps
 * (`<data dir>/pipelines/<name>/packages/<load id>/`) so a failed load is finished by the next run, and one
 * `pipeline_<step>` telemetry event per step sharing a random `transaction_id`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { dltEvents, asDestination } from "../events.js";
import { dltTelemetry } from "../telemetry.js";
import { LineWriter } from "./files.js";
import { newLoadId } from "./ids.js";
import { loadPackage } from "./load.js";
import { snakeCase } from "./naming.js";
import { Normalizer } from "./normalize.js";
import { isResource, iterate, type Data, type Item, type Resource, type WriteDisposition } from "./resource.js";
import type { Schema } from "./schema.js";

/** Where and how a pipeline loads. */
export interface PipelineOptions {
  readonly pipelineName: string;
  /** Only `duckdb` for now. */
  readonly destination: "duckdb";
  /** DuckDB schema to load into (default `<pipelineName>_dataset`). */
  readonly datasetName?: string;
  /** Folder of `<pipelineName>.duckdb` (default: the working directory). */
  readonly workingDir?: string;
  /** Show progress on stderr when it is a TTY (default true). */
  readonly progress?: boolean;
}

/** What to load, when the data is not a named resource. */
export interface RunOptions {
  readonly tableName?: string;
  readonly writeDisposition?: WriteDisposition;
  readonly primaryKey?: string | readonly string[];
}

/** What a run loaded. */
export interface LoadInfo {
  readonly pipelineName: string;
  readonly datasetName: string;
  readonly destination: "duckdb";
  readonly dbPath: string;
  /** Load ids loaded by this run (a package left by a failed earlier run comes first). */
  readonly loadIds: readonly string[];
  /** Rows loaded per table (child tables included). */
  readonly tables: Readonly<Record<string, number>>;
  /** Seconds per step. */
  readonly elapsed: { readonly extract: number; readonly normalize: number; readonly load: number };
  /** One line: `Loaded 3 tables (1,234 rows) into chess.duckdb/chess_data in 1.2 s (load id …)`. */
  toString(): string;
}

interface PackageManifest {
  loadId: string;
  state: "extracted" | "normalized";
  roots: string[];
  files: Record<string, string>;
  rows: Record<string, number>;
  schema: Schema;
}

function dataDir(): string {
  const d = process.env["DLT_DATA_DIR"];
  return d && d !== "" ? d : join(process.env["HOME"] || homedir(), ".dlt");
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class Pipeline {
  readonly pipelineName: string;
  readonly datasetName: string;
  readonly dbPath: string;
  readonly dir: string;

  constructor(private readonly options: PipelineOptions) {
    if (!IDENT.test(options.pipelineName)) throw new Error(`pipeline: pipelineName ${JSON.stringify(options.pipelineName)} must be an identifier`);
    if (options.destination !== "duckdb") throw new Error(`pipeline: destination ${JSON.stringify(options.destination)} is not supported (supported: duckdb)`);
    this.pipelineName = options.pipelineName;
    this.datasetName = snakeCase(options.datasetName ?? `${options.pipelineName}_dataset`);
    this.dbPath = resolve(options.workingDir ?? process.cwd(), `${options.pipelineName}.duckdb`);
    this.dir = join(dataDir(), "pipelines", options.pipelineName);
  }

  private get schemaFile(): string {
    return join(this.dir, "schema.json");
  }

  private readSchema(): Schema {
    try {
      return JSON.parse(readFileSync(this.schemaFile, "utf8")) as Schema;
    } catch {
      return { version: 1, tables: {} };
    }
  }

  private packagesDir(): string {
    return join(this.dir, "packages");
  }

  /** Packages left normalized by a failed load, oldest first (`current`, the run's own package, is skipped). */
  private pendingPackages(current: string): PackageManifest[] {
    if (!existsSync(this.packagesDir())) return [];
    const out: PackageManifest[] = [];
    for (const id of readdirSync(this.packagesDir()).sort()) {
      if (id === current) continue;
      try {
        const m = JSON.parse(readFileSync(join(this.packagesDir(), id, "package.json"), "utf8")) as PackageManifest;
        if (m.state === "normalized") out.push(m);
        else rmSync(join(this.packagesDir(), id), { recursive: true, force: true }); // never normalized: extract again
      } catch {
        rmSync(join(this.packagesDir(), id), { recursive: true, force: true });
      }
    }
    return out;
  }

  private resources(data: Data | readonly Resource[] | Resource, opts: RunOptions): Resource[] {
    const list = isResource(data) ? [data] : Array.isArray(data) && data.length > 0 && data.every(isResource) ? (data as Resource[]) : undefined;
    if (list) return list;
    if (!opts.tableName) throw new Error("run: give a tableName (or pass named resources)");
    return [
      {
        [Symbol.for("dlt-ts.resource")]: true,
        name: opts.tableName,
        writeDisposition: opts.writeDisposition,
        primaryKey: opts.primaryKey === undefined ? [] : typeof opts.primaryKey === "string" ? [opts.primaryKey] : [...opts.primaryKey],
        data: data as Data,
      } as unknown as Resource,
    ];
  }

  /**
   * Extracts, normalizes and loads `data`. Rejects with the step's own error, unchanged.
   * @example await pipeline({ pipelineName: "p", destination: "duckdb" }).run([{ id: 1 }], { tableName: "items" })
   */
  async run(data: Data | readonly Resource[] | Resource, opts: RunOptions = {}): Promise<LoadInfo> {
    const started = performance.now();
    const transaction_id = randomBytes(16).toString("hex");
    const events = dltEvents(dltTelemetry());
    const report = (step: "extract" | "normalize" | "load", success: boolean): void =>
      events.track(`pipeline_${step}`, {
        elapsed: (performance.now() - started) / 1000,
        success,
        destination_name: asDestination(this.options.destination),
        transaction_id,
      });
    const step = async <T>(name: "extract" | "normalize" | "load", fn: () => Promise<T>): Promise<T> => {
      try {
        const r = await fn();
        report(name, true);
        return r;
      } catch (e) {
        report(name, false);
        throw e;
      }
    };
    const elapsed = { extract: 0, normalize: 0, load: 0 };
    const tables: Record<string, number> = {};
    const loadIds: string[] = [];

    const loadOne = async (m: PackageManifest): Promise<void> => {
      await loadPackage({
        loadId: m.loadId,
        pipelineName: this.pipelineName,
        dataset: this.datasetName,
        dbPath: this.dbPath,
        schema: m.schema,
        roots: m.roots,
        files: m.files,
      });
      mkdirSync(this.dir, { recursive: true });
      writeFileSync(this.schemaFile + ".tmp", JSON.stringify(m.schema, null, 1));
      renameSync(this.schemaFile + ".tmp", this.schemaFile);
      rmSync(join(this.packagesDir(), m.loadId), { recursive: true, force: true });
      loadIds.push(m.loadId);
      for (const [t, n] of Object.entries(m.rows)) tables[t] = (tables[t] ?? 0) + n;
    };

    const resources = this.resources(data, opts);
    let t0 = performance.now();
    const extracted = await step("extract", () => this.extract(resources));
    elapsed.extract = (performance.now() - t0) / 1000;

    t0 = performance.now();
    const manifest = await step("normalize", () => this.normalize(extracted));
    elapsed.normalize = (performance.now() - t0) / 1000;

    t0 = performance.now();
    await step("load", async () => {
      // A package a failed run left behind is loaded first, so loads stay in order.
      for (const m of this.pendingPackages(manifest.loadId)) await loadOne(m);
      await loadOne(manifest);
    });
    elapsed.load = (performance.now() - t0) / 1000;

    const info: LoadInfo = {
      pipelineName: this.pipelineName,
      datasetName: this.datasetName,
      destination: "duckdb",
      dbPath: this.dbPath,
      loadIds,
      tables,
      elapsed,
      toString() {
        const rows = Object.values(tables).reduce((a, b) => a + b, 0);
        const total = elapsed.extract + elapsed.normalize + elapsed.load;
        return `Loaded ${Object.keys(tables).length} tables (${rows.toLocaleString("en-US")} rows) into ${this.dbPath.split("/").pop()}/${this.datasetName} in ${total.toFixed(1)} s (load id ${loadIds.join(", ")})`;
      },
    };
    return info;
  }

  private async extract(resources: Resource[]): Promise<{ loadId: string; dir: string; roots: { name: string; file: string; res: Resource }[] }> {
    const loadId = newLoadId();
    const dir = join(this.packagesDir(), loadId);
    mkdirSync(join(dir, "extracted"), { recursive: true });
    const roots: { name: string; file: string; res: Resource }[] = [];
    const tty = this.options.progress !== false && process.stderr.isTTY === true;
    let count = 0;
    const t0 = performance.now();
    let lastShown = t0;
    for (const res of resources) {
      const name = snakeCase(res.name);
      const file = join(dir, "extracted", `${name}.ndjson`);
      const w = new LineWriter(file);
      try {
        for await (const item of iterate(res.data)) {
          if (typeof item !== "object" || item === null || Array.isArray(item)) {
            throw new Error(`extract: item ${w.lines + 1} of table ${name} is not an object`);
          }
          w.write(JSON.stringify(item satisfies Item));
          count++;
          if (tty && (count & 1023) === 0 && performance.now() - lastShown > 500) {
            lastShown = performance.now();
            const rate = count / ((lastShown - t0) / 1000);
            process.stderr.write(`\rextract: ${count.toLocaleString("en-US")} items (${Math.round(rate).toLocaleString("en-US")} items/s)`);
          }
        }
      } finally {
        w.close();
      }
      roots.push({ name, file, res });
    }
    if (tty && count >= 1024) process.stderr.write("\n");
    writeFileSync(join(dir, "package.json"), JSON.stringify({ loadId, state: "extracted" }));
    return { loadId, dir, roots };
  }

  private async normalize(ex: { loadId: string; dir: string; roots: { name: string; file: string; res: Resource }[] }): Promise<PackageManifest> {
    const schema = this.readSchema();
    // Packages waiting to be loaded were normalized against their own schema: start from the newest of them.
    for (const m of this.pendingPackages(ex.loadId)) Object.assign(schema.tables, m.schema.tables);
    const outDir = join(ex.dir, "normalized");
    mkdirSync(outDir, { recursive: true });
    const n = new Normalizer(schema, ex.loadId, outDir);
    let rows: Record<string, number> = {};
    try {
      for (const r of ex.roots) {
        const existing = schema.tables[r.name];
        const wd = r.res.writeDisposition ?? existing?.writeDisposition ?? "append";
        const pk = r.res.primaryKey.length > 0 ? r.res.primaryKey.map(snakeCase) : existing?.primaryKey ?? [];
        if (wd === "merge" && pk.length === 0) throw new Error(`run: table ${r.name} uses merge but has no primary key`);
        const t = existing ?? { name: r.name, columns: {}, writeDisposition: wd, primaryKey: pk };
        t.writeDisposition = wd;
        t.primaryKey = pk;
        for (const child of Object.values(schema.tables)) if (child.parent && child.name.startsWith(`${r.name}__`)) child.writeDisposition = wd;
        schema.tables[r.name] = t;
        await n.table_(t, r.file);
      }
    } finally {
      rows = n.close();
    }
    const files: Record<string, string> = {};
    for (const t of Object.keys(rows)) files[t] = join(outDir, `${t}.ndjson`);
    const manifest: PackageManifest = { loadId: ex.loadId, state: "normalized", roots: ex.roots.map((r) => r.name), files, rows, schema };
    rmSync(join(ex.dir, "extracted"), { recursive: true, force: true });
    writeFileSync(join(ex.dir, "package.json"), JSON.stringify(manifest));
    return manifest;
  }
}

/** Creates a pipeline. */
export function pipeline(options: PipelineOptions): Pipeline {
  return new Pipeline(options);
}
