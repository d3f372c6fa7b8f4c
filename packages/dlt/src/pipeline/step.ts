/**
 * The one place where a pipeline's step starts, reports and ends (dlt's `with_runtime_trace` with its
 * `on_end_trace_step` telemetry): every step of a `Pipeline` — `extract`, `normalize`, `load` and the `run` around
 * them — goes through {@link StepRunner.run}, which traces it (`trace.ts`), names its failure
 * ({@link PipelineStepFailed}), sends its event (`report.ts`) and saves the trace when the call that started it
 * ends. What a step does is its runner's: `extract.ts`, `normalize-packages.ts`, `load.ts`.
 */
import { PipelineStepFailed, stepFailed } from "./errors.js";
import type { LoadInfo } from "./info.js";
import type { PipelineDir } from "./package.js";
import { reportStep } from "./report.js";
import { mergeTraces, stepException, TraceRecorder, type PipelineTrace, type StepException, type StepSummary, type TraceStepName } from "./trace.js";

/** What a step ends with, as its trace records it: the packages it made or processed, the rows (items) per table. */
export interface StepResult {
  readonly loadIds: readonly string[];
  readonly tables: Readonly<Record<string, number>>;
}

/** The pipeline whose steps are run. */
export interface StepTarget {
  readonly pipelineName: string;
  readonly datasetName: string;
  readonly dbPath: string;
  readonly destination: string;
  readonly folder: PipelineDir;
}

/** Runs a pipeline's steps and keeps their trace. */
export class StepRunner {
  /** The trace of the top-level call in progress (dlt's `_trace`). */
  private current: TraceRecorder | undefined;
  /** The last trace, once this object ran or read it (dlt's `_last_trace`). */
  private last: PipelineTrace | undefined;

  constructor(private readonly target: StepTarget) {}

  /**
   * Runs step `name`: a call made outside any trace starts one, with a new `transaction_id`; a step inside a run
   * joins the run's. `work` says which package it is processing, so that its failure is a
   * {@link PipelineStepFailed} naming the step and the package (a failure of `run` is one of its steps', and passes
   * through). The step's event is sent when it ends, and the trace is saved (merged with the last one when it has a
   * single step) when the call that started it ends.
   */
  async run<R extends StepResult>(name: TraceStepName, work: (processing: (loadId: string) => void) => Promise<R>): Promise<R> {
    const { target } = this;
    const top = this.current === undefined;
    const trace = (this.current ??= new TraceRecorder(target));
    const started = { at: new Date(), ms: performance.now() };
    const ended = (summary: StepSummary, exception?: StepException): void => {
      trace.endStep(name, started, summary, exception);
      const elapsed = (performance.now() - trace.startedMs) / 1000;
      // Every step sends its event, `run` too (dlt 1.x sends `pipeline_run` when the whole call ends, last).
      reportStep(target.destination, trace.transactionId, elapsed, name, exception === undefined);
    };
    let loadId: string | undefined;
    try {
      const result = await work((id) => (loadId = id));
      ended({ loadIds: result.loadIds, rows: result.tables });
      return result;
    } catch (e) {
      const error = name === "run" ? e : stepFailed(target.folder, target.pipelineName, name, loadId, e);
      const failed = error instanceof PipelineStepFailed ? error : undefined;
      ended({ loadIds: failed?.loadId ? [failed.loadId] : [], rows: {} }, stepException(failed ? failed.cause : e, failed?.loadId));
      throw error;
    } finally {
      if (top) {
        this.current = undefined;
        this.last = mergeTraces(this.lastTrace, trace.finish());
        try {
          target.folder.writeTrace(this.last);
        } catch (e) {
          // The run's own outcome stands; a trace that cannot be saved is said, not thrown (dlt warns too).
          process.emitWarning(`dlt-ts: the trace of pipeline ${target.pipelineName} could not be saved: ${(e as Error).message}`);
        }
      }
    }
  }

  /** The last trace: of this object's last call, else the one in the pipeline's folder. */
  get lastTrace(): PipelineTrace | undefined {
    return (this.last ??= this.target.folder.readTrace());
  }

  /** Forgets the last trace (its folder was wiped). */
  forgetLastTrace(): void {
    this.last = undefined;
  }
}

/** Seconds each step of a call took, as {@link LoadInfo} reports them: 0 for a step the call did not run. */
export type StepSeconds = { -readonly [S in keyof LoadInfo["elapsed"]]: number };

export const noSeconds = (): StepSeconds => ({ extract: 0, normalize: 0, load: 0 });

/** Runs `work`, keeping the seconds it took in `seconds[step]` (also when it fails). */
export async function measureStep<T>(seconds: StepSeconds, step: keyof StepSeconds, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    seconds[step] = (performance.now() - started) / 1000;
  }
}
