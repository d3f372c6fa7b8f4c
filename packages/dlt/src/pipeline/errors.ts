/**
 * The errors a pipeline raises about itself, named as dlt names them (`dlt/pipeline/exceptions.py`). A step that
 * fails names itself and the package it was processing, with the original error as its `cause`.
 */
import type { PipelineDir } from "./package.js";

/** A step of a pipeline that can fail: dlt's `TPipelineStep` (`sync` is the restore from the destination). */
export type PipelineStep = "sync" | "extract" | "normalize" | "load";

/**
 * A pipeline step failed (dlt's `PipelineStepFailed(pipeline, step, load_id, exception)`): `step` says which,
 * `loadId` the package it was processing (if any), `cause` the error as it was raised (DuckDB's, the data's, …).
 * @example
 * try { await p.run(data) } catch (e) { if (e instanceof PipelineStepFailed && e.step === "load") console.error(e.loadId, e.cause) }
 */
export class PipelineStepFailed extends Error {
  override readonly name = "PipelineStepFailed";

  constructor(
    readonly pipelineName: string,
    readonly step: PipelineStep,
    readonly loadId: string | undefined,
    override readonly cause: unknown,
    /** Packages are left in the pipeline's folder and are finished by its next run. */
    readonly hasPendingData: boolean,
  ) {
    const inner = cause instanceof Error ? `${cause.constructor.name || cause.name}\n${cause.message}` : String(cause);
    const at = loadId ? ` when processing package with \`load_id=${loadId}\`` : "";
    const pending = hasPendingData
      ? `\nPending packages are left in the pipeline and will be retried on its next run. Run \`dlt pipeline ${pipelineName} info\` ` +
        `for more information or \`dlt pipeline ${pipelineName} drop-pending-packages\` to drop them.`
      : "";
    // dlt's wording.
    super(`Pipeline execution failed at \`step=${step}\`${at} with exception:\n\n${inner}${pending ? `\n${pending}` : ""}`);
  }
}

/**
 * The error step `step` of the pipeline in `folder` throws: a {@link PipelineStepFailed} naming it and the package
 * (one from an inner step passes through), saying whether packages are left for the next run.
 */
export function stepFailed(
  folder: PipelineDir,
  pipelineName: string,
  step: PipelineStep,
  loadId: string | undefined,
  cause: unknown,
): PipelineStepFailed {
  if (cause instanceof PipelineStepFailed) return cause;
  let pending = false;
  try {
    pending = folder.pendingPackages().length > 0;
  } catch {
    pending = true; // a package of another version is waiting
  }
  return new PipelineStepFailed(pipelineName, step, loadId, cause, pending);
}

/**
 * A pipeline with no folder on this machine (dlt's `CannotRestorePipelineException`): it never ran here, or its
 * folder was removed. `dlt pipeline <name> sync` restores it from its destination.
 */
export class PipelineNotFound extends Error {
  override readonly name = "PipelineNotFound";

  constructor(
    readonly pipelineName: string,
    readonly pipelinesDir: string,
  ) {
    super(
      `pipeline ${pipelineName} was not found in ${pipelinesDir} (no such pipeline ran on this machine). ` +
        `Try \`dlt pipeline ${pipelineName} sync\` to restore it from its destination, or \`dlt pipeline --list-pipelines\` for the pipelines here.`,
    );
  }
}

/** An operation that needs the pending packages gone first (dlt's `PipelineHasPendingDataException`). */
export class PipelineHasPendingData extends Error {
  override readonly name = "PipelineHasPendingData";

  constructor(
    readonly pipelineName: string,
    readonly loadIds: readonly string[],
  ) {
    super(
      `pipeline ${pipelineName} has ${loadIds.length} pending load package(s) (${loadIds.join(", ")}): load them with a run, ` +
        `or drop them with \`dlt pipeline ${pipelineName} drop-pending-packages\`, first`,
    );
  }
}
