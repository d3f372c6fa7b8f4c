/**
 * `dlt init <source> <destination> [--force]`: scaffolds a pipeline (see `src/init/`). Sends `command_init` with
 * the destination asked for and the source when it is a public one (else `custom`).
 * `dlt init --list-sources` / `--list-destinations`: what `init` can scaffold, and into what; they send dlt's
 * `command_list_sources` / `command_list_destinations`.
 */
import type { Command } from "commander";
import { asDestination } from "../../events.js";
import { reportableSource } from "../../init/sources.js";
import type { CliSession } from "../session.js";
import { formatOption, printJson, table, type OutputFormat } from "./format.js";

interface InitOptions {
  force?: boolean;
  listSources?: boolean;
  listDestinations?: boolean;
  format: OutputFormat;
}

function listSources(session: CliSession, format: OutputFormat): Promise<void> {
  return session.run("command_list_sources", {}, async () => {
    const { GENERIC_TEMPLATE, TEMPLATE_SOURCES } = await import("../../init/index.js");
    const sources = [
      ...TEMPLATE_SOURCES.map((t) => ({ ...t, template: `${t.name}_pipeline.ts` })),
      { name: "<any other name>", description: GENERIC_TEMPLATE, template: "<name>_pipeline.ts" },
    ];
    if (format === "json") printJson(session.io, { sources });
    else
      session.io.out(
        `Available dlt-ts templates (dlt init <source> duckdb):\n${table(
          ["SOURCE", "WRITES", "LOADS"],
          sources.map((s) => [s.name, s.template, s.description]),
        )}`,
      );
    return 0;
  });
}

function listDestinations(session: CliSession, format: OutputFormat): Promise<void> {
  return session.run("command_list_destinations", {}, async () => {
    const { SUPPORTED_DESTINATIONS } = await import("../../init/index.js");
    if (format === "json") printJson(session.io, { destinations: [...SUPPORTED_DESTINATIONS] });
    else session.io.out(`Available dlt-ts destinations:\n${SUPPORTED_DESTINATIONS.join("\n")}\n`);
    return 0;
  });
}

export function registerInit(program: Command, session: CliSession): void {
  const init = program
    .command("init")
    .description("create a new pipeline from a source template; --list-sources and --list-destinations show what it can make")
    .argument("[source]", "source name, e.g. chess (a template) or any identifier (generic template)")
    .argument("[destination]", "destination name: duckdb")
    .option("--force", "overwrite existing files")
    .option("-l, --list-sources", "list the sources init has a template of")
    .option("--list-destinations", "list the destinations init can write a pipeline for")
    .addOption(formatOption());
  init.action((source: string | undefined, destination: string | undefined, opts: InitOptions) => {
    if (opts.listSources) return listSources(session, opts.format);
    if (opts.listDestinations) return listDestinations(session, opts.format);
    // dlt takes both arguments as optional for the list flags; without them, both are required.
    if (source === undefined) return init.error("error: missing required argument 'source'", { exitCode: 2, code: "commander.missingArgument" });
    if (destination === undefined)
      return init.error("error: missing required argument 'destination'", { exitCode: 2, code: "commander.missingArgument" });
    return session.run("command_init", { pipeline_name: reportableSource(source), destination_name: asDestination(destination) }, async () => {
      const { initCommand } = await import("../../init/index.js");
      const io = session.io;
      const r = await initCommand({
        source,
        destination,
        force: opts.force === true,
        cwd: process.cwd(),
        out: (line) => io.out(line + "\n"),
        err: (line) => io.err(line + "\n"),
      });
      return r.exitCode;
    });
  });
}
