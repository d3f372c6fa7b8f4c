/**
 * `dlt pipeline`: operations on pipelines that ran on this machine, in dlt's word order —
 * `dlt pipeline <pipeline_name> <operation> [args] [options]`, and `dlt pipeline --list-pipelines` (`-l`). Each
 * operation is a file in `pipeline/` and sends `command_pipeline` with its `operation`, as dlt's does.
 *
 * Commander dispatches on the first word after `pipeline`, so the group puts the operation first before it
 * dispatches (`<name> info` → `info <name>`); a name alone is `info` (dlt's default), nothing at all the list.
 */
import { Command, CommanderError, Help, type ParseOptionsResult } from "commander";
import type { CliSession } from "../session.js";
import { similar } from "../suggest.js";
import { registerDropPendingPackages } from "./pipeline/drop-pending-packages.js";
import { registerDrop } from "./pipeline/drop.js";
import { registerFailedJobs } from "./pipeline/failed-jobs.js";
import { registerInfo } from "./pipeline/info.js";
import { registerList } from "./pipeline/list.js";
import { registerLoadPackage } from "./pipeline/load-package.js";
import { registerPipelineSchema } from "./pipeline/schema.js";
import { registerSync } from "./pipeline/sync.js";
import { registerTrace } from "./pipeline/trace.js";

/** The operations, in the order `dlt pipeline --help` lists them. */
const OPERATIONS = [
  registerInfo,
  registerTrace,
  registerFailedJobs,
  registerLoadPackage,
  registerDropPendingPackages,
  registerDrop,
  registerPipelineSchema,
  registerSync,
  registerList,
];

const HELP_FLAGS = new Set(["-h", "--help"]);

/** An argument as help shows it: `<name>`, `[name]`, `<names...>`. */
const argTerm = (a: { name(): string; required: boolean; variadic: boolean }): string => {
  const n = `${a.name()}${a.variadic ? "..." : ""}`;
  return a.required ? `<${n}>` : `[${n}]`;
};

/** Commander's own step that parses a command's words and dispatches them (not in its typings). */
type ParseCommand = (this: Command, operands: string[], unknown: string[]) => unknown;
const parseCommand = (Command.prototype as unknown as { _parseCommand?: ParseCommand })._parseCommand;
if (typeof parseCommand !== "function") throw new Error("dlt: this version of commander has no _parseCommand (dlt-ts needs commander 14)");

/** `dlt pipeline` with its operations: the pipeline's name goes before the operation. */
class PipelineGroup extends Command {
  constructor(name: string) {
    super(name);
    // Commander hands a subcommand the words its parent read as operands apart from the rest. Given back as one
    // list, in their order, they all go through `parseOptions` below, which puts the operation first.
    (this as unknown as { _parseCommand: ParseCommand })._parseCommand = function (operands, unknown) {
      return parseCommand!.call(this, [], [...operands, ...unknown]);
    };
  }

  override parseOptions(argv: string[]): ParseOptionsResult {
    const { operands, unknown } = super.parseOptions(argv);
    return { operands: this.operationFirst(operands, unknown), unknown };
  }

  private operationFirst(operands: string[], unknown: string[]): string[] {
    const isOperation = (w: string | undefined): boolean => w !== undefined && this.commands.some((c) => c.name() === w);
    if (this.opts<{ listPipelines?: boolean }>().listPipelines) return ["list", ...operands];
    if (operands.length === 0) return unknown.some((u) => HELP_FLAGS.has(u)) ? operands : ["list"]; // dlt: no name lists them
    if (isOperation(operands[0]) || operands[0] === "help") return operands;
    if (operands.length === 1) return ["info", operands[0]!]; // dlt's default operation
    if (isOperation(operands[1])) return [operands[1]!, operands[0]!, ...operands.slice(2)];
    const names = this.commands.map((c) => c.name()).filter((n) => n !== "list");
    const close = similar(operands[1]!, names);
    const hint = close.length > 0 ? `. Did you mean ${close.map((n) => `'${n}'`).join(" or ")}?` : "";
    throw new CommanderError(
      2,
      "dlt.usage",
      `error: unknown pipeline command '${operands[1]}'${hint} (run \`dlt pipeline --help\` for the commands)\n`,
    );
  }
}

export function registerPipeline(program: Command, session: CliSession): void {
  const group = new PipelineGroup("pipeline");
  group.copyInheritedSettings(program);
  group
    .description(
      "operations on pipelines that ran on this machine: info, trace, failed-jobs, load-package, drop-pending-packages, drop, schema, sync",
    )
    .usage("<pipeline_name> [command] [options]  |  dlt pipeline --list-pipelines")
    .option("-l, --list-pipelines", "list the pipelines in the data dir, with their last run (also `dlt pipeline` alone; add --format json)")
    // dlt's `-v`/`-vv`: more information from the operations that have it (load-package: the tables and columns).
    .option("-v, --verbose", "more information for certain operations (-vv: more still)", (_v: string, n: number) => n + 1, 0)
    .configureHelp({
      // Help in the order people type it: `dlt pipeline <pipeline_name> info`.
      subcommandTerm: (cmd) =>
        [cmd.name(), ...cmd.registeredArguments.slice(1).map(argTerm), ...(cmd.options.length > 0 ? ["[options]"] : [])].join(" "),
      commandUsage(this: Help, cmd) {
        if (cmd.parent !== group) return Help.prototype.commandUsage.call(this, cmd);
        const [first, ...rest] = cmd.registeredArguments;
        return [
          "dlt pipeline",
          ...(first ? [argTerm(first)] : []),
          cmd.name(),
          ...rest.map(argTerm),
          ...(cmd.options.length > 0 ? ["[options]"] : []),
        ].join(" ");
      },
    });
  program.addCommand(group);
  for (const register of OPERATIONS) register(group, session);
}
