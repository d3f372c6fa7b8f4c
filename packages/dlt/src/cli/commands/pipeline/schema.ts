/**
 * `dlt pipeline <pipeline_name> schema [--format yaml|json]`: the pipeline's default schema as of its last load, as
 * dlt prints it. Only the schema goes to stdout (so it can be piped into a file); the line saying which schema it
 * is goes to stderr.
 */
import { Option, type Command } from "commander";
import { SCHEMA_FORMATS, type SchemaFormat } from "../../../events.js";
import type { CliSession } from "../../session.js";
import { operation, runOperation } from "./operation.js";

export function registerPipelineSchema(group: Command, session: CliSession): void {
  operation(group, "schema", "show the pipeline's default schema (as of its last load)")
    .addOption(new Option("--format <format>", "display the schema in this format").choices(SCHEMA_FORMATS).default("yaml"))
    .action((name: string, opts: { format: SchemaFormat }) =>
      runOperation(session, "schema", async () => {
        const io = session.io;
        const [{ attach }, { exportSchema }] = await Promise.all([
          import("../../../pipeline/pipeline.js"),
          import("../../../pipeline/schema-file.js"),
        ]);
        const p = attach(name);
        const schemaName = p.state?.default_schema_name ?? p.schemaName;
        const schema = p.schema(schemaName);
        if (!schema) {
          io.err(`error: pipeline ${p.pipelineName} does not have a default schema yet (it has not loaded anything)\n`);
          return 1;
        }
        io.err(`Found schema with name ${schema.name}\n`);
        io.out(exportSchema(schema, opts.format));
        return 0;
      }),
    );
}
