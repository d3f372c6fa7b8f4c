/**
 * `dlt init <source> <destination> [--force]`: scaffolds a pipeline (see `src/init/`). Sends `command_init` with
 * the destination asked for and the source when it is a public one (else `custom`).
 */
import type { Command } from "commander";
import { asDestination } from "../../events.js";
import { reportableSource } from "../../init/sources.js";
import type { CliSession } from "../session.js";

export function registerInit(program: Command, session: CliSession): void {
  program
    .command("init")
    .description("create a new pipeline from a source template")
    .argument("<source>", "source name, e.g. chess (a template) or any identifier (generic template)")
    .argument("<destination>", "destination name: duckdb")
    .option("--force", "overwrite existing files")
    .action((source: string, destination: string, opts: { force?: boolean }) =>
      session.run("command_init", { pipeline_name: reportableSource(source), destination_name: asDestination(destination) }, async () => {
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
      }),
    );
}
