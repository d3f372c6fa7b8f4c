/**
 * The CLI's side of telemetry settings: warning about settings that cannot be used, and switching telemetry on or
 * off for this machine and project (`--enable-telemetry`, `--disable-telemetry`, `dlt telemetry enable|disable`).
 *
 * A settings file that cannot be read or parsed never stops a command: telemetry is off for that run (the library
 * decides so) and one warning line names the file. It does stop a switch: no file is rewritten over one the user
 * may have meant to say something else in.
 */
import { resolveSettings, type SettingsProblem } from "@dlt-ts/telemetry";
import { switchTelemetry } from "@dlt-ts/telemetry/switch";
import { DLT_TELEMETRY_OPTIONS } from "../telemetry.js";
import type { CliIo } from "./io.js";

export { TelemetrySwitchError } from "@dlt-ts/telemetry/switch";

/** `file:line:col`, or the file alone when the position is not known. */
function located(where: string, line?: number, column?: number): string {
  return `${where}${line !== undefined ? `:${line}${column !== undefined ? `:${column}` : ""}` : ""}`;
}

/** One line: `<file>:<line>:<col> is not valid TOML (…): telemetry is off for this run`, or `<where>: <reason>`. */
export function formatProblem(p: SettingsProblem): string {
  const at = located(p.where, p.line, p.column);
  return p.disables ? `${at} ${p.reason}: telemetry is off for this run` : `${at}: ${p.reason}`;
}

/** Prints one warning line per settings problem on stderr. Never stops a command. */
export function warnAboutSettings(io: CliIo, problems: readonly SettingsProblem[]): void {
  for (const p of problems) io.err(`warning: ${formatProblem(p)}\n`);
}

/**
 * Writes the switch into the user's settings files: the library's `switchTelemetry` (`@dlt-ts/telemetry/switch`),
 * which any host can offer as its own `telemetry disable`.
 * @throws TelemetrySwitchError when any settings file cannot be read, parsed or written (then no file is written: the
 *   user may have meant an opt-out in the broken one).
 */
export async function persistTelemetry(enabled: boolean): Promise<void> {
  await switchTelemetry(DLT_TELEMETRY_OPTIONS, enabled);
}

/** What a switch prints: the new state, and why later runs may still differ (an env or DO_NOT_TRACK override). */
export function reportSwitch(io: CliIo, enabled: boolean): void {
  io.out(`Telemetry switched ${enabled ? "ON" : "OFF"}\n`);
  const s = resolveSettings(DLT_TELEMETRY_OPTIONS);
  if (s.enabled !== enabled) io.err(`note: telemetry stays ${s.enabled ? "on" : "off"} in later runs: ${s.reason}\n`);
}
