/**
 * Every telemetry event dlt-ts sends, with the type of each property. `docs/telemetry-events.md` is generated
 * from this file (`npm run docs:events`) and a test keeps the two in sync.
 */
import { defineEvents, typedTracker, type Telemetry, type TypedTracker } from "@dlt-ts/telemetry";
import { REPORTABLE_SOURCES } from "./init/sources.js";

/** Destination names that may be reported; anything else is reported as `other`. */
export const DESTINATIONS = [
  "duckdb", "motherduck", "postgres", "bigquery", "snowflake", "redshift", "databricks", "clickhouse", "mssql",
  "synapse", "athena", "filesystem", "weaviate", "qdrant", "lancedb", "dremio", "sqlalchemy", "other",
] as const;
export type Destination = (typeof DESTINATIONS)[number];

/** Maps a user-given destination name to a reportable one. */
export function asDestination(name: string): Destination {
  return (DESTINATIONS as readonly string[]).includes(name) ? (name as Destination) : "other";
}

const elapsed = { type: "number", description: "seconds: for a command, its run time; for a pipeline step, since `run` started" } as const;
const success = { type: "boolean", description: "for a command, exit code 0; for a step, it did not throw" } as const;
const destination = { type: "enum", values: DESTINATIONS, description: "the destination's type (never its credentials or location)" } as const;
const transaction = { type: "id", pattern: /^[0-9a-f]{32}$/, description: "random per `pipeline.run`, shared by its three steps" } as const;
const stepProperties = { elapsed, success, destination_name: destination, transaction_id: transaction } as const;

export const DLT_EVENTS = defineEvents({
  command_telemetry: { description: "`dlt telemetry` ran.", properties: { elapsed, success } },
  command_init: {
    description: "`dlt init <source> <destination>` ran.",
    properties: {
      elapsed,
      success,
      pipeline_name: {
        type: "enum",
        values: REPORTABLE_SOURCES,
        description: "the source asked for when it is one of dlt's public verified sources (the list in `packages/dlt/src/init/sources.ts`), else `custom`: a name you made up is never sent",
      },
      destination_name: destination,
    },
  },
  pipeline_extract: { description: "`pipeline.run` finished (or failed) its extract step.", properties: stepProperties },
  pipeline_normalize: { description: "`pipeline.run` finished (or failed) its normalize step.", properties: stepProperties },
  pipeline_load: { description: "`pipeline.run` finished (or failed) its load step.", properties: stepProperties },
});

export type DltEvents = typeof DLT_EVENTS;

/** The typed tracker of dlt's events over a client. */
export function dltEvents(telemetry: Telemetry): TypedTracker<DltEvents> {
  return typedTracker(telemetry, DLT_EVENTS);
}

export const CATALOGUE_INTRO = `
Generated from \`packages/dlt/src/events.ts\` by \`npm run docs:events\`; a test fails when the two differ.

Every event is a Segment \`track\` message with a random \`messageId\` and \`anonymousId\`, a \`timestamp\`, and this
\`context\`: \`ci_run\` (boolean: one of dlt's 15 CI variables, or a CI system's own, is set), \`cpu\` (number of
cores), \`exec_info\` (a list of the environments detected, with dlt's names and in dlt's order: \`kubernetes\`,
\`docker\`, \`codespaces\`, \`github_actions\`, \`notebook\`, \`colab\`, \`airflow\`, \`dagster\`, \`prefect\`,
\`aws_lambda\`, \`gcp_cloud_function\`, \`streamlit\`, \`claude_code\`, \`claude_code_cli\`, \`cursor\`, \`codex\`; dlt's
\`marimo\` cannot be seen from Node and is never sent), \`library\` (\`{name, version}\` of dlt-ts), \`os\`
(\`{name, version}\`: OS name and kernel release) and \`runtime\` (\`{name, version}\`: \`node\`, \`bun\` or \`deno\`).
Only the names are sent, never the values of the variables they are detected from. Property values are numbers,
booleans, enumerated strings or ids that match a pattern: nothing free-form is ever sent.
`;
