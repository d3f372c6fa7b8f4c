/**
 * One invocation of the CLI: the telemetry switch given on its command line, its telemetry client, and the
 * wrapper every command runs in. The wrapper is where the spec's promise is kept: every command sends
 * `command_<name>` with `elapsed` and `success` (exit code 0) after it ends, and a switched-off run sends nothing,
 * its own command event included.
 */
import { isCiRun, type EventProperties, type Telemetry } from "@dlt-ts/telemetry";
import { dltCatalogueHash, dltEvents, type DltEvents } from "../events.js";
import { dltTelemetry } from "../telemetry.js";
import type { CliIo } from "./io.js";
import { warnAboutSettings } from "./settings.js";

/** The catalogue's command events: `command_<name>`. */
export type CommandEvent = Extract<keyof DltEvents, `command_${string}`>;

/** What a command's event carries besides `elapsed` and `success`. */
export type CommandProperties<E extends CommandEvent> = Omit<EventProperties<DltEvents, E>, "elapsed" | "success">;

const NOTICE = [
  "dlt collects anonymous usage data (command names, pipeline step timings, destination names, a flag on the first",
  "event of a new version; never your data, names, paths or config). Turn it off with `dlt --disable-telemetry` or",
  "DO_NOT_TRACK=1; see `dlt telemetry`, and `dlt telemetry log` for what was sent.",
  "",
].join("\n");

export class CliSession {
  /** `--enable-telemetry` (true) / `--disable-telemetry` (false) of this invocation, if given. */
  flag: boolean | undefined;
  /** The exit code of the command that ran (0 when none ran). */
  exitCode = 0;
  private telemetry: Telemetry | undefined;

  constructor(readonly io: CliIo) {}

  /** The telemetry client of this invocation, created once the flags are known. */
  client(): Telemetry {
    return (this.telemetry ??= dltTelemetry(this.flag));
  }

  /**
   * Runs a command's body, timed, and records `event` with `properties` when it ends. The properties are given
   * up front, from the command line, so even a command that fails early reports what was asked for. An exception
   * is reported on stderr and is exit code 1. Settings that cannot be used are warned about, and never stop the
   * command (a settings file that cannot be read has turned telemetry off for this run).
   */
  async run<E extends CommandEvent>(event: E, properties: CommandProperties<E>, body: () => Promise<number>): Promise<void> {
    const telemetry = this.client();
    warnAboutSettings(this.io, telemetry.status.problems);
    // Shown once, and once more whenever what is collected changes (the marker records the catalogue's hash).
    if (telemetry.status.enabled && this.io.errIsTty && !isCiRun(process.env) && telemetry.noticeNeeded(dltCatalogueHash())) {
      this.io.err(NOTICE);
      telemetry.markNoticeShown(dltCatalogueHash());
    }
    const started = performance.now();
    let exitCode: number;
    try {
      exitCode = await body();
    } catch (e) {
      this.io.err(`error: ${e instanceof Error ? e.message : String(e)}\n`);
      exitCode = 1;
    }
    this.exitCode = exitCode;
    const timing = { elapsed: (performance.now() - started) / 1000, success: exitCode === 0 };
    // The catalogue checks the properties again at run time: anything that does not fit is left out.
    dltEvents(telemetry).track(event, { ...timing, ...properties } as unknown as EventProperties<DltEvents, E>);
  }

  /** Hands what telemetry queued to its sender, so the process can exit at once. */
  async finish(): Promise<void> {
    await this.telemetry?.shutdown();
  }
}
