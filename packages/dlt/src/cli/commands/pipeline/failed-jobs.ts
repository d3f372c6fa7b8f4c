/**
 * `dlt pipeline <pipeline_name> failed-jobs`: the jobs whose load failed, with the error DuckDB gave, in every
 * package waiting to be loaded (dlt scans its completed packages too; in dlt-ts a package loads whole or not at all,
 * so only a package still waiting can hold a failed job).
 */
import type { Command } from "commander";
import type { CliSession } from "../../session.js";
import { formatOption, printJson, type OutputFormat } from "../format.js";
import { operation, runOperation } from "./operation.js";

export function registerFailedJobs(group: Command, session: CliSession): void {
  operation(group, "failed-jobs", "show the jobs whose load failed, with the error DuckDB gave")
    .addOption(formatOption())
    .action((name: string, opts: { format: OutputFormat }) =>
      runOperation(session, "failed-jobs", async () => {
        const io = session.io;
        const { attach } = await import("../../../pipeline/pipeline.js");
        const p = attach(name);
        const failed = p.listFailedJobs();
        if (opts.format === "json") {
          printJson(io, { pipelineName: p.pipelineName, failedJobs: failed });
          return 0;
        }
        const out: string[] = [];
        for (const loadId of p.listNormalizedLoadPackages()) {
          out.push(`Checking failed jobs in load id '${loadId}'`);
          const jobs = failed.filter((f) => f.loadId === loadId);
          if (jobs.length === 0) out.push("No failed jobs found");
          for (const j of jobs) {
            out.push(`JOB: ${j.file ?? "(package)"}(${j.table ?? "-"})`);
            if (j.fileFormat) out.push(`JOB file type: ${j.fileFormat}`);
            out.push(`Failed at: ${j.failedAt}`, j.message, "");
          }
        }
        if (out.length === 0) out.push("No failed jobs found");
        io.out(out.join("\n").trimEnd() + "\n");
        return 0;
      }),
    );
}
