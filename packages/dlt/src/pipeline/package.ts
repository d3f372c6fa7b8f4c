/**
 * Load packages: `<data dir>/pipelines/<pipeline>/packages/<load id>/`, holding the extracted items
 * (`extracted/*.ndjson`) and then the normalized rows (`normalized/<table>.csv`) with a `package.json` manifest.
 * A package is deleted once loaded; one left `normalized` by a failed load is loaded first by the next run.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { locations } from "@dlt-ts/telemetry";
import { DLT_TELEMETRY_OPTIONS } from "../telemetry.js";
import type { Schema } from "./schema.js";

/** One normalized file: its path and the columns of its CSV fields, in order. */
export interface TableFile {
  readonly path: string;
  readonly columns: readonly string[];
}

/** What a normalized package holds. */
export interface NormalizedPackage {
  readonly loadId: string;
  readonly state: "normalized";
  /** Root tables of the package (each loads with its child tables). */
  readonly roots: readonly string[];
  readonly files: Readonly<Record<string, TableFile>>;
  /** Rows per table (child tables included). */
  readonly rows: Readonly<Record<string, number>>;
  /** The schema the package was normalized against: what the destination must have to load it. */
  readonly schema: Schema;
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

/** The working folder of one pipeline. */
export class PipelineDir {
  constructor(readonly dir: string) {}

  get packages(): string {
    return join(this.dir, "packages");
  }

  packageDir(loadId: string): string {
    return join(this.packages, loadId);
  }

  /** The schema of the last successful load, or an empty one. */
  readSchema(): Schema {
    try {
      return JSON.parse(readFileSync(join(this.dir, "schema.json"), "utf8")) as Schema;
    } catch {
      return { version: 1, tables: {} };
    }
  }

  writeSchema(schema: Schema): void {
    mkdirSync(this.dir, { recursive: true });
    writeAtomic(join(this.dir, "schema.json"), JSON.stringify(schema, null, 1));
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
      let m: { state?: string } | undefined;
      try {
        m = JSON.parse(readFileSync(join(this.packageDir(id), "package.json"), "utf8")) as { state?: string };
      } catch {
        m = undefined;
      }
      if (m?.state === "normalized") out.push(m as NormalizedPackage);
      else this.remove(id);
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
