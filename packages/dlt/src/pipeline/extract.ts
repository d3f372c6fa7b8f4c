/**
 * Extract: items of every resource stream into `extracted/<n>_<table>.ndjson` of a new load package, one JSON
 * value a line, written through a buffer: the data set is never held in memory. `null` and `undefined` items carry
 * nothing and are skipped; other values that are not objects are wrapped by the normalizer (`{ value: … }`). The
 * package's manifest, written last, keeps each resource's hints (write disposition, primary key, nesting), so the
 * package is normalized the same whenever and by whichever process `normalize` runs.
 */
import { join } from "node:path";
import { BIGINT_MARK } from "./coerce.js";
import { LineWriter } from "./files.js";
import { newLoadId } from "./ids.js";
import { normalizePath } from "./naming.js";
import { PACKAGE_FORMAT, type ExtractedPackage, type ExtractedRoot, type PipelineDir } from "./package.js";
import type { Progress } from "./progress.js";
import { iterate, type Resource } from "./resource.js";

/**
 * Extracts `resources` into a new package. A resource that throws fails the step with its own error, and the
 * package is removed (an extract that did not finish is no package); `started` learns the package's load id first,
 * so a failure can name it.
 */
export async function extract(
  folder: PipelineDir,
  resources: readonly Resource[],
  progress: Progress,
  started: (loadId: string) => void,
): Promise<ExtractedPackage> {
  const loadId = newLoadId();
  started(loadId);
  try {
    return await extractInto(folder, loadId, resources, progress);
  } catch (e) {
    folder.remove(loadId);
    throw e;
  }
}

async function extractInto(folder: PipelineDir, loadId: string, resources: readonly Resource[], progress: Progress): Promise<ExtractedPackage> {
  const dir = folder.extractedDir(loadId);
  const roots: ExtractedRoot[] = [];
  for (const [i, res] of resources.entries()) {
    const table = normalizePath(res.name);
    const file = join(dir, `${i}_${table}.ndjson`);
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
            throw new TypeError(`item ${w.lines + 1} of table ${table} cannot be serialized as JSON: ${(e as Error).message}`);
          }
        }
        if (line === undefined) throw new TypeError(`item ${w.lines + 1} of table ${table} is a ${typeof item}, not a JSON value`);
        w.write(line);
        progress.tick();
      }
    } finally {
      w.close();
    }
    const { writeDisposition, primaryKey, maxTableNesting } = res;
    const hints = { ...(writeDisposition ? { writeDisposition } : {}), primaryKey, ...(maxTableNesting !== undefined ? { maxTableNesting } : {}) };
    roots.push({ table, file, items: w.lines, hints });
  }
  progress.done();
  const pkg: ExtractedPackage = { format: PACKAGE_FORMAT, loadId, state: "extracted", roots };
  folder.markExtracted(pkg);
  return pkg;
}
