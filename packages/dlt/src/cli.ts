/**
 * The `dlt` command line: global telemetry flags, `telemetry`, `init`. Every command sends
 * `command_<name>` after it ends; a switched-off run sends nothing, including its own command event.
 */
import { statSync } from "node:fs";
import { Command, CommanderError } from "commander";
import {
  explainTelemetry,
  isCiRun,
  resolveSettings,
  type SettingsProblem,
  type Telemetry,
  type TelemetryExplanation,
  type TelemetryStatus,
} from "@dlt-ts/telemetry";
import { ConfigFileError, setTomlValue } from "./config-file.js";
import { asDestination, dltEvents } from "./events.js";
import { dltTelemetry, DLT_TELEMETRY_OPTIONS } from "./telemetry.js";
import { VERSION } from "./version.js";

/** Where the CLI writes; tests and embedders may pass their own. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Whether stderr is an interactive terminal (the first-run notice shows only there). */
  readonly errIsTty: boolean;
}

const processIo: CliIo = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
  errIsTty: process.stderr.isTTY === true,
};

/** A command's outcome: its exit code and, for `init`, what its event carries besides elapsed/success. */
interface CommandResult {
  readonly exitCode: number;
  readonly init?: { readonly pipeline_name: string; readonly destination_name: string };
}

/** The commands that send an event (their names are in the event catalogue). */
type CommandName = "telemetry" | "init";

const NOTICE = [
  "dlt collects anonymous usage data (command names, pipeline step timings, destination names; never your data,",
  "names, paths or config). Turn it off with `dlt --disable-telemetry` or DO_NOT_TRACK=1; see `dlt telemetry`.",
  "",
].join("\n");

function formatProblem(p: SettingsProblem): string {
  const at = p.line !== undefined ? `:${p.line}${p.column !== undefined ? `:${p.column}` : ""}` : "";
  return `${p.where}${at}: ${p.reason}`;
}

/** Parse errors of config files stop the CLI (exit 1); other problems are warnings. */
function checkSettings(io: CliIo): boolean {
  const s = resolveSettings(DLT_TELEMETRY_OPTIONS);
  let ok = true;
  for (const p of s.problems) {
    if (p.line !== undefined) {
      io.err(`error: invalid config file ${formatProblem(p)}\n`);
      ok = false;
    } else {
      io.err(`warning: ${formatProblem(p)}\n`);
    }
  }
  return ok;
}

/** Writes the switch into the global file always, and the project file when the project has one. */
function persistTelemetry(enabled: boolean): void {
  const s = resolveSettings(DLT_TELEMETRY_OPTIONS);
  const { section, enabled: key } = DLT_TELEMETRY_OPTIONS.settings;
  setTomlValue(s.locations.globalConfig, section, key, enabled);
  if (s.locations.projectConfig !== s.locations.globalConfig) {
    if (statIsFile(s.locations.projectConfig)) setTomlValue(s.locations.projectConfig, section, key, enabled);
  }
}

function statIsFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

async function telemetryCommand(io: CliIo, s: TelemetryStatus, explain: boolean, flag: boolean | undefined): Promise<CommandResult> {
  io.out(`Telemetry is ${s.enabled ? "ENABLED" : "DISABLED"}\n${s.reason}\n`);
  if (explain) io.out(formatExplanation(explainTelemetry({ ...DLT_TELEMETRY_OPTIONS, ...(flag === undefined ? {} : { flag }) })));
  return { exitCode: 0 };
}

/** `dlt telemetry --explain`: every layer, the endpoint, the key (set or not, never its value), the breaker. */
function formatExplanation(x: TelemetryExplanation): string {
  const show = (v: boolean | undefined): string => (v === undefined ? "-" : v ? "on" : "off");
  const lines = ["", "Layers (highest first):"];
  for (const l of x.layers) {
    lines.push(`  ${l.decides ? "*" : " "} ${l.source.padEnd(13)} ${show(l.value).padEnd(4)} ${l.where}`);
  }
  lines.push("  (* decides)", "");
  lines.push(`Endpoint:  ${x.endpoint}`);
  lines.push(`Posts to:  ${x.batchUrl || "(invalid endpoint: nothing is sent)"}`);
  lines.push(`Write key: ${x.writeKeySet ? "set (value not shown)" : "not set"}`);
  const b = x.breaker;
  lines.push(
    `Breaker:   ${b.open ? `open until ${new Date(b.openUntil).toISOString()} (${b.failures} failed deliveries): no attempt before then` : `closed${b.failures ? ` (${b.failures} recent failed deliveries)` : ""}`}`,
  );
  lines.push(`Spool:     ${x.spooledFiles} file(s) waiting; ${x.dropped} event(s) dropped so far`);
  if (x.debug) lines.push("Debug:     on (messages go to stderr, nothing is sent)");
  if (x.dryRun) lines.push("Dry run:   on (requests are printed, nothing is sent)");
  return lines.join("\n") + "\n";
}

