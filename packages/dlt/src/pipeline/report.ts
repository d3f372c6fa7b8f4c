/**
 * The pipeline's telemetry, in one place: a `pipeline_<step>` event when each step ends, with `elapsed` since the
 * run started, `success`, the destination's type and one random `transaction_id` per run. Nothing about the data,
 * names or paths is sent. Reporting can never fail a run: any error of the telemetry client is swallowed.
 */
import { randomBytes } from "node:crypto";
import { asDestination, dltEvents } from "../events.js";
import { dltTelemetry } from "../telemetry.js";

export type Step = "extract" | "normalize" | "load";

/** Reports the steps of one run. */
export interface StepReporter {
  (step: Step, success: boolean): void;
}

/** A reporter for one run that started at `started` (a `performance.now()` value). */
export function stepReporter(destination: string, started: number): StepReporter {
  const transaction_id = randomBytes(16).toString("hex");
  return (step, success) => {
    try {
      dltEvents(dltTelemetry()).track(`pipeline_${step}`, {
        elapsed: (performance.now() - started) / 1000,
        success,
        destination_name: asDestination(destination),
        transaction_id,
      });
    } catch {
      // Telemetry never changes what the pipeline does.
    }
  };
}

/** Runs one step and reports it: success when it returns, failure when it throws (the error is rethrown unchanged). */
export async function reported<T>(report: StepReporter, step: Step, fn: () => Promise<T>): Promise<T> {
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    report(step, false);
    throw e;
  }
  report(step, true);
  return result;
}
