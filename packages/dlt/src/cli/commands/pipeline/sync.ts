/**
 * `dlt pipeline <pipeline_name> sync [--yes]`: replaces what this machine keeps of the pipeline (state, schemas,
 * pending packages, trace) with the state and schemas stored in its destination (`Pipeline.restoreFromDestination`,
 * dlt's drop of the local state followed by `sync_destination`). For a pipeline with no folder here, the dataset
 * is `--dataset-name` (default `<pipeline_name>_dataset`) of `<pipeline_name>.duckdb` in the working directory,
 * as dlt finds a DuckDB destination.
 */
import { Option, type Command } from "commander";
import type { Pipeline } from "../../../pipeline/pipeline.js";
import type { CliSession } from "../../session.js";
import { confirm, yesOption } from "../confirm.js";
import { operation, runOperation } from "./operation.js";

export function registerSync(group: Command, session: CliSession): void {
  operation(group, "sync", "drop the local state of the pipeline and restore its state and schemas from the destination (asks first)")
    .addOption(new Option("--destination <destination>", "the destination, when the pipeline has no local state").choices(["duckdb"]))
    .option("--dataset-name <name>", "the dataset to restore from, when the pipeline has no local state")
    .addOption(yesOption())
    .action((name: string, opts: { datasetName?: string; yes?: boolean }) =>
      runOperation(session, "sync", async () => {
        const io = session.io;
        const [{ attach, pipeline }, { PipelineNotFound }] = await Promise.all([
          import("../../../pipeline/pipeline.js"),
          import("../../../pipeline/errors.js"),
        ]);
        let p: Pipeline;
        try {
          p = attach(name);
          const answer = await confirm(
            io,
            `About to drop the local state of pipeline ${name} and reset all the schemas. The destination state, data and schemas are left intact. Proceed?`,
            opts.yes === true,
            `dlt pipeline ${name} sync`,
          );
          if (answer === "refused") return 1;
          if (answer === "no") {
            io.out("Nothing was changed\n");
            return 0;
          }
        } catch (e) {
          if (!(e instanceof PipelineNotFound)) throw e;
          // Nothing local to lose: restore from the destination as the options (or defaults) say.
          p = pipeline({
            pipelineName: name,
            destination: "duckdb",
            ...(opts.datasetName ? { datasetName: opts.datasetName } : {}),
            progress: false,
          });
        }
        io.out(`Restoring from destination ${p.dbPath} (dataset ${p.datasetName})\n`);
        const r = await p.restoreFromDestination();
        io.out(
          `Dropped the local state and restored pipeline ${name}: state version ${r.state._state_version}, schemas: ${r.restoredSchemas.join(", ") || "none"}\n`,
        );
        return 0;
      }),
    );
}
