/**
 * `dlt pipeline <pipeline_name> load-package [load_id]`: a package (default: the newest — extracted, else
 * normalized, else completed, as dlt picks it), its state, its jobs (one file per table) with their sizes and rows,
 * and the error of its last failed load.
 */
import type { Command } from "commander";
import type { CliSession } from "../../session.js";
import { bytes, count, formatOption, printJson, table, type OutputFormat } from "../format.js";
import { operation, runOperation, verbosity } from "./operation.js";

export function registerLoadPackage(group: Command, session: CliSession): void {
  operation(group, "load-package", "show a load package (default: the most recent): its state, jobs, sizes, rows and the error of a failed load")
    .argument("[load_id]", "the package's load id (default: the most recent package)")
    .addOption(formatOption())
    .action((name: string, wanted: string | undefined, opts: { format: OutputFormat }, command: Command) =>
      runOperation(session, "load-package", async () => {
        const io = session.io;
        const { attach } = await import("../../../pipeline/pipeline.js");
        const p = attach(name);
        let loadId = wanted;
        if (loadId === undefined) {
          loadId = [p.listExtractedLoadPackages(), p.listNormalizedLoadPackages(), p.listCompletedLoadPackages()]
            .find((ids) => ids.length > 0)
            ?.at(-1);
          if (loadId === undefined) {
            io.err(`error: there are no load packages for pipeline ${p.pipelineName}\n`);
            return 1;
          }
        }
        const info = p.getLoadPackageInfo(loadId);
        if (opts.format === "json") {
          printJson(io, info);
          return 0;
        }
        const state = info.state.toUpperCase();
        const done = info.completedAt ? `The package was ${state} at ${info.completedAt}.` : "The package is NOT YET LOADED to the destination.";
        const out = [`Package ${info.loadId} found in ${info.location}`];
        out.push(`The package with load id ${info.loadId}${info.schemaName ? ` for schema ${info.schemaName}` : ""} is in ${state} state. ${done}`);
        if (info.droppedTables.length > 0) out.push(`It drops tables: ${info.droppedTables.join(", ")}`);
        if (info.failure) {
          out.push(
            `Its last load FAILED at ${info.failure.failedAt}${info.failure.table ? ` on table ${info.failure.table}` : ""}:`,
            info.failure.message,
          );
        }
        out.push("Jobs details:");
        const rows = info.jobs.map((j) => [j.table, j.state, j.file, j.fileFormat, bytes(j.bytes), count(j.rows)]);
        out.push(rows.length > 0 ? table(["TABLE", "STATE", "FILE", "TYPE", "SIZE", "ROWS"], rows).trimEnd() : "(no jobs)");
        // -v: the tables of the package and their columns, as the package's schema has them (dlt's verbose view).
        const schema = verbosity(command) > 0 ? p.schema(info.schemaName) : undefined;
        if (schema) {
          out.push("Tables and columns:");
          for (const t of [...new Set(info.jobs.map((j) => j.table))]) {
            const columns = schema.tables[t]?.columns ?? {};
            out.push(
              `- ${t}: ${
                Object.entries(columns)
                  .map(([c, def]) => `${c} (${String(def.data_type ?? "?")})`)
                  .join(", ") || "(no columns)"
              }`,
            );
          }
        }
        io.out(out.join("\n") + "\n");
        return 0;
      }),
    );
}
