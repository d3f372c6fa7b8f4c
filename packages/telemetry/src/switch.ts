/**
 * `@dlt-ts/telemetry/switch`: what a host's `my-cli telemetry disable` (or `--disable-telemetry`) does, the same
 * switch `dlt --disable-telemetry` uses. It writes `[<section>] <enabled key> = false` (or true) into the user's TOML
 * settings files, keeping every other key and comment:
 *
 * - the global `config.toml` always; the project's `config.toml` when it has one (as dlt does);
 * - a `secrets.toml` (project or global) where it sets the switch itself: secrets outrank config (dlt's order) and
 *   would otherwise undo the switch.
 *
 * If any settings file cannot be read or parsed, nothing is written: the user may have meant an opt-out in the broken
 * one. Keeping comments needs a TOML editor, `@decimalturn/toml-patch` (~170 KB): an optional peer dependency, loaded
 * only here, so a host that never offers the switch installs and loads nothing more.
 *
 * @example
 * ```js
 * import { switchTelemetry } from "@dlt-ts/telemetry/switch";
 * const { written, settings } = await switchTelemetry({ configDirName: ".my-cli", envPrefix: "MY_CLI", defaultEndpoint }, false);
 * ```
 */
import { lstatSync } from "node:fs";
import { resolveSettings, TELEMETRY_SETTINGS, type ResolvedSettings, type SettingsOptions, type TelemetryOptions } from "./index.js";
import { ConfigFileError, planTomlValue, writePlanned, type PlannedEdit, type TomlPatch } from "./toml-edit.js";

/** The package that edits TOML while keeping its comments: what the switch needs installed beside this library. */
export const TOML_EDITOR_PACKAGE = "@decimalturn/toml-patch";

/** A switch that was refused or failed: the message says which file and what to do; no file is left half-written. */
export class TelemetrySwitchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TelemetrySwitchError";
  }
}

/** What a switch did. */
export interface SwitchResult {
  /** The files written, as the user names them. */
  readonly written: readonly string[];
  /**
   * The settings after the switch. `settings.enabled` may still differ from what was asked (an env variable or
   * `DO_NOT_TRACK` decides above the files): tell the user `settings.reason` then.
   */
  readonly settings: ResolvedSettings;
}

function exists(p: string): boolean {
  return lstatSync(p, { throwIfNoEntry: false }) !== undefined;
}

/** The files a switch writes (see the module's comment). */
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

async function loadTomlEditor(refuse: (what: string, written: readonly string[], then: string) => TelemetrySwitchError): Promise<TomlPatch> {
  try {
    return (await import(TOML_EDITOR_PACKAGE)) as TomlPatch;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
      throw refuse(`it needs ${TOML_EDITOR_PACKAGE}, which is not installed`, [], `Install it (npm install ${TOML_EDITOR_PACKAGE})`);
    }
    throw e;
  }
}

/**
 * Switches telemetry on or off for this machine and project by writing the host's settings files. `options` are the
 * host's `createTelemetry` options (only their `SettingsOptions` part is read); their `flag` is ignored: the switch
 * records what later runs decide without one.
 * @throws TelemetrySwitchError when a settings file cannot be read, parsed or written (the message names it and says
 *   which files, if any, were already updated), or when `@decimalturn/toml-patch` is not installed.
 */
export async function switchTelemetry(options: TelemetryOptions | SettingsOptions, enabled: boolean): Promise<SwitchResult> {
  const { flag: _ignored, ...withoutFlag } = options;
  const { section, enabled: key } = options.settings ?? TELEMETRY_SETTINGS;
  const refuse = (what: string, written: readonly string[] = [], then = "Fix or remove that file"): TelemetrySwitchError =>
    new TelemetrySwitchError(
      `telemetry was not switched ${enabled ? "on" : "off"}: ${what}. ` +
        (written.length > 0 ? `Only ${written.join(" and ")} ${written.length > 1 ? "were" : "was"} updated.` : "No file was changed.") +
        ` ${then}, then run the command again.`,
    );
  const before = resolveSettings(withoutFlag);
  const broken = before.problems.find((p) => p.disables);
  if (broken) {
    const at = `${broken.where}${broken.line !== undefined ? `:${broken.line}${broken.column !== undefined ? `:${broken.column}` : ""}` : ""}`;
    throw refuse(`${at} ${broken.reason}`);
  }
  const toml = await loadTomlEditor(refuse);
  let edits: PlannedEdit[];
  try {
    edits = switchTargets(before).map((file) => planTomlValue(toml, file, section, key, enabled));
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
  return { written, settings: resolveSettings(withoutFlag) };
}
