/**
 * The normalize step's work (dlt's `Normalize` runner, `dlt/normalize/normalize.py`; `Pipeline.normalize` hands
 * off to it): every extracted package, oldest first, becomes a normalized one. Each is normalized against the
 * newest schema — of the last package waiting to be loaded (it was normalized against everything before it), else
 * of the last load — with the resource hints its manifest keeps applied to its root tables, and takes the state's
 * new version when there is one. A package that cannot be normalized is removed: nothing of it can be loaded, and
 * a new run extracts its data again.
 */
import { StepTotals } from "./info.js";
import { normalizePath } from "./naming.js";
import { Normalizer } from "./normalize.js";
import { PACKAGE_FORMAT, type ExtractedPackage, type NormalizedPackage, type PipelineDir, type TableHints } from "./package.js";
import type { Progress } from "./progress.js";
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
import { markStateExtracted, unextractedStateDoc, type PipelineState } from "./state.js";

/** What normalizing needs of its pipeline. */
export interface NormalizeTarget {
  readonly folder: PipelineDir;
  /** The schema of a pipeline's first package (its name), when none is stored yet. */
  readonly schemaName: string;
  /** The pipeline's state, asked for once there is a package to normalize. */
  state(): PipelineState;
}

/**
 * Normalizes every extracted package of `target.folder` (see the module comment); `processing` learns each one's
 * load id before its work starts, so a failure can name it.
 * @throws the first package's error (the packages before it stay normalized).
 */
export function normalizePackages(target: NormalizeTarget, progress: () => Progress, processing: (loadId: string) => void): StepTotals {
  const { folder } = target;
  const totals = new StepTotals();
  folder.removeIncomplete();
  const extracted = folder.extractedPackages();
  if (extracted.length === 0) return totals;
  const state = target.state();
  let last = folder.normalizedPackages().at(-1)?.schema;
  for (const ex of extracted) {
    processing(ex.loadId);
    try {
      const pkg = normalizePackage(target, ex, last, state, progress());
      last = pkg.schema;
      totals.add(pkg.loadId, pkg.rows);
    } catch (e) {
      folder.remove(ex.loadId);
      throw e;
    }
  }
  return totals;
}

/** Normalizes one extracted package against `base` (else the schema of the last load) and marks it normalized. */
function normalizePackage(
  target: NormalizeTarget,
  ex: ExtractedPackage,
  base: StoredSchema | undefined,
  state: PipelineState,
  progress: Progress,
): NormalizedPackage {
  const { folder, schemaName } = target;
  // A copy: this package's changes must not alter how the one before it loads.
  const schema: StoredSchema = base ? structuredClone(base) : (folder.readSchema(schemaName) ?? newSchema(schemaName));
  const n = new Normalizer(schema, folder.normalizedDir(ex.loadId), progress);
  let out: ReturnType<Normalizer["close"]>;
  try {
    for (const r of ex.roots) n.root(applyHints(schema, r.table, r.hints), r.file);
  } finally {
    out = n.close();
  }
  const doc = unextractedStateDoc(state, new Date());
  if (doc) schema.tables[STATE_TABLE] ??= stateTable();
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
  folder.markNormalized(pkg);
  folder.removeExtracted(ex.loadId);
  if (doc) markStateExtracted(state, doc);
  folder.writeState(state);
  return pkg;
}

/**
 * The root table `name` of `schema` with a package's write disposition, primary key and nesting level (earlier ones
 * when not given), as dlt applies a resource's hints to its table.
 * @throws naming the table when it is a nested table. (Merge without a primary key is dlt's append, at load.)
 */
function applyHints(schema: StoredSchema, name: string, hints: TableHints): TableSchema {
  const t: TableSchema = (schema.tables[name] ??= { name, columns: {}, write_disposition: "append", resource: name });
  if (t.parent !== undefined) throw new Error(`table ${name} is a nested table of ${t.parent} and cannot be loaded as a root table`);
  if (hints.writeDisposition) t.write_disposition = hints.writeDisposition;
  if (hints.primaryKey.length > 0) {
    // The primary key is one compound hint: naming it again replaces it (dlt's compound props).
    for (const c of Object.values(t.columns)) delete c.primary_key;
    for (const k of hints.primaryKey.map(normalizePath)) {
      const c = (t.columns[k] ??= { name: k, nullable: false });
      c.nullable = false;
      c.primary_key = true;
    }
  }
  if (hints.maxTableNesting !== undefined) t["x-normalizer"] = { ...t["x-normalizer"], max_nesting: hints.maxTableNesting };
  if (requiresRootKey(schema, t)) {
    propagateRootKey(schema, name);
    // Nested tables loaded before the root key was needed get it too, so a merge finds all their rows.
    for (const nt of Object.values(schema.tables)) {
      if (nt.parent !== undefined && isUnder(nt.name, name) && nt.columns[C.id]) nt.columns[C.rootId] ??= dltColumn(C.rootId);
    }
  }
  return t;
}
