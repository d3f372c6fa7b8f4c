/**
 * The pipeline's folder, `<data dir>/pipelines/<pipeline>/`, and everything in it — the one place that knows this
 * layout (dlt's, where dlt has one):
 * - `state.json`: the pipeline state (`state.ts`);
 * - `schemas/<schema>.schema.json`: the schema of the last load, in dlt's stored format (`schema.ts`);
 * - `packages/<load id>/`: load packages, holding the extracted items (`extracted/*.ndjson`) and then the normalized
 *   rows (`normalized/<table>.csv`) with a `package.json` manifest. A package is deleted once loaded; one left
 *   `normalized` by a failed load is loaded first by the next run;
 * - `run.lock`: held by the run in progress.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { locations } from "@dlt-ts/telemetry";
import { DLT_TELEMETRY_OPTIONS } from "../telemetry.js";
import { asStoredSchema, type StoredSchema } from "./schema.js";
import { asState, type PipelineState, type StateDoc } from "./state.js";

/** One normalized file: its path and the columns of its CSV fields, in order. */
export interface TableFile {
  readonly path: string;
  readonly columns: readonly string[];
}

/** The manifest format of a normalized package; a package of another format is refused, not misread. */
export const PACKAGE_FORMAT = 2;

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
}

/** The global data dir (env `DLT_DATA_DIR`, else `~/.dlt`), resolved as telemetry and the CLI resolve it. */
export function dataDir(): string {
  return locations(DLT_TELEMETRY_OPTIONS, process.env).dataDir;
}

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
    return new PipelineDir(join(dataDir(), "pipelines", pipelineName));
  }

  get packages(): string {
    return join(this.dir, "packages");
  }

  packageDir(loadId: string): string {
    return join(this.packages, loadId);
  }

  get stateFile(): string {
    return join(this.dir, "state.json");
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

  markExtracted(loadId: string): void {
    writeAtomic(join(this.packageDir(loadId), "package.json"), JSON.stringify({ loadId, state: "extracted" }));
  }

  markNormalized(p: NormalizedPackage): void {
    writeAtomic(join(this.packageDir(p.loadId), "package.json"), JSON.stringify(p));
  }

  /**
   * Packages a failed load left behind, oldest first (`except`: the run's own package). A package that never got
   * normalized (its run failed before) is removed: its data is extracted again by whoever runs it again.
   */
  pending(except?: string): NormalizedPackage[] {
    if (!existsSync(this.packages)) return [];
    const out: NormalizedPackage[] = [];
    for (const id of readdirSync(this.packages).sort((a, b) => Number(a) - Number(b) || a.localeCompare(b))) {
      if (id === except) continue;
      const manifest = join(this.packageDir(id), "package.json");
      let m: { state?: string; format?: number } | undefined;
      try {
        m = JSON.parse(readFileSync(manifest, "utf8")) as { state?: string; format?: number };
      } catch {
        m = undefined;
      }
      if (m?.state !== "normalized") {
        this.remove(id);
        continue;
      }
      if (m.format !== PACKAGE_FORMAT) {
        throw new Error(`load: package ${manifest} was normalized by another version of dlt-ts and cannot be loaded by this one; remove ${this.packageDir(id)} to drop it`);
      }
      out.push(m as NormalizedPackage);
    }
    return out;
  }

  /**
   * Takes `run.lock` for one run and returns its release. Runs of one pipeline take turns: a second run (in this
   * or another process) fails with a clear error instead of removing the first one's packages as leftovers. A lock
   * whose process is gone (a crash) is taken over.
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
        throw new Error(`run: pipeline ${pipelineName} is already running ${who}; runs of one pipeline take turns (lock: ${file})`);
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
