/**
 * What real Python dlt 1.x sends that identifies nobody, as a plan (merged into the default plan with dlt-ts's own,
 * `default.ts`). Read from dlt-hub/dlt at 58d66fc (2026-04-30): `dlt/common/runtime/anon_tracker.py` (the message:
 * `anonymousId`, `event`, `properties`, `context`), `exec_info.py` (`get_execution_context`), `dlt/pipeline/track.py`
 * (the pipeline steps and `access_dataset`), `dlt/common/runtime/telemetry.py` (`with_telemetry`: `elapsed` and
 * `success` on every command and helper), `dlt/_workspace/cli/*` (`track_command` and the arguments each sends).
 *
 * Left out on purpose (DESIGN.md lists them): `pipeline_name_hash`, `dataset_name_hash`, `default_schema_name_hash`
 * and `requested_schema_name_hash` (unsalted shake128 of names: anyone can confirm a guess), `extract_data` (resource
 * and table names), `destination_fingerprint` (a hash of the destination's location), `context.run_context` (the
 * workspace's name), `helper_dbt_create_runner`'s `package_profile_name`, the `mcp_tool_*` events (tool names and
 * the agent's own description), and any destination or source name that is not one of dlt's own: a custom
 * destination's name is the user's function name, `dlt init`'s source the name the user typed.
 */
import type { PlanEvent, PlanField } from "./plan.js";

/** dlt's destination names (`dlt/destinations/impl/`), the only `destination_name` values kept. */
export const DLT_DESTINATIONS = [
  "athena",
  "bigquery",
  "clickhouse",
  "databricks",
  "dremio",
  "duckdb",
  "ducklake",
  "fabric",
  "filesystem",
  "lancedb",
  "motherduck",
  "mssql",
  "postgres",
  "qdrant",
  "redshift",
  "snowflake",
  "sqlalchemy",
  "synapse",
  "weaviate",
] as const;

const elapsed: PlanField = { type: "number", description: "seconds" };
const success: PlanField = { type: "boolean" };
const destinationName: PlanField = {
  type: "enum",
  values: DLT_DESTINATIONS,
  description: "dlt's name of the destination; a name the user gave it is removed",
};
// `destination` is the type of every custom destination (`@dlt.destination`): it says nothing of its name.
const destinationType: PlanField = {
  type: "enum",
  values: [...DLT_DESTINATIONS, "destination"].map((d) => `dlt.destinations.${d}`),
  description: "the destination's class",
};
const transactionId: PlanField = { type: "id", pattern: "^[0-9a-f]{32}$", description: "random per trace (`uniq_id()`)" };
const version: PlanField = { type: "id", pattern: "^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$" };

/** An event of category `category` and name `name` with `properties` (and `event_category`, `event_name`). */
function event(category: string, name: string, description: string, properties: Record<string, PlanField>): [string, PlanEvent] {
  return [
    `${category}_${name}`,
    {
      description,
      properties: { event_category: { type: "enum", values: [category] }, event_name: { type: "enum", values: [name] }, ...properties },
    },
  ];
}
const command = (name: string, description: string, properties: Record<string, PlanField> = {}): [string, PlanEvent] =>
  event("command", name, description, { elapsed, success, ...properties });
const operation = (values: readonly string[]): Record<string, PlanField> => ({ operation: { type: "enum", values } });

const STEP = { elapsed, success, destination_name: destinationName, destination_type: destinationType, transaction_id: transactionId };

/** dlt 1.x's events; `sources` are the names `dlt init`'s `source_name` may keep (dlt's verified sources). */
export function dltPythonEvents(sources: readonly string[]): Record<string, PlanEvent> {
  return Object.fromEntries([
    ...(["extract", "normalize", "load", "run", "sync"] as const).map((step) =>
      event("pipeline", step, `dlt 1.x: the ${step} step of a pipeline ended (track.py).`, STEP),
    ),
    event("pipeline", "access_dataset", "dlt 1.x: a pipeline's dataset was first read (track.py).", {
      success,
      destination_name: destinationName,
      destination_type: destinationType,
    }),
    command("init", "dlt 1.x: `dlt init <source> <destination>`.", {
      source_name: { type: "enum", values: sources, description: "one of dlt's verified sources; a name the user made up is removed" },
      destination_type: { type: "enum", values: DLT_DESTINATIONS },
    }),
    command("list_sources", "dlt 1.x: `dlt init --list-sources`."),
    command("list_destinations", "dlt 1.x: `dlt init --list-destinations`."),
    command(
      "pipeline",
      "dlt 1.x: `dlt pipeline …`.",
      operation(["list", "show", "sync", "mcp", "info", "trace", "failed-jobs", "drop-pending-packages", "load-package", "schema", "drop"]),
    ),
    command("schema", "dlt 1.x: `dlt schema <file>`.", { format_: { type: "enum", values: ["json", "yaml", "dbml", "dot", "mermaid"] } }),
    command("telemetry", "dlt 1.x: `dlt telemetry`."),
    command("telemetry_switch", "dlt 1.x: `dlt --enable-telemetry` / `--disable-telemetry`.", { enabled: { type: "boolean" } }),
    command("deploy", "dlt 1.x: `dlt deploy`.", { deployment_method: { type: "enum", values: ["github-action", "airflow-composer"] } }),
    command("profile", "dlt 1.x: `dlt profile`.", operation(["info", "list", "pin"])),
    command("workspace", "dlt 1.x: `dlt workspace`.", operation(["info", "clean", "mcp"])),
    command("dashboard", "dlt 1.x: `dlt dashboard`."),
    command(
      "ai",
      "dlt 1.x: `dlt ai …`.",
      operation([
        "secrets_list",
        "secrets_view_redacted",
        "secrets_update_fragment",
        "mcp",
        "mcp-install",
        "status",
        "init",
        "toolkit_install",
        "toolkit_list",
        "toolkit_info",
      ]),
    ),
    event("helper", "airflow_add_run", "dlt 1.x: the Airflow helper's `add_run`.", {
      elapsed,
      success,
      decompose: { type: "enum", values: ["none", "serialize", "parallel", "parallel-isolated"] },
    }),
    event("helper", "dbt_create_runner", "dlt 1.x: the dbt helper's runner (its profile name is removed).", { elapsed, success }),
  ]);
}

/** dlt 1.x's context (`get_execution_context`), without `run_context`. */
export const DLT_PYTHON_CONTEXT: Record<string, PlanField> = {
  ci_run: { type: "boolean" },
  python: { ...version, description: "the Python version" },
  cpu: { type: "number" },
  exec_info: {
    type: "list",
    values: [
      "kubernetes",
      "docker",
      "codespaces",
      "github_actions",
      "airflow",
      "notebook",
      "colab",
      "aws_lambda",
      "gcp_cloud_function",
      "streamlit",
      "dagster",
      "prefect",
      "marimo",
      "claude_code",
      "claude_code_cli",
      "cursor",
      "codex",
    ],
  },
  library: { type: "object", fields: { name: { type: "enum", values: ["dlt", "python-dlt"] }, version } },
  os: {
    type: "object",
    fields: {
      name: { type: "id", pattern: "^[A-Za-z][A-Za-z0-9_]{0,31}$" },
      version: { type: "id", pattern: "^[0-9A-Za-z][0-9A-Za-z._+~-]{0,63}$" },
    },
  },
  dlthub: { type: "object", fields: { name: { type: "id", pattern: "^[a-z][a-z0-9_.-]{0,39}$" }, version } },
};
