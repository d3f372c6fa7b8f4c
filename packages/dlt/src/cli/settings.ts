/**
 * The CLI's side of telemetry settings: reporting config files that cannot be read, and switching telemetry on or
 * off for this machine and project (`--enable-telemetry`, `--disable-telemetry`, `dlt telemetry enable|disable`).
 */
import { statSync } from "node:fs";
import { resolveSettings, type SettingsProblem } from "@dlt-ts/telemetry";
import { setTomlValue } from "../config-file.js";
import { DLT_TELEMETRY_OPTIONS } from "../telemetry.js";
import type { CliIo } from "./io.js";

export function formatProblem(p: SettingsProblem): string {
  const at = p.line !== undefined ? `:${p.line}${p.column !== undefined ? `:${p.column}` : ""}` : "";
  return `${p.where}${at}: ${p.reason}`;
}

/** Parse errors of config files stop the CLI (exit 1); other problems are warnings. */
export function checkSettings(io: CliIo): boolean {
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

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * Writes the switch into the global file always, and into the project file when the project has one.
 * @throws ConfigFileError when a file cannot be read, parsed or written (it is then left as it was).
 */
export function persistTelemetry(enabled: boolean): void {
  const s = resolveSettings(DLT_TELEMETRY_OPTIONS);
  const { section, enabled: key } = DLT_TELEMETRY_OPTIONS.settings;
  setTomlValue(s.locations.globalConfig, section, key, enabled);
  if (s.locations.projectConfig !== s.locations.globalConfig && isFile(s.locations.projectConfig)) {
    setTomlValue(s.locations.projectConfig, section, key, enabled);
  }
}

/** What a switch prints: the new state, and why later runs may still differ (an env or DO_NOT_TRACK override). */
export function reportSwitch(io: CliIo, enabled: boolean): void {
  io.out(`Telemetry switched ${enabled ? "ON" : "OFF"}\n`);
  if (enabled) {
    const s = resolveSettings(DLT_TELEMETRY_OPTIONS);
    if (!s.enabled) io.err(`note: telemetry stays off in later runs: ${s.reason}\n`);
  }
}
