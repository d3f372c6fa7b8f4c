/**
 * Load packages: `<data dir>/pipelines/<pipeline>/packages/<load id>/`, holding the extracted items
 * (`extracted/*.ndjson`) and then the normalized rows (`normalized/<table>.csv`) with a `package.json` manifest.
 * A package is deleted once loaded; one left `normalized` by a failed load is loaded first by the next run.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
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

/** The global data dir: env `DLT_DATA_DIR`, else `~/.dlt`. */
export function dataDir(): string {
  const d = process.env["DLT_DATA_DIR"];
  return d && d !== "" ? d : join(process.env["HOME"] || homedir(), ".dlt");
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

  remove(loadId: string): void {
    rmSync(this.packageDir(loadId), { recursive: true, force: true });
  }
}
