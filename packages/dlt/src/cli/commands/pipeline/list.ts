/**
 * `dlt pipeline --list-pipelines` (`-l`, or `dlt pipeline` alone): the pipelines in the data dir with their last
 * run, the most recent first, as dlt lists them.
 */
import type { Command } from "commander";
import type { CliSession } from "../../session.js";
import { formatOption, printJson, table, when, type OutputFormat } from "../format.js";
import { runOperation } from "./operation.js";

export function registerList(group: Command, session: CliSession): void {
  group
    .command("list", { hidden: true })
    .description("list the pipelines in the data dir, with their last run")
    .addOption(formatOption())
    .allowExcessArguments(false)
    .showHelpAfterError("(run `dlt pipeline --help` for usage)")
    .action((opts: { format: OutputFormat }) =>
      runOperation(session, "list", async () => {
        const io = session.io;
        const { listPipelines } = await import("../../../pipeline/inspect.js");
        const { pipelinesDir, pipelines } = listPipelines();
        if (opts.format === "json") {
          printJson(io, { pipelinesDir, pipelines });
          return 0;
        }
        if (pipelines.length === 0) {
          io.out(`No pipelines found in ${pipelinesDir}\n`);
          return 0;
        }
        io.out(`${pipelines.length} ${pipelines.length === 1 ? "pipeline" : "pipelines"} found in ${pipelinesDir}\n`);
        const rows = pipelines.map((p) => [
          p.name,
          p.datasetName ?? "-",
          !p.lastRun
            ? "never"
            : p.lastRun.from === "state"
              ? `${when(p.lastRun.startedAt)}, loaded (synced from the destination)`
              : `${when(p.lastRun.finishedAt ?? p.lastRun.startedAt)}, ${p.lastRun.failed ? "FAILED" : "COMPLETED"}`,
        ]);
        io.out(table(["PIPELINE", "DATASET", "LAST RUN"], rows));
        return 0;
      }),
    );
}
