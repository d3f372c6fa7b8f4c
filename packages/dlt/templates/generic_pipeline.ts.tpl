// A dlt-ts pipeline for the `{{source}}` source, loading into DuckDB.
//
// Run it:   npx tsx {{source}}_pipeline.ts      (or compile with tsc and run the .js with node)
// Config:   .dlt/config.toml [sources.{{source}}]; env SOURCES__{{SOURCE}}__<KEY> overrides.
import { pipeline, resource, sourceConfig } from "dlt-ts";

const config = sourceConfig("{{source}}");

/** Replace with your data: any (async) iterable of JSON-like objects. */
async function* items(): AsyncGenerator<Record<string, unknown>> {
  const count = Number(config["count"] ?? 3);
  for (let i = 1; i <= count; i++) {
    yield { id: i, name: `item ${i}`, details: { created_at: new Date().toISOString() }, tags: [{ tag: "example" }] };
  }
}

const p = pipeline({ pipelineName: "{{source}}", destination: "duckdb", datasetName: "{{source}}_data" });
const info = await p.run(resource(items, { name: "items", writeDisposition: "merge", primaryKey: "id" }));
console.log(info.toString());
