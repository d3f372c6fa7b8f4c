/**
 * `dlt schema <file> [--format yaml|json]`: reads a dlt schema file (JSON when its name ends in `.json`, else YAML),
 * checks it, and prints it as dlt prints schemas. Sends `command_schema` with the format (dlt's `format_`).
 */
import { Option, type Command } from "commander";
import { SCHEMA_FORMATS, type SchemaFormat } from "../../events.js";
import type { CliSession } from "../session.js";

export function registerSchema(program: Command, session: CliSession): void {
  program
    .command("schema")
    .description("show a dlt schema file (yaml or json), checked, in yaml or json")
    .argument("<file>", "schema file name, in yaml or json format (told by its extension)")
    .addOption(new Option("--format <format>", "display the schema in this format").choices(SCHEMA_FORMATS).default("yaml"))
    .action((file: string, opts: { format: SchemaFormat }) =>
      session.run("command_schema", { format_: opts.format }, async () => {
        const { exportSchema, readSchemaFile } = await import("../../pipeline/schema-file.js");
        session.io.out(exportSchema(readSchemaFile(file), opts.format));
        return 0;
      }),
    );
}
