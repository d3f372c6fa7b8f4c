/**
 * dlt-ts: load data into DuckDB with `pipeline(...).run(data)`.
 *
 * @example
 * import { pipeline } from "dlt-ts";
 * const p = pipeline({ pipelineName: "chess", destination: "duckdb", datasetName: "chess_data" });
 * const info = await p.run([{ name: "magnus", rating: 2830 }], { tableName: "players" });
 * console.log(info.toString());
 */
export { pipeline, Pipeline, type PipelineOptions, type RunOptions, type LoadInfo } from "./pipeline/pipeline.js";
export { resource, type Resource, type ResourceOptions, type WriteDisposition, type Data, type Item } from "./pipeline/resource.js";
export { sourceConfig } from "./pipeline/config.js";
export { DEFAULT_TELEMETRY_ENDPOINT, dltTelemetry } from "./telemetry.js";
