/**
 * Dropping tables (dlt's `dlt/pipeline/drop.py` and `helpers.py` `pipeline_drop`): the selected root tables (dlt's
 * resources: a resource's table is its name in dlt-ts) and their nested tables leave the schema, their resource
 * state is reset, and a load package carries the change to the destination — it drops the tables, replaces the
 * schema's stored versions with the new one and loads the new state, in one transaction — so a restore on another
 * machine does not bring them back. This module plans it (`planDrop`) and applies it (`applyDrop`);
 * `Pipeline.prepareDrop` and `Pipeline.drop` call them under the run lock, with no package pending.
 */
import { stepFailed } from "./errors.js";
import { newLoadId } from "./ids.js";
import { loadPackages } from "./load.js";
import { PACKAGE_FORMAT, type NormalizedPackage, type PipelineDir } from "./package.js";
import { bumpVersion, rootOf, STATE_TABLE, stateTable, tableChain, type StoredSchema } from "./schema.js";
import { bumpStateVersion, markStateExtracted, stateDoc, type PipelineState } from "./state.js";

/** The pipeline a drop is planned for and applied to. */
export interface DropTarget {
  readonly pipelineName: string;
  readonly datasetName: string;
  readonly dbPath: string;
}

/** What a drop will do (dlt's `pipeline_drop.info`), to show before it is applied. */
export interface DropInfo {
  readonly pipelineName: string;
  readonly datasetName: string;
  readonly destination: "duckdb";
  readonly dbPath: string;
  readonly schemaName: string;
  /** The root tables selected (dlt's resources). */
  readonly resourceNames: readonly string[];
  /** Every table dropped from the schema: the selected ones and their nested tables, parents first. */
  readonly tables: readonly string[];
  /** Those of them the destination holds. */
  readonly tablesWithData: readonly string[];
  /** Resource state reset (`sources.<source>.resources.<resource>` of a state dlt wrote). */
  readonly resourceStates: readonly string[];
}

/** What a drop did: its package, and the tables it dropped. */
export interface DropResult {
  readonly loadId: string;
  readonly droppedTables: readonly string[];
}

/** A drop, planned against one version of the schema: see `Pipeline.prepareDrop`. */
export interface DropPlan {
  readonly info: DropInfo;
  /** The schema without the dropped tables (a new version). */
  readonly schema: StoredSchema;
  /** The state with their resource state reset (a new version). */
  readonly state: PipelineState;
  /** `version_hash` of the schema the plan was made from: a drop of a schema changed since is refused. */
  readonly basedOn: string;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Plans dropping `tables` (root tables) from `schema`, with their nested tables.
 * @throws naming the table when it is not in the schema, is a system table, or is a nested table (its root is named).
 */
export function planDrop(
  where: DropTarget,
  schema: StoredSchema,
  state: PipelineState,
  tables: readonly string[],
  inDestination: ReadonlySet<string>,
): DropPlan {
  const known = Object.values(schema.tables)
    .filter((t) => t.parent === undefined && !t.name.startsWith("_dlt_"))
    .map((t) => t.name);
  const roots: string[] = [];
  for (const name of tables) {
    const t = schema.tables[name];
    if (name.startsWith("_dlt_"))
      throw new Error(`table ${name} is one of dlt's system tables of pipeline ${where.pipelineName} and cannot be dropped`);
    if (!t) {
      throw new Error(`table ${name} is not in schema ${schema.name} of pipeline ${where.pipelineName} (its tables: ${known.join(", ") || "none"})`);
    }
    if (t.parent !== undefined) {
      throw new Error(
        `table ${name} is a nested table of ${rootOf(schema, name)?.name ?? t.parent} in pipeline ${where.pipelineName}: drop its root table, its nested tables go with it`,
      );
    }
    if (!roots.includes(name)) roots.push(name);
  }
  const dropped = roots.flatMap((r) => tableChain(schema, r).map((t) => t.name));

  const next = structuredClone(schema);
  for (const t of dropped) delete next.tables[t];
  const propagation = next.normalizers.json.config?.propagation?.tables;
  if (propagation) for (const r of roots) delete propagation[r];
  next.tables[STATE_TABLE] ??= stateTable();
  bumpVersion(next);

  const nextState = structuredClone(state);
  const resourceStates: string[] = [];
  const sources = nextState["sources"];
  if (isObj(sources)) {
    for (const [source, s] of Object.entries(sources)) {
      const resources = isObj(s) ? s["resources"] : undefined;
      if (!isObj(resources)) continue;
      for (const r of roots) {
        if (r in resources) {
          delete resources[r];
          resourceStates.push(`sources.${source}.resources.${r}`);
        }
      }
    }
  }
  bumpStateVersion(nextState);

  return {
    info: {
      pipelineName: where.pipelineName,
      datasetName: where.datasetName,
      destination: "duckdb",
      dbPath: where.dbPath,
      schemaName: schema.name,
      resourceNames: roots,
      tables: dropped,
      tablesWithData: dropped.filter((t) => inDestination.has(t)),
      resourceStates,
    },
    schema: next,
    state: nextState,
    basedOn: schema.version_hash,
  };
}

/**
 * Applies `plan` as dlt does: one load package drops the tables in DuckDB, replaces the schema's stored versions
 * with the new one and loads the new state, in one transaction; then the schema and state in `folder` follow. On a
 * failure nothing changed, and nothing is left pending (as dlt: the drop can be run again).
 * @throws when the schema changed since the plan, or the load failed ({@link PipelineStepFailed}, step `load`).
 */
export async function applyDrop(folder: PipelineDir, where: DropTarget, plan: DropPlan): Promise<DropResult> {
  if (folder.readSchema(plan.info.schemaName)?.version_hash !== plan.basedOn) {
    throw new Error(`schema ${plan.info.schemaName} of pipeline ${where.pipelineName} changed since the drop was planned: plan it again`);
  }
  const pkg = dropPackage(plan, newLoadId(), new Date());
  folder.markNormalized(pkg);
  try {
    await loadPackages(where.dbPath, where.datasetName, [pkg], {
      loaded: (p) => {
        folder.writeSchema(p.schema);
        folder.markLoaded(p, new Date());
      },
      failed: () => undefined,
    });
  } catch (e) {
    folder.remove(pkg.loadId);
    throw stepFailed(folder, where.pipelineName, "load", pkg.loadId, e);
  }
  markStateExtracted(plan.state, pkg.stateDoc!);
  folder.writeState(plan.state);
  return { loadId: pkg.loadId, droppedTables: plan.info.tables };
}

/** The load package that applies a drop: no data, its tables to drop, the new schema and state. */
function dropPackage(plan: DropPlan, loadId: string, at: Date): NormalizedPackage {
  return {
    format: PACKAGE_FORMAT,
    loadId,
    state: "normalized",
    roots: [],
    files: {},
    rows: {},
    schema: plan.schema,
    stateDoc: stateDoc(plan.state, at),
    droppedTables: [...plan.info.tables].reverse(),
  };
}
