/**
 * `dlt pipeline <pipeline_name> trace`: the last run (`Pipeline.lastTrace`, read from the pipeline's folder) —
 * when it started and how it ended, each step with its timing, packages and rows per table, and the error of a
 * step that failed — in dlt's wording, or as the trace's data with `--format json`.
 */
import type { Command } from "commander";
import type { PipelineStepTrace, PipelineTrace } from "../../../pipeline/trace.js";
import type { CliSession } from "../../session.js";
import { count, formatOption, printJson, seconds, type OutputFormat } from "../format.js";
import { operation, runOperation } from "./operation.js";

const STATE_AFTER: Record<PipelineStepTrace["step"], string> = {
  extract: "EXTRACTED and NOT YET LOADED to the destination",
  normalize: "NORMALIZED and NOT YET LOADED to the destination",
  load: "LOADED",
  run: "LOADED",
};

function rowsList(rows: Readonly<Record<string, number>>, unit: string): string[] {
  return Object.entries(rows).map(([t, n]) => `- ${t}: ${count(n)} ${unit}(s)`);
}

/** One step as dlt's `PipelineStepTrace.asstr` says it, with its step info. */
function stepText(trace: PipelineTrace, s: PipelineStepTrace): string {
  const lines = [`Step ${s.step} ${s.exception ? "FAILED" : "COMPLETED"} in ${seconds(s.elapsed)}.`];
  if (s.exception) {
    lines.push(`Failed due to: ${s.exception.type}: ${s.exception.message}`);
    if (s.exception.loadId) lines.push(`(when processing load package ${s.exception.loadId})`);
    return lines.join("\n");
  }
  if (s.step === "extract") {
    lines.push(Object.keys(s.rows).length > 0 ? "Extracted data for the following tables:" : "No data extracted", ...rowsList(s.rows, "item"));
  } else if (s.step === "normalize") {
    lines.push(
      Object.keys(s.rows).length > 0 ? "Normalized data for the following tables:" : "No data found to normalize",
      ...rowsList(s.rows, "row"),
    );
  } else {
    lines.push(
      `Pipeline ${trace.pipelineName} ${s.step} step completed in ${seconds(s.elapsed)}`,
      `${s.loadIds.length} load package(s) were loaded to destination ${trace.destination} and into dataset ${trace.datasetName}`,
      `The ${trace.destination} destination used ${trace.dbPath} location to store data`,
      ...rowsList(s.rows, "row"),
    );
  }
  for (const id of s.loadIds) lines.push(`Load package ${id} is ${STATE_AFTER[s.step]} and contains no failed jobs`);
  return lines.join("\n");
}

/** The trace as dlt's `PipelineTrace.asstr` says it. */
export function traceText(trace: PipelineTrace): string {
  const last = trace.steps.at(-1);
  const failed = trace.steps.some((s) => s.exception !== undefined);
  const elapsed = trace.finishedAt ? seconds((Date.parse(trace.finishedAt) - Date.parse(trace.startedAt)) / 1000) : "---";
  const head = `Run started at ${trace.startedAt} and ${failed ? "FAILED" : "COMPLETED"} in ${elapsed} with ${trace.steps.length} steps.`;
  return [head, ...(last ? [trace.steps.map((s) => stepText(trace, s)).join("\n\n")] : [])].join("\n") + "\n";
}

export function registerTrace(group: Command, session: CliSession): void {
  operation(group, "trace", "show the last run: its steps with their timing, rows per table, and the error of a step that failed")
    .addOption(formatOption())
    .action((name: string, opts: { format: OutputFormat }) =>
      runOperation(session, "trace", async () => {
        const io = session.io;
        const { attach } = await import("../../../pipeline/pipeline.js");
        const trace = attach(name).lastTrace;
        if (opts.format === "json") {
          printJson(io, trace ?? null);
          return 0;
        }
        if (!trace || trace.steps.length === 0) {
          io.out("Pipeline does not have last run trace.\n");
          return 0;
        }
        io.out(traceText(trace));
        return 0;
      }),
    );
}
