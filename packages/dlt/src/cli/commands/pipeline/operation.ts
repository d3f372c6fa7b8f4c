/**
 * What every `dlt pipeline <pipeline_name> <operation>` shares: its subcommand with the pipeline's name as its first
 * argument, and its `command_pipeline` event with the operation (never the pipeline's name). Operations import the
 * pipeline module when they run, not when they are registered: it brings DuckDB, which `dlt --help` does not need.
 */
import type { Command } from "commander";
import type { PipelineOperation } from "../../../events.js";
import type { CliSession } from "../../session.js";

/** Adds `dlt pipeline <pipeline_name> <operation>` to the group: the caller adds its arguments, options and action. */
export function operation(group: Command, name: Exclude<PipelineOperation, "list">, description: string): Command {
  return group
    .command(name)
    .description(description)
    .argument("<pipeline_name>", "the pipeline's name")
    .allowExcessArguments(false)
    .showHelpAfterError(`(run \`dlt pipeline <pipeline_name> ${name} --help\` for usage)`);
}

/** Runs an operation's body in its `command_pipeline` event. */
export function runOperation(session: CliSession, op: PipelineOperation, body: () => Promise<number>): Promise<void> {
  return session.run("command_pipeline", { operation: op }, body);
}

/** How many times `-v` was given to `dlt pipeline` (anywhere on its line): dlt's verbosity. */
export function verbosity(operationCommand: Command): number {
  return operationCommand.parent?.opts<{ verbose?: number }>().verbose ?? 0;
}
