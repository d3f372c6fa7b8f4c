/**
 * `dlt pipeline <pipeline_name> drop <table…> [--yes]`: drops root tables (dlt's resources) with their nested
 * tables from the dataset, removes them from the schema and resets their resource state, after showing what it
 * will do and asking (dlt's `drop`, selecting by exact table name).
 */
import type { Command } from "commander";
import type { CliSession } from "../../session.js";
import { confirm, yesOption } from "../confirm.js";
import { operation, runOperation } from "./operation.js";

const list = (names: readonly string[]): string => (names.length > 0 ? names.join(", ") : "none");

export function registerDrop(group: Command, session: CliSession): void {
  operation(group, "drop", "drop tables (with their nested tables) from the dataset, reset their schema and state (asks first)")
    .argument("<tables...>", "root tables to drop (dlt's resources); their nested tables go with them")
    .addOption(yesOption())
    .action((name: string, tables: string[], opts: { yes?: boolean }) =>
      runOperation(session, "drop", async () => {
        const io = session.io;
        const { attach } = await import("../../../pipeline/pipeline.js");
        const p = attach(name);
        const plan = await p.prepareDrop(tables);
        const i = plan.info;
        io.out(
          [
            `About to drop the following data in dataset ${i.datasetName} in destination ${i.destination} (${i.dbPath}):`,
            `Selected schema: ${i.schemaName}`,
            `Selected resource(s): ${list(i.resourceNames)}`,
            `Table(s) to drop: ${list(i.tables)}`,
            `\twith data in destination: ${list(i.tablesWithData)}`,
            `Resource(s) state to reset: ${list(i.resourceStates)}`,
            "",
          ].join("\n"),
        );
        const answer = await confirm(io, "Do you want to apply these changes?", opts.yes === true, `dlt pipeline ${name} drop`);
        if (answer === "refused") return 1;
        if (answer === "no") {
          io.out("Nothing was dropped\n");
          return 0;
        }
        const done = await p.drop(plan);
        io.out(
          `Dropped ${list(done.droppedTables)} from dataset ${i.datasetName} (load id ${done.loadId}); schema ${i.schemaName} is now version ${plan.schema.version}\n`,
        );
        return 0;
      }),
    );
}
