/**
 * The trace of a pipeline's last run (dlt's `PipelineTrace`, `dlt/pipeline/trace.py`): when it started and ended,
 * each step with its timing, load packages and rows per table, and the error of a step that failed. It is what
 * `dlt pipeline <name> trace` prints, as data: `Pipeline.lastTrace`, kept in the pipeline's folder (`trace.json`,
 * dlt's `trace.pickle`) so another process reads it.
 *
 * As in dlt's `with_runtime_trace`: a top-level call (`run`, or a step called on its own) is one trace with one
 * `transactionId`, and its steps share it; a trace of a single step is appended to the last trace instead of
 * replacing it (dlt's `merge_traces`), so `extract()`, `normalize()` and `load()` called one after the other read as
 * one run, whose `transactionId` is the first call's.
 */
import { randomBytes } from "node:crypto";

/** A traced step: dlt's `TPipelineStep` for what dlt-ts does. `run` is the step of the whole run, last. */
export type TraceStepName = "extract" | "normalize" | "load" | "run";

/** dlt's `TRACE_ENGINE_VERSION`. */
export const TRACE_ENGINE_VERSION = 1;
/** dlt keeps the last 100 steps of merged traces. */
const MAX_STEPS = 100;

/** Why a step failed: the error that caused it (never a stack; paths stay on this machine). */
export interface StepException {
  /** The error's class name, e.g. `Error`, `TypeError`. */
  readonly type: string;
  readonly message: string;
  /** The package the step was processing, when there was one. */
  readonly loadId?: string;
}

/** One step of a trace (dlt's `PipelineStepTrace`). */
export interface PipelineStepTrace {
  readonly step: TraceStepName;
  /** ISO 8601. */
  readonly startedAt: string;
  /** ISO 8601. */
  readonly finishedAt: string;
  /** Seconds. */
  readonly elapsed: number;
  /** Packages the step made or processed. */
  readonly loadIds: readonly string[];
  /** Items per resource (extract) or rows per table (normalize, load, run), nested tables included. */
  readonly rows: Readonly<Record<string, number>>;
  /** Set when the step failed. */
  readonly exception?: StepException;
}

/** The trace of a run (dlt's `PipelineTrace`). */
export interface PipelineTrace {
  readonly engineVersion: typeof TRACE_ENGINE_VERSION;
  /** 32 hex digits: the id its `pipeline_<step>` telemetry events carry. */
  readonly transactionId: string;
  readonly pipelineName: string;
  readonly destination: "duckdb";
  readonly datasetName: string;
  /** Absolute path of the DuckDB file. */
  readonly dbPath: string;
  /** ISO 8601. */
  readonly startedAt: string;
  /** ISO 8601; undefined while the run is in progress. */
  readonly finishedAt: string | undefined;
  readonly steps: readonly PipelineStepTrace[];
}

/** What a step reports about itself when it ends. */
export interface StepSummary {
  readonly loadIds: readonly string[];
  readonly rows: Readonly<Record<string, number>>;
}

/** The trace of one top-level call while it runs. */
export class TraceRecorder {
  readonly transactionId = randomBytes(16).toString("hex");
  readonly startedAt = new Date();
  /** `performance.now()` at the start: step events count their `elapsed` from here, as dlt's do. */
  readonly startedMs = performance.now();
  private readonly steps: PipelineStepTrace[] = [];
  private finishedAt: Date | undefined;

  constructor(readonly where: { readonly pipelineName: string; readonly datasetName: string; readonly dbPath: string }) {}

  /** Records a step that started at `started` (a `performance.now()` value, with its wall-clock time). */
  endStep(step: TraceStepName, started: { at: Date; ms: number }, summary: StepSummary, exception?: StepException): void {
    this.steps.push({
      step,
      startedAt: started.at.toISOString(),
      finishedAt: new Date().toISOString(),
      elapsed: (performance.now() - started.ms) / 1000,
      loadIds: [...summary.loadIds],
      rows: { ...summary.rows },
      ...(exception ? { exception } : {}),
    });
  }

  finish(): PipelineTrace {
    this.finishedAt ??= new Date();
    return {
      engineVersion: TRACE_ENGINE_VERSION,
      transactionId: this.transactionId,
      pipelineName: this.where.pipelineName,
      destination: "duckdb",
      datasetName: this.where.datasetName,
      dbPath: this.where.dbPath,
      startedAt: this.startedAt.toISOString(),
      finishedAt: this.finishedAt.toISOString(),
      steps: [...this.steps],
    };
  }
}

/** dlt's `merge_traces`: a trace of one step is appended to the last one; a longer one replaces it. */
export function mergeTraces(last: PipelineTrace | undefined, next: PipelineTrace): PipelineTrace {
  if (next.steps.length !== 1 || last === undefined || last.pipelineName !== next.pipelineName) return next;
  return {
    ...last,
    datasetName: next.datasetName,
    dbPath: next.dbPath,
    steps: [...last.steps, ...next.steps].slice(-MAX_STEPS),
    finishedAt: next.finishedAt,
  };
}

/** The exception a trace keeps of an error: its class and message. */
export function stepException(e: unknown, loadId: string | undefined): StepException {
  const type = e instanceof Error ? e.constructor.name || e.name : typeof e;
  const message = e instanceof Error ? e.message : String(e);
  return { type, message, ...(loadId ? { loadId } : {}) };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const STEPS = new Set<string>(["extract", "normalize", "load", "run"]);

/** A trace read from `trace.json`, checked; undefined when it is not one this version wrote. */
export function asTrace(v: unknown): PipelineTrace | undefined {
  if (!isObj(v) || v["engineVersion"] !== TRACE_ENGINE_VERSION || typeof v["transactionId"] !== "string" || !Array.isArray(v["steps"]))
    return undefined;
  if (
    typeof v["pipelineName"] !== "string" ||
    typeof v["startedAt"] !== "string" ||
    typeof v["datasetName"] !== "string" ||
    typeof v["dbPath"] !== "string"
  )
    return undefined;
  const steps = v["steps"] as unknown[];
  const ok = steps.every(
    (s) => isObj(s) && STEPS.has(String(s["step"])) && typeof s["elapsed"] === "number" && Array.isArray(s["loadIds"]) && isObj(s["rows"]),
  );
  return ok ? (v as unknown as PipelineTrace) : undefined;
}
