/**
 * The CLI's side of telemetry settings: warning about settings that cannot be used, and switching telemetry on or
 * off for this machine and project (`--enable-telemetry`, `--disable-telemetry`, `dlt telemetry enable|disable`).
 *
 * A settings file that cannot be read or parsed never stops a command: telemetry is off for that run (the library
 * decides so) and one warning line names the file. It does stop a switch: no file is rewritten over one the user
 * may have meant to say something else in.
 */
import { lstatSync } from "node:fs";
import { resolveSettings, type ResolvedSettings, type SettingsProblem } from "@dlt-ts/telemetry";
import { ConfigFileError, planTomlValue, writePlanned, type PlannedEdit } from "../config-file.js";
import { DLT_TELEMETRY_OPTIONS } from "../telemetry.js";
import type { CliIo } from "./io.js";

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

/** A switch that was refused or failed: the message says which file and what to do. Exit code 1. */
export class TelemetrySwitchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TelemetrySwitchError";
  }
}

function exists(p: string): boolean {
  return lstatSync(p, { throwIfNoEntry: false }) !== undefined;
}

/**
 * The files a switch writes: the global config.toml always; the project's config.toml when it has one (as dlt);
 * and either secrets.toml where it sets the switch itself, since secrets.toml outranks config.toml (dlt's order)
 * and would otherwise undo the switch.
 */
function switchTargets(s: ResolvedSettings): string[] {
  const { locations: l } = s;
  const byFile = new Map(s.layers.filter((x) => x.file !== undefined).map((x) => [x.file!, x]));
  const targets = [l.globalConfig];
  if (l.projectConfig !== l.globalConfig && exists(l.projectConfig)) targets.push(l.projectConfig);
  for (const f of [l.projectSecrets, l.globalSecrets]) {
    if (byFile.get(f)?.value !== undefined && !targets.includes(f)) targets.push(f);
  }
  return targets;
}

/**
 * Writes the switch into its files (see `switchTargets`), each keeping every other key and comment.
 * @throws TelemetrySwitchError when any settings file cannot be read or parsed (then no file is written: the user
 *   may have meant an opt-out in the broken one), or when a file cannot be written.
 */
export function persistTelemetry(enabled: boolean): void {
  const s = resolveSettings(DLT_TELEMETRY_OPTIONS);
  const { section, enabled: key } = DLT_TELEMETRY_OPTIONS.settings;
  const refuse = (what: string, written: readonly string[] = []): TelemetrySwitchError =>
    new TelemetrySwitchError(
      `telemetry was not switched ${enabled ? "on" : "off"}: ${what}. ` +
        (written.length > 0 ? `Only ${written.join(" and ")} ${written.length > 1 ? "were" : "was"} updated.` : "No file was changed.") +
        " Fix or remove that file, then run the command again.",
    );
  const broken = s.problems.find((p) => p.disables);
  if (broken) throw refuse(`${located(broken.where, broken.line, broken.column)} ${broken.reason}`);
  let edits: PlannedEdit[];
  try {
    edits = switchTargets(s).map((file) => planTomlValue(file, section, key, enabled));
  } catch (e) {
    if (e instanceof ConfigFileError) throw refuse(e.message);
    throw e;
  }
  const written: string[] = [];
  for (const edit of edits) {
    try {
      writePlanned(edit);
      written.push(edit.file);
    } catch (e) {
      if (e instanceof ConfigFileError) throw refuse(e.message, written);
      throw e;
    }
  }
}

/** What a switch prints: the new state, and why later runs may still differ (an env or DO_NOT_TRACK override). */
export function reportSwitch(io: CliIo, enabled: boolean): void {
  io.out(`Telemetry switched ${enabled ? "ON" : "OFF"}\n`);
  const s = resolveSettings(DLT_TELEMETRY_OPTIONS);
  if (s.enabled !== enabled) io.err(`note: telemetry stays ${s.enabled ? "on" : "off"} in later runs: ${s.reason}\n`);
}