async function initCommandRunner(source: string, destination: string, force: boolean, io: CliIo): Promise<CommandResult> {
  const { initCommand } = await import("./init/index.js");
  const r = await initCommand({
    source,
    destination,
    force,
    cwd: process.cwd(),
    out: (line) => io.out(line + "\n"),
    err: (line) => io.err(line + "\n"),
  });
  return { exitCode: r.exitCode, init: r.properties };
}

/**
 * Runs the CLI with `argv` (without `node` and the script) and returns the exit code.
 * Never calls `process.exit`.
 */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let flag: boolean | undefined;
  let ran: { name: CommandName; result: CommandResult; started: number } | undefined;
  let telemetry: Telemetry | undefined;
  let initAsked: CommandResult["init"];

  // Runs one command, timed; the telemetry client is created after the flags have been applied.
  const run = async (name: CommandName, body: () => Promise<CommandResult>): Promise<void> => {
    if (!checkSettings(io)) {
      ran = { name, result: { exitCode: 1 }, started: performance.now() };
      return;
    }
    telemetry = dltTelemetry(flag);
    if (telemetry.status.enabled && io.errIsTty && !isCiRun(process.env) && telemetry.noticeNeeded()) {
      io.err(NOTICE);
      telemetry.markNoticeShown();
    }
    const started = performance.now();
    let result: CommandResult;
    try {
      result = await body();
    } catch (e) {
      io.err(`error: ${e instanceof Error ? e.message : String(e)}\n`);
      result = { exitCode: 1 };
    }
    ran = { name, result, started };
  };

  const program = new Command("dlt")
    .description("dlt-ts: data loading pipelines into DuckDB, with anonymous opt-out telemetry")
    .version(VERSION, "-v, --version", "print the version")
    .option("--disable-telemetry", "disable telemetry for this machine and project, then run the command (if any)")
    .option("--enable-telemetry", "enable telemetry for this machine and project, then run the command (if any)")
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError("(run `dlt --help` for usage)")
    .allowExcessArguments(true); // the root action reports an unknown command itself

  program.hook("preAction", (_self, actionCommand) => {
    if (actionCommand === program && program.args.length > 0) {
      // Unknown commands change nothing, run nothing and send nothing.
      throw new CommanderError(2, "dlt.unknownCommand", `error: unknown command '${program.args[0]}' (run \`dlt --help\` for the commands)\n`);
    }
    const opts = program.opts<{ disableTelemetry?: boolean; enableTelemetry?: boolean }>();
    if (opts.disableTelemetry && opts.enableTelemetry) {
      throw new CommanderError(2, "dlt.conflict", "error: --disable-telemetry and --enable-telemetry cannot be used together\n");
    }
    if (opts.disableTelemetry || opts.enableTelemetry) {
      flag = opts.enableTelemetry === true;
      persistTelemetry(flag);
    }
  });

  program.action(() => {
    if (flag === undefined) {
      program.outputHelp();
      return;
    }
    io.out(`Telemetry switched ${flag ? "ON" : "OFF"}\n`);
    if (flag) {
      const s = resolveSettings(DLT_TELEMETRY_OPTIONS);
      if (!s.enabled) io.err(`note: telemetry stays off in later runs: ${s.reason}\n`);
    }
  });

  program
    .command("telemetry")
    .description("show whether telemetry is enabled, and what decided it")
    .option("--explain", "show every settings layer, the endpoint, the write key (set or not) and the sender's state")
    .action((opts: { explain?: boolean }) =>
      run("telemetry", () => telemetryCommand(io, dltTelemetry(flag).status, opts.explain === true, flag)),
    );

  program
    .command("init")
    .description("create a new pipeline from a source template")
    .argument("<source>", "source name, e.g. chess (a template) or any identifier (generic template)")
    .argument("<destination>", "destination name: duckdb")
    .option("--force", "overwrite existing files")
    .action((source: string, destination: string, opts: { force?: boolean }) => {
      initAsked = { pipeline_name: source, destination_name: destination };
      return run("init", () => initCommandRunner(source, destination, opts.force === true, io));
    });

  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (e) {
    if (e instanceof ConfigFileError) {
      io.err(`error: cannot update config file ${e.message}\n`);
      return 1;
    }
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return 0;
      if (e.code.startsWith("dlt.")) io.err(e.message);
      return 2; // a usage error: unknown command or option, missing argument
    }
    io.err(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }

  if (ran === undefined) return 0;
  const { name, result, started } = ran;
  const t = telemetry as Telemetry | undefined;
  if (t) {
    const events = dltEvents(t);
    const common = { elapsed: (performance.now() - started) / 1000, success: result.exitCode === 0 };
    switch (name) {
      case "init": {
        // Even when init failed before it could say so, the event names what was asked for.
        const asked = result.init ?? initAsked;
        events.track("command_init", {
          ...common,
          pipeline_name: asked?.pipeline_name ?? "",
          destination_name: asDestination(asked?.destination_name ?? ""),
        });
        break;
      }
      case "telemetry":
        events.track("command_telemetry", common);
        break;
    }
    await t.shutdown();
  }
  return result.exitCode;
}
