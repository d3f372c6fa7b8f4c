/**
 * Every telemetry event dlt-ts sends, with the type of each property. `docs/telemetry-events.md` is generated
 * from this file (`npm run docs:events`) and a test keeps the two in sync.
 */
import { catalogueHash, defineEvents, planOf, typedTracker, type Telemetry, type TelemetryPlan, type TypedTracker } from "@dlt-ts/telemetry";
import { REPORTABLE_SOURCES } from "./init/sources.js";

/** Destination names that may be reported; anything else is reported as `other`. */
export const DESTINATIONS = [
  "duckdb",
  "motherduck",
  "postgres",
  "bigquery",
  "snowflake",
  "redshift",
  "databricks",
  "clickhouse",
  "mssql",
  "synapse",
  "athena",
  "filesystem",
  "weaviate",
  "qdrant",
  "lancedb",
  "dremio",
  "sqlalchemy",
  "other",
] as const;
export type Destination = (typeof DESTINATIONS)[number];

/** Maps a user-given destination name to a reportable one. */
export function asDestination(name: string): Destination {
  return (DESTINATIONS as readonly string[]).includes(name) ? (name as Destination) : "other";
}

const elapsed = { type: "number", description: "seconds: for a command, its run time; for a pipeline step, since `run` started" } as const;
const success = { type: "boolean", description: "for a command, exit code 0; for a step, it did not throw" } as const;
const destination = { type: "enum", values: DESTINATIONS, description: "the destination's type (never its credentials or location)" } as const;
const transaction = {
  type: "id",
  pattern: /^[0-9a-f]{32}$/,
  description:
    "random per top-level call, as dlt's trace id: shared by the steps of one `pipeline.run`; a step called on its own (`pipeline.extract()`, …) has its own",
} as const;
const stepProperties = { elapsed, success, destination_name: destination, transaction_id: transaction } as const;

/** The operations of `dlt pipeline`, as dlt names them in `command_pipeline`'s `operation`. */
export const PIPELINE_OPERATIONS = [
  "list",
  "info",
  "trace",
  "failed-jobs",
  "load-package",
  "drop-pending-packages",
  "drop",
  "schema",
  "sync",
] as const;
export type PipelineOperation = (typeof PIPELINE_OPERATIONS)[number];

/** The formats `dlt schema` and `dlt pipeline <name> schema` print a schema in. */
export const SCHEMA_FORMATS = ["yaml", "json"] as const;
export type SchemaFormat = (typeof SCHEMA_FORMATS)[number];

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
        description:
          "the source asked for when it is one of dlt's public verified sources (the list in `packages/dlt/src/init/sources.ts`), else `custom`: a name you made up is never sent",
      },
      destination_name: destination,
    },
  },
  command_list_sources: { description: "`dlt init --list-sources` ran (dlt's event name for it).", properties: { elapsed, success } },
  command_list_destinations: { description: "`dlt init --list-destinations` ran (dlt's event name for it).", properties: { elapsed, success } },
  command_pipeline: {
    description: "`dlt pipeline …` ran: `--list-pipelines` or an operation on a pipeline (the pipeline's name is never sent).",
    properties: {
      elapsed,
      success,
      operation: {
        type: "enum",
        values: PIPELINE_OPERATIONS,
        description: "what was asked for: `list` (`--list-pipelines`) or the operation, as dlt names them",
      },
    },
  },
  command_schema: {
    description: "`dlt schema <file>` ran (the file is never sent).",
    properties: { elapsed, success, format_: { type: "enum", values: SCHEMA_FORMATS, description: "the format asked for (dlt's property name)" } },
  },
  pipeline_extract: {
    description: "The extract step ended (in `pipeline.run`, or `pipeline.extract()` called on its own), or failed.",
    properties: stepProperties,
  },
  pipeline_normalize: {
    description: "The normalize step ended (in `pipeline.run`, or `pipeline.normalize()`), or failed.",
    properties: stepProperties,
  },
  pipeline_load: { description: "The load step ended (in `pipeline.run`, or `pipeline.load()`), or failed.", properties: stepProperties },
  pipeline_run: {
    description: "`pipeline.run` ended, after its steps' events, or failed (as dlt 1.x sends it: `elapsed` is the whole run's).",
    properties: stepProperties,
  },
});

export type DltEvents = typeof DLT_EVENTS;

/** What every message carries besides its event's properties: the library's own flag and the context's fields. */
export const DLT_MESSAGE_EXTRAS = [
  "first_run_of_version",
  "context.ci_run",
  "context.cpu",
  "context.exec_info",
  "context.library",
  "context.os",
  "context.runtime",
] as const;

let hash: string | undefined;

/**
 * The hash of what dlt-ts collects (`catalogueHash` of the events and {@link DLT_MESSAGE_EXTRAS}): the first-run
 * notice records it, and is shown once more when it changes. Computed on first use, not at start-up.
 */
export function dltCatalogueHash(): string {
  return (hash ??= catalogueHash(DLT_EVENTS, DLT_MESSAGE_EXTRAS));
}

/** The typed tracker of dlt's events over a client. */
export function dltEvents(telemetry: Telemetry): TypedTracker<DltEvents> {
  return typedTracker(telemetry, DLT_EVENTS);
}

/**
 * dlt-ts's tracking plan: these events and the library's context, as a collector enforces them
 * (`docs/telemetry-plan.json`, generated with the catalogue and checked by the same test).
 */
export function dltPlan(): TelemetryPlan {
  return planOf(DLT_EVENTS, {
    name: "dlt-ts",
    libraryName: "dlt-ts",
    description: "Every event dlt-ts sends, its properties and its context (generated from packages/dlt/src/events.ts).",
    // dlt-ts counts installs (telemetry.ts): the flag must survive a collector's plan.
    firstRunOfVersion: true,
  });
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

## Every event: \`first_run_of_version\`

The first event a machine sends for a version of dlt-ts (whichever event it is) also carries
\`first_run_of_version: true\`; no other event has the property. It is remembered by a marker in the data dir
(\`~/.dlt/telemetry/first-run/dlt-ts@<version>\`), created exclusively, so two first runs at the same moment set it
once. That is how new installs per version per day are counted: there is no id and no hash, and nothing links two
events (Python dlt counts a random id kept per \`~/.dlt\` instead).

| property | type | meaning |
| --- | --- | --- |
| \`first_run_of_version\` | \`true\` | only on the first event this machine sends for this version of dlt-ts |

The same definitions are the tracking plan \`docs/telemetry-plan.json\` (generated with this file), which
\`dlt-collector\` enforces at ingest (its default plan includes it). Which end enforces what:

| field | client (dlt-ts) | collector (with a plan) |
| --- | --- | --- |
| \`event\` | only the events below (\`typedTracker\`) | an event not in the plan is not stored; it is counted by reason (\`GET /api/refused\`) |
| each property below | sent only when its value fits its type | kept only when its value fits its type; any other property is removed |
| \`event_category\`, \`event_name\` | set by the library from the event | kept only when they match the event |
| \`context\` | built by the library (\`ci_run\`, \`cpu\`, \`exec_info\`, \`library\`, \`os\`, \`runtime\`) | only those fields (the default plan also Python dlt's \`python\` and \`dlthub\`), each of its type (\`exec_info\` names among dlt's); any other is removed |
| \`messageId\`, \`anonymousId\` | random UUIDs | kept when they are ids (letters, digits, \`-_.:\`, at most 100); a \`messageId\` that is not is replaced, a message whose \`anonymousId\` is not is refused |
| other top-level fields (\`userId\`, \`traits\`, …) | never sent | removed |
`;
