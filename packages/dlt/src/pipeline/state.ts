/**
 * The pipeline state, as dlt keeps it (`dlt/pipeline/state_sync.py`, `dlt/common/versioned_state.py`): the pipeline
 * name, dataset name, schema names and destination, with a `_state_version` bumped and a `_version_hash` recomputed
 * when any of it changes. `_local` is this machine's part and is never synced; this module keeps its bookkeeping
 * (which version went into a package, where the last run's DuckDB file is). A new version is loaded with the next
 * package as a `_dlt_pipeline_state` row (the state without `_local`, JSON, zlib-compressed, base64), which is how
 * a pipeline whose local folder is gone gets it back (`sync.ts`).
 */
import { contentHash } from "./canonical.js";
import { SCHEMA_NAME } from "./schema.js";
import { deflateSync, inflateSync } from "node:zlib";

/** dlt's `PIPELINE_STATE_ENGINE_VERSION`. */
export const STATE_ENGINE_VERSION = 4;
/** What dlt's state calls the DuckDB destination. */
export const DUCKDB_DESTINATION_TYPE = "dlt.destinations.duckdb";

/** The part of the state that stays on this machine. */
export interface LocalState {
  first_run: boolean;
  /** The folder of `<pipeline>.duckdb` when the pipeline first ran (dlt: the working directory of its first run). */
  initial_cwd?: string;
  /** `_version_hash` of the state last put into a package: a state is loaded once per version. */
  _last_extracted_hash?: string;
  _last_extracted_at?: string;
  [key: string]: unknown;
}

/** dlt's `TPipelineState`. A state restored from a dlt pipeline may carry more (`sources`, …): it is kept as it is. */
export interface PipelineState {
  _state_version: number;
  _state_engine_version: number;
  _version_hash?: string;
  pipeline_name: string;
  dataset_name: string;
  default_schema_name: string | null;
  schema_names: string[];
  destination_type: string | null;
  destination_name: string | null;
  _local: LocalState;
  [key: string]: unknown;
}

/** One `_dlt_pipeline_state` row (dlt's `state_doc`), without its `_dlt_load_id` and `_dlt_id`. */
export interface StateDoc {
  version: number;
  engine_version: number;
  pipeline_name: string;
  /** The state without `_local`: JSON, zlib level 9, base64. */
  state: string;
  /** ISO 8601. */
  created_at: string;
  version_hash: string;
}

/** The state of a pipeline that has never run here (dlt's `default_pipeline_state` after its first sync). */
export function newState(pipelineName: string, datasetName: string, cwd: string): PipelineState {
  const state: PipelineState = {
    _state_version: 0,
    _state_engine_version: STATE_ENGINE_VERSION,
    pipeline_name: pipelineName,
    dataset_name: datasetName,
    default_schema_name: null,
    schema_names: [],
    destination_type: DUCKDB_DESTINATION_TYPE,
    destination_name: null,
    _local: { first_run: true, initial_cwd: cwd },
  };
  bumpStateVersion(state);
  return state;
}

/** dlt's `generate_state_version_hash`: SHA3-256 of the sorted-key JSON without `_local` and the version fields. */
export function stateVersionHash(state: PipelineState): string {
  const { _local: _l, _state_version: _v, _state_engine_version: _e, _version_hash: _h, ...content } = state;
  return contentHash(content).digest("base64");
}

/** dlt's `bump_state_version_if_modified`: a new hash bumps `_state_version` (the first hash does not). */
export function bumpStateVersion(state: PipelineState): void {
  const hash = stateVersionHash(state);
  if (state._version_hash && hash !== state._version_hash) state._state_version += 1;
  state._version_hash = hash;
}

/** The state as dlt stores it in `_dlt_pipeline_state.state` (dlt's `compress_state`). */
export function compressState(state: PipelineState): string {
  const { _local: _l, ...synced } = state;
  return deflateSync(JSON.stringify(synced), { level: 9 }).toString("base64");
}

/** Reads `_dlt_pipeline_state.state`: compressed as dlt writes it, or plain JSON (dlt's `decompress_state`). */
export function decompressState(text: string): Record<string, unknown> {
  const t = text.trim();
  // Bounded: a state is a few KB; a stored value that inflates beyond 64 MB is not one.
  const json = t.startsWith("{") ? t : inflateSync(Buffer.from(t, "base64"), { maxOutputLength: 64 << 20 }).toString("utf8");
  const v = JSON.parse(json) as unknown;
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("the stored state is not a JSON object");
  return v as Record<string, unknown>;
}

