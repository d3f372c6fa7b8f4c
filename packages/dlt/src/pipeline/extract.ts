/**
 * Extract: items of every resource stream into `extracted/<n>_<table>.ndjson` of a new load package, one JSON
 * object a line, written through a buffer: the data set is never held in memory.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { LineWriter } from "./files.js";
import { newLoadId } from "./ids.js";
import { snakeCase } from "./naming.js";
import type { PipelineDir } from "./package.js";
import type { Progress } from "./progress.js";
import { isPlainObject, iterate, type Resource } from "./resource.js";

/** One resource's extracted file. */
export interface ExtractedRoot {
  /** Table name (snake_case). */
  readonly table: string;
  readonly file: string;
  readonly resource: Resource;
  readonly items: number;
}

export interface Extracted {
  readonly loadId: string;
  readonly dir: string;
  readonly roots: readonly ExtractedRoot[];
}

function describe(item: unknown): string {
  return item === null ? "null" : Array.isArray(item) ? "an array" : typeof item;
}

/** Extracts `resources` into a new package. A resource that throws fails the step with its own error. */
export async function extract(pdir: PipelineDir, resources: readonly Resource[], progress: Progress): Promise<Extracted> {
  const loadId = newLoadId();
  const dir = pdir.packageDir(loadId);
  mkdirSync(join(dir, "extracted"), { recursive: true });
  const roots: ExtractedRoot[] = [];
  for (const [i, res] of resources.entries()) {
    const table = snakeCase(res.name);
    const file = join(dir, "extracted", `${i}_${table}.ndjson`);
    const w = new LineWriter(file);
    try {
      for await (const item of iterate(res.data)) {
        if (!isPlainObject(item)) {
          throw new TypeError(`extract: item ${w.lines + 1} of table ${table} is ${describe(item)}, not an object`);
        }
        let line: string;
        try {
          line = JSON.stringify(item);
        } catch (e) {
          throw new TypeError(`extract: item ${w.lines + 1} of table ${table} cannot be serialized as JSON: ${(e as Error).message}`);
        }
        w.write(line);
        progress.tick();
      }
    } finally {
      w.close();
    }
    roots.push({ table, file, resource: res, items: w.lines });
  }
  progress.done();
  pdir.markExtracted(loadId);
  return { loadId, dir, roots };
}
