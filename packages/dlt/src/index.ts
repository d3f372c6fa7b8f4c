/**
 * dlt-ts: load data into DuckDB with `pipeline(...).run(data)`, or step by step with `extract`, `normalize` and
 * `load`, as dlt does.
 *
 * @example
 * import { pipeline } from "dlt-ts";
 * const p = pipeline({ pipelineName: "chess", destination: "duckdb", datasetName: "chess_data" });
 * const info = await p.run([{ name: "magnus", rating: 2830 }], { tableName: "players" });
 * console.log(info.toString());
 */
export { attach, pipeline, Pipeline, type PipelineOptions, type RunOptions } from "./pipeline/pipeline.js";
export type {
  ExtractInfo,
  NormalizeInfo,
  LoadInfo,
  LoadPackageInfo,
  LoadPackageState,
  LoadJobInfo,
  LoadJobState,
  FailedJob,
} from "./pipeline/info.js";
export type { PipelineTrace, PipelineStepTrace, StepException, TraceStepName } from "./pipeline/trace.js";
export type { DropInfo, DropPlan, DropResult } from "./pipeline/drop.js";
export type { SyncResult } from "./pipeline/sync.js";
export type { PipelineState } from "./pipeline/state.js";
export type { StoredSchema, TableSchema, ColumnSchema, DataType } from "./pipeline/schema.js";
export type { LoadFailure } from "./pipeline/package.js";
export { PipelineStepFailed, PipelineNotFound, PipelineHasPendingData, type PipelineStep } from "./pipeline/errors.js";
export { resource, type Resource, type ResourceOptions, type WriteDisposition, type Data, type Item } from "./pipeline/resource.js";
export { sourceConfig } from "./pipeline/config.js";
export { DEFAULT_TELEMETRY_ENDPOINT, dltTelemetry } from "./telemetry.js";
