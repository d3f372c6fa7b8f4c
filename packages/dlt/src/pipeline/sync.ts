/**
 * Restoring a pipeline from its destination (dlt's `sync_destination`): the newest state loaded into
 * `_dlt_pipeline_state` (of a load completed in `_dlt_loads`) replaces the local one when it is at least as new and
 * differs, together with the newest version of each of its schemas from `_dlt_version`; schemas missing locally
 * are fetched in any case. So a pipeline whose folder is gone (a new machine, a wiped CI runner) picks up its
 * schema — column types, variants, primary keys, write dispositions — on its next run instead of inferring it
 * afresh. Runs once per `Pipeline` object, before its first extract, and on demand (`Pipeline.syncDestination`).
 */
import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { inflateSync } from "node:zlib";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { q } from "./naming.js";
import type { PipelineDir } from "./package.js";
import { asStoredSchema, LOADS_TABLE, STATE_TABLE, VERSION_TABLE, type StoredSchema } from "./schema.js";
import { asState, bumpStateVersion, decompressState, newState, type PipelineState } from "./state.js";

/** What a sync did. */
export interface SyncResult {
  /** The state was replaced by the destination's (its `_state_version`), or undefined when the local one stayed. */
  readonly restoredStateVersion: number | undefined;
  /** Schemas written from the destination. */
  readonly restoredSchemas: readonly string[];
  /** The pipeline state after the sync (also in `state.json`). */
  readonly state: PipelineState;
}

export interface SyncTarget {
  readonly pipelineName: string;
  readonly datasetName: string;
  readonly dbPath: string;
  readonly folder: PipelineDir;
}

async function tables(c: DuckDBConnection, ds: string): Promise<Set<string>> {
  const r = await c.runAndReadAll("SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ?", [ds]);
  return new Set(r.getRows().map(([t]) => String(t)));
}

/** The newest state of `pipelineName` whose load completed (dlt's `get_stored_state`), decoded; or undefined. */
async function storedState(
  c: DuckDBConnection,
  qs: string,
  have: Set<string>,
  pipelineName: string,
  where: string,
): Promise<{ state: PipelineState; createdAt: string | undefined } | undefined> {
  if (!have.has(STATE_TABLE) || !have.has(LOADS_TABLE)) return undefined;
  const r = await c.runAndReadAll(
    `SELECT s.state, s._dlt_load_id, strftime(s.created_at, '%Y-%m-%dT%H:%M:%S.%fZ') FROM ${qs}.${STATE_TABLE} AS s JOIN ${qs}.${LOADS_TABLE} AS l ON l.load_id = s._dlt_load_id ` +
      "WHERE s.pipeline_name = ? AND l.status = 0 ORDER BY l.load_id DESC LIMIT 1",
    [pipelineName],
  );
  const row = r.getRows()[0];
  if (!row) return undefined;
  const at = `${where}: ${STATE_TABLE} row of load ${String(row[1])}`;
  let raw: Record<string, unknown>;
  try {
    raw = decompressState(String(row[0]));
  } catch (e) {
    throw new Error(`${at}: the state cannot be decoded (${(e as Error).message})`);
  }
  // When this state version was extracted (its row's created_at): what `_local._last_extracted_at` says here.
  return { state: asState(raw, at), createdAt: row[2] === null ? undefined : String(row[2]) };
}