/** The `_dlt_pipeline_state` row of `state` (dlt's `state_doc`). */
export function stateDoc(state: PipelineState, at: Date): StateDoc {
  return {
    version: state._state_version,
    engine_version: state._state_engine_version,
    pipeline_name: state.pipeline_name,
    state: compressState(state),
    created_at: at.toISOString(),
    version_hash: state._version_hash ?? stateVersionHash(state),
  };
}

/**
 * A pipeline's names in its state (dlt's `_props_to_state`): its dataset, its schema (the default one when none is
 * yet), with the version bumped if anything changed.
 */
export function propsToState(state: PipelineState, names: { readonly datasetName: string; readonly schemaName: string }): void {
  state.dataset_name = names.datasetName;
  state.default_schema_name ??= names.schemaName;
  if (!state.schema_names.includes(names.schemaName)) state.schema_names = [...state.schema_names, names.schemaName].sort();
  bumpStateVersion(state);
}

/**
 * The `_dlt_pipeline_state` row the next package takes when the state has a version no package took yet (dlt
 * extracts the state when its hash changed), else undefined: a state version is loaded once.
 */
export function unextractedStateDoc(state: PipelineState, at: Date): StateDoc | undefined {
  return state._version_hash !== state._local._last_extracted_hash ? stateDoc(state, at) : undefined;
}

/** Remembers in `_local` that the state's version went into a package, as `doc`. */
export function markStateExtracted(state: PipelineState, doc: StateDoc): void {
  state._local._last_extracted_hash = state._version_hash!;
  state._local._last_extracted_at = doc.created_at;
}

/**
 * dlt's `force_state_extract`, for packages that were dropped: a state version that went into one of them goes
 * with the next package. Returns whether the state changed (then it is to be written).
 */
export function forceStateExtract(state: PipelineState): boolean {
  if (state._local._last_extracted_hash === undefined) return false;
  delete state._local._last_extracted_hash;
  return true;
}

/**
 * dlt's `_update_last_run_context`, at a load: the folder of `<pipeline>.duckdb` (`last_run_context.run_dir`), so
 * `attach` finds the file from anywhere.
 */
export function recordRunContext(state: PipelineState, runDir: string): void {
  state._local.first_run = false;
  state._local["last_run_context"] = { run_dir: runDir };
}

/** The folder of `<pipeline>.duckdb` a state remembers: of its last load, else of its first run. */
export function runDirOf(state: PipelineState): string | undefined {
  const context = state._local["last_run_context"];
  const runDir = typeof context === "object" && context !== null ? (context as Record<string, unknown>)["run_dir"] : undefined;
  if (typeof runDir === "string") return runDir;
  return typeof state._local.initial_cwd === "string" ? state._local.initial_cwd : undefined;
}

/**
 * A state read from the destination or a file, checked: the fields this code relies on have their types.
 * @throws an error naming `where` and the field.
 */
export function asState(v: Record<string, unknown>, where: string): PipelineState {
  const need = (k: string, t: string): void => {
    if (typeof v[k] !== t) throw new Error(`${where}: ${k} is ${v[k] === undefined ? "missing" : `not a ${t}`}`);
  };
  need("_state_version", "number");
  need("pipeline_name", "string");
  if (
    v["_state_engine_version"] !== undefined &&
    typeof v["_state_engine_version"] === "number" &&
    v["_state_engine_version"] > STATE_ENGINE_VERSION
  ) {
    throw new Error(`${where}: _state_engine_version ${v["_state_engine_version"]} is newer than this dlt-ts understands (${STATE_ENGINE_VERSION})`);
  }
  const state = v as PipelineState;
  state._state_engine_version = STATE_ENGINE_VERSION;
  // Schema names name files: only identifiers are kept.
  const names = Array.isArray(state.schema_names) ? state.schema_names : [state.default_schema_name];
  state.schema_names = names.filter((n): n is string => typeof n === "string" && SCHEMA_NAME.test(n));
  state.default_schema_name ??= null;
  state.destination_type ??= null;
  state.destination_name ??= null;
  if (typeof state._local !== "object" || state._local === null) state._local = { first_run: false };
  return state;
}
