/**
 * Extract: items of every resource stream into `extracted/<n>_<table>.ndjson` of a new load package, one JSON
 * value a line, written through a buffer: the data set is never held in memory. `null` and `undefined` items carry
 * nothing and are skipped; other values that are not objects are wrapped by the normalizer (`{ value: … }`).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { BIGINT_MARK } from "./coerce.js";
import { LineWriter } from "./files.js";
import { newLoadId } from "./ids.js";
import { normalizePath } from "./naming.js";
import type { PipelineDir } from "./package.js";
import type { Progress } from "./progress.js";
import { iterate, type Resource } from "./resource.js";

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


/** Extracts `resources` into a new package. A resource that throws fails the step with its own error. */
export async function extract(pdir: PipelineDir, resources: readonly Resource[], progress: Progress): Promise<Extracted> {
  const loadId = newLoadId();
  const dir = pdir.packageDir(loadId);
  mkdirSync(join(dir, "extracted"), { recursive: true });
  const roots: ExtractedRoot[] = [];
  for (const [i, res] of resources.entries()) {
    const table = normalizePath(res.name);
    const file = join(dir, "extracted", `${i}_${table}.ndjson`);
    const w = new LineWriter(file);
    try {
      for await (const item of iterate(res.data)) {
        if (item === null || item === undefined) continue;
        let line: string | undefined;
        try {
          line = JSON.stringify(item);
        } catch (e) {
          // A BigInt (only then does the fast path throw and the replacer run): written marked, loaded exact.
          try {
            line = JSON.stringify(item, (_k, v: unknown) => (typeof v === "bigint" ? BIGINT_MARK + v.toString() : v));
          } catch {
            throw new TypeError(`extract: item ${w.lines + 1} of table ${table} cannot be serialized as JSON: ${(e as Error).message}`);
          }
        }
        if (line === undefined) throw new TypeError(`extract: item ${w.lines + 1} of table ${table} is a ${typeof item}, not a JSON value`);
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