/** The newest stored version of schema `name` (dlt's `get_stored_schema`), or undefined. */
async function storedSchema(c: DuckDBConnection, qs: string, have: Set<string>, name: string, where: string): Promise<StoredSchema | undefined> {
  if (!have.has(VERSION_TABLE)) return undefined;
  const r = await c.runAndReadAll(`SELECT schema, version FROM ${qs}.${VERSION_TABLE} WHERE schema_name = ? ORDER BY inserted_at DESC LIMIT 1`, [
    name,
  ]);
  const row = r.getRows()[0];
  if (!row) return undefined;
  const at = `${where}: ${VERSION_TABLE} schema ${name} version ${String(row[1])}`;
  let text = String(row[0]).trim();
  // dlt stores a schema too long for the destination's text type compressed and base64-encoded.
  if (!text.startsWith("{")) {
    try {
      text = inflateSync(Buffer.from(text, "base64"), { maxOutputLength: 256 << 20 }).toString("utf8");
    } catch (e) {
      throw new Error(`${at}: neither JSON nor compressed JSON (${(e as Error).message})`);
    }
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${at}: not JSON (${(e as Error).message})`);
  }
  return asStoredSchema(v, at);
}

/**
 * The `_state_version` of the newest state of `pipelineName` stored in the destination (of a completed load), or
 * undefined when the destination holds none (no DuckDB file, no dataset, or no state of this pipeline). Read only.
 * @throws when the stored state cannot be read, naming the table and load.
 */
export async function storedStateVersion(target: Omit<SyncTarget, "folder">): Promise<number | undefined> {
  const { pipelineName, datasetName, dbPath } = target;
  if (!existsSync(dbPath)) return undefined;
  return withDatasetReadOnly(
    dbPath,
    datasetName,
    async ({ c, qs, have, where }) => (await storedState(c, qs, have, pipelineName, where))?.state._state_version,
  );
}

/** What `read` needs of a dataset opened read only: a connection, its qualified name, its tables, and its name in errors. */
interface OpenDataset {
  readonly c: DuckDBConnection;
  readonly qs: string;
  readonly have: Set<string>;
  readonly where: string;
}

/** Opens the DuckDB file read only for `read`, and closes it whatever `read` does. */
async function withDatasetReadOnly<T>(dbPath: string, datasetName: string, read: (d: OpenDataset) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(dbPath, { access_mode: "READ_ONLY" });
  try {
    const c = await instance.connect();
    try {
      const have = await tables(c, datasetName);
      const cat = (await c.runAndReadAll("SELECT current_database()")).getRows()[0]![0];
      return await read({ c, qs: `${q(String(cat))}.${q(datasetName)}`, have, where: `${dbPath} (dataset ${datasetName})` });
    } finally {
      c.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

/**
 * Syncs the pipeline's folder with its destination: see the module comment. The caller holds the run lock.
 * @throws when the destination's state or schema cannot be read (naming the table and load), or belongs to
 *   another pipeline.
 */
export async function syncDestination(target: SyncTarget): Promise<SyncResult> {
  const { folder, pipelineName, datasetName, dbPath } = target;
  let state = folder.readState() ?? newState(pipelineName, datasetName, dirname(dbPath));
  let restoredStateVersion: number | undefined;
  const restoredSchemas: string[] = [];
  if (existsSync(dbPath)) {
    await withDatasetReadOnly(dbPath, datasetName, async ({ c, qs, have, where }) => {
      const stored = await storedState(c, qs, have, pipelineName, where);
      const remote = stored?.state;
      let names = state.schema_names;
      let always = false;
      if (remote && remote._state_version >= state._state_version && remote._version_hash !== state._version_hash) {
        if (remote.pipeline_name !== pipelineName)
          throw new Error(`${where}: the stored state is pipeline ${remote.pipeline_name}'s, not ${pipelineName}'s`);
        remote._local = {
          ...state._local,
          first_run: false,
          _last_extracted_hash: remote._version_hash!,
          _last_extracted_at: stored?.createdAt ?? new Date().toISOString(),
        };
        remote.dataset_name = datasetName; // the dataset asked for wins over the stored one, as in dlt
        state = remote;
        restoredStateVersion = remote._state_version;
        names = remote.schema_names;
        always = true;
      }
      const fetched: StoredSchema[] = [];
      for (const name of names) {
        if (!always && folder.readSchema(name)) continue;
        const s = await storedSchema(c, qs, have, name, where);
        if (s && s.name !== name) throw new Error(`${where}: ${VERSION_TABLE} holds schema ${s.name} under the name ${name}`);
        if (s) fetched.push(s);
      }
      if (always) folder.clearSchemas();
      for (const s of fetched) {
        folder.writeSchema(s);
        restoredSchemas.push(s.name);
      }
    });
  }
  bumpStateVersion(state);
  folder.writeState(state);
  return { restoredStateVersion, restoredSchemas, state };
}
