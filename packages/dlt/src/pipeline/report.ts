/**
 * The pipeline's telemetry, in one place: a `pipeline_<step>` event when each step ends (in `run`, or called on
 * its own, and `pipeline_run` when a `run` ends), with `elapsed` since its trace started, `success`, the destination's type and the trace's random
 * `transaction_id` (as dlt's `on_end_trace_step` sends them). Nothing about the data, names or paths is sent.
 * Reporting can never fail a pipeline: any error of the telemetry client is swallowed.
 */
import { asDestination, dltEvents } from "../events.js";
import { dltTelemetry } from "../telemetry.js";

/** The steps that send an event: the spec names the first three; dlt 1.x also sends `pipeline_run`, after a run. */
export type ReportedStep = "extract" | "normalize" | "load" | "run";

/** Reports that `step` ended, `elapsed` seconds after its trace (`transactionId`) started. */
export function reportStep(destination: string, transactionId: string, elapsed: number, step: ReportedStep, success: boolean): void {
  try {
    dltEvents(dltTelemetry()).track(`pipeline_${step}`, {
      elapsed,
      success,
      destination_name: asDestination(destination),
      transaction_id: transactionId,
    });
  } catch {
    // Telemetry never changes what the pipeline does.
  }
}
