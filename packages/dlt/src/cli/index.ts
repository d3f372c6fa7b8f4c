/**
 * The `dlt` command line: the program, its global telemetry flags, usage errors and exit codes. Each command lives
 * in `commands/<name>.ts` and registers itself here; `CliSession` wraps every one in its `command_<name>` event.
 * Exit codes: 0 success, 1 a command failed, 2 a usage error (unknown command or option, missing or extra
 * argument). Never calls `process.exit`.
 */
import { Command, CommanderError } from "commander";
import { VERSION } from "../package-json.js";
import { registerInit } from "./commands/init.js";
import { registerPipeline } from "./commands/pipeline.js";
import { registerSchema } from "./commands/schema.js";
import { registerTelemetry } from "./commands/telemetry.js";
import { processIo, type CliIo } from "./io.js";
import { CliSession } from "./session.js";
import { persistTelemetry, reportSwitch, TelemetrySwitchError } from "./settings.js";
import { similar } from "./suggest.js";

export type { CliIo } from "./io.js";

/** Every command, in the order `dlt --help` lists them. */
const COMMANDS: readonly ((program: Command, session: CliSession) => void)[] = [registerTelemetry, registerInit, registerPipeline, registerSchema];

/** A usage error of ours: printed as given, exit code 2. */
const usageError = (message: string): CommanderError => new CommanderError(2, "dlt.usage", message);

function unknownCommand(program: Command, typed: string): CommanderError {
  const names = [...program.commands.flatMap((c) => [c.name(), ...c.aliases()]), "help"];
  const close = similar(typed, names);
  const hint = close.length > 0 ? `. Did you mean ${close.map((n) => `'${n}'`).join(" or ")}?` : "";
  return usageError(`error: unknown command '${typed}'${hint} (run \`dlt --help\` for the commands)\n`);
}

function buildProgram(session: CliSession): Command {
  const io = session.io;
  const program = new Command("dlt")
    .description("dlt-ts: data loading pipelines into DuckDB, with anonymous opt-out telemetry")
    // `--version` only, as dlt has it: `-v` is dlt's verbosity (`dlt pipeline -v …`), not a version.
    .version(VERSION, "--version", "print the version")
    .option("--disable-telemetry", "disable telemetry for this machine and project, then run the command (if any)")
    .option("--enable-telemetry", "enable telemetry for this machine and project, then run the command (if any)")
    .helpCommand("help [command]", "show help for a command")
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError("(run `dlt --help` for usage)")
    // The root takes any words so that an unknown command is reported (with a suggestion) by the hook below.
    .allowExcessArguments(true);

  for (const register of COMMANDS) register(program, session);
  for (const c of program.commands) {
    // Subcommands refuse words they do not take: `dlt telemetry off` must not print a status and exit 0.
    c.allowExcessArguments(false).showHelpAfterError(`(run \`dlt ${c.name()} --help\` for usage)`);
  }

  program.hook("preAction", async (_self, actionCommand) => {
    if (actionCommand === program && program.args.length > 0) {
      // An unknown command changes nothing, runs nothing and sends nothing.
      throw unknownCommand(program, program.args[0]!);
    }
    const opts = program.opts<{ disableTelemetry?: boolean; enableTelemetry?: boolean }>();
    if (opts.disableTelemetry && opts.enableTelemetry) {
      throw usageError("error: --disable-telemetry and --enable-telemetry cannot be used together\n");
    }
    if (opts.disableTelemetry || opts.enableTelemetry) {
      session.flag = opts.enableTelemetry === true;
      await persistTelemetry(session.flag);
    }
  });

  program.action(() => {
    if (session.flag === undefined) program.outputHelp();
    else reportSwitch(io, session.flag);
  });
  return program;
}

/** Runs the CLI with `argv` (without `node` and the script) and returns the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const session = new CliSession(io);
  try {
    const program = buildProgram(session);
    // A mistyped command is reported as one, with a suggestion, before commander reads the options meant for it
    // (`dlt pipelin -l` would otherwise be "unknown option '-l'"). The root's own options take no values.
    const first = argv.find((a) => !a.startsWith("-"));
    if (first !== undefined && !program.commands.some((c) => c.name() === first || c.aliases().includes(first)) && first !== "help") {
      throw unknownCommand(program, first);
    }
    await program.parseAsync([...argv], { from: "user" });
  } catch (e) {
    if (e instanceof TelemetrySwitchError) {
      // Nothing ran and nothing is sent: the switch was refused before any command.
      io.err(`error: ${e.message}\n`);
      return 1;
    }
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return 0;
      if (e.code === "dlt.usage") io.err(e.message);
      return 2; // a usage error: unknown command or option, missing or extra argument
    }
    io.err(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  await session.finish();
  return session.exitCode;
}
