/**
 * `dlt pipeline <pipeline_name> drop-pending-packages [--yes]`: deletes the packages waiting to be normalized or
 * loaded (one whose load keeps failing, say), after a confirmation. The data already loaded is not touched.
 */
import type { Command } from "commander";
import type { CliSession } from "../../session.js";
import { confirm, yesOption } from "../confirm.js";
import { operation, runOperation } from "./operation.js";

export function registerDropPendingPackages(group: Command, session: CliSession): void {
  operation(group, "drop-pending-packages", "delete the packages waiting to be normalized or loaded (asks first)")
    .addOption(yesOption())
    .action((name: string, opts: { yes?: boolean }) =>
      runOperation(session, "drop-pending-packages", async () => {
        const io = session.io;
        const { attach } = await import("../../../pipeline/pipeline.js");
        const p = attach(name);
        const extracted = p.listExtractedLoadPackages();
        const normalized = p.listNormalizedLoadPackages();
        if (extracted.length + normalized.length === 0) {
          io.out("No pending packages found\n");
          return 0;
        }
        if (extracted.length > 0)
          io.out(`Has ${extracted.length} extracted packages ready to be normalized with following load ids:\n${extracted.join("\n")}\n`);
        if (normalized.length > 0)
          io.out(`Has ${normalized.length} normalized packages ready to be loaded with following load ids:\n${normalized.join("\n")}\n`);
        const answer = await confirm(io, "Delete the above packages?", opts.yes === true, `dlt pipeline ${name} drop-pending-packages`);
        if (answer === "refused") return 1;
        if (answer === "no") {
          io.out("Nothing was deleted\n");
          return 0;
        }
        await p.dropPendingPackages();
        io.out("Pending packages deleted\n");
        return 0;
      }),
    );
}
