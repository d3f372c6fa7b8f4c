/**
 * Settings resolution: command-line flag > env (with DO_NOT_TRACK) > project config.toml > global config.toml >
 * default. Reads only small files, synchronously, once per client; never throws: a file or value that cannot be
 * read is reported in `problems` and that layer is treated as silent.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve, sep } from "node:path";
import { parse, TomlError } from "smol-toml";
import type { SettingsProblem, StatusSource, TelemetryStatus } from "./types.js";
import type { TelemetryOptions } from "./client.js";

/** Where the host's config files and data live. */
export interface Locations {
  /** Global data dir, e.g. `~/.dlt` (or `$DLT_DATA_DIR`). */
  readonly dataDir: string;
  /** Global `config.toml`. */
  readonly globalConfig: string;
  /** Project dir (cwd or `$DLT_PROJECT_DIR`). */
  readonly projectDir: string;
  /** Project `config.toml` (`<project>/.dlt/config.toml`). */
  readonly projectConfig: string;
}

/** The env variable names a host uses, derived from its options. */
export interface EnvNames {
  readonly enabled: string;
  readonly endpoint: string;
  readonly writeKey: string;
  readonly dataDir: string;
  readonly projectDir: string;
  readonly debug: string;
  readonly dryRun: string;
}

/** Env names follow dlt's convention: `SECTION__KEY` upper-cased; host-level ones are `<PREFIX>_…`. */
export function envNames(options: Pick<TelemetryOptions, "settings" | "envPrefix">): EnvNames {
  const s = options.settings;
  const key = (k: string): string => `${s.section}__${k}`.toUpperCase();
  const p = options.envPrefix.toUpperCase();
  return {
    enabled: key(s.enabled),
    endpoint: key(s.endpoint),
    writeKey: key(s.writeKey),
    dataDir: `${p}_DATA_DIR`,
    projectDir: `${p}_PROJECT_DIR`,
    debug: `${p}_TELEMETRY_DEBUG`,
    dryRun: `${p}_TELEMETRY_DRY_RUN`,
  };
}

/**
 * Where the host's files are: the data dir (`$<PREFIX>_DATA_DIR`, else `~/<configDirName>`) with the global
 * `config.toml`, and the project dir (`$<PREFIX>_PROJECT_DIR`, else `cwd`) with `<configDirName>/config.toml`.
 */
export function locations(options: Pick<TelemetryOptions, "settings" | "envPrefix" | "configDirName" | "cwd">, env: NodeJS.ProcessEnv): Locations {
  const names = envNames(options);
  const dataDir = nonEmpty(env[names.dataDir]) ?? join(env["HOME"] || homedir(), options.configDirName);
  const projectDir = resolve(nonEmpty(env[names.projectDir]) ?? options.cwd ?? process.cwd());
  return {
    dataDir,
    globalConfig: join(dataDir, "config.toml"),
    projectDir,
    projectConfig: join(projectDir, options.configDirName, "config.toml"),
  };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === "" ? undefined : v;
}

/** Parses a boolean as users write it in env or TOML strings. */
export function parseBool(v: unknown): boolean | undefined {
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v === 0 ? false : v === 1 ? true : undefined;
  if (typeof v !== "string") return undefined;
  switch (v.trim().toLowerCase()) {
    case "true": case "1": case "yes": case "on": case "y": case "t":
      return true;
    case "false": case "0": case "no": case "off": case "n": case "f":
      return false;
    default:
      return undefined;
  }
}

/** `DO_NOT_TRACK` disables when set to anything but empty, `0` or `false` (consoledonottrack.com). */
export function doNotTrack(env: NodeJS.ProcessEnv): boolean {
  const v = env["DO_NOT_TRACK"];
  if (v === undefined) return false;
  const t = v.trim().toLowerCase();
  return !(t === "" || t === "0" || t === "false");
}

/** The three values one layer may hold. */
interface Layer {
  enabled?: boolean;
  endpoint?: string;
  writeKey?: string;
}

/** Reads `[section]` of a TOML file; a missing file is an empty layer, a broken one a problem. */
export function readConfigLayer(
  file: string,
  settings: TelemetryOptions["settings"],
  problems: SettingsProblem[],
): Layer {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ENOTDIR") problems.push({ where: file, reason: `cannot read file (${code ?? "error"})` });
    return {};
  }
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TomlError) {
      const firstLine = (e.message.split("\n")[0] ?? "invalid TOML").replace(/^Invalid TOML document:\s*/, "");
      problems.push({ where: file, line: e.line, column: e.column, reason: firstLine });
    } else {
      problems.push({ where: file, reason: "invalid TOML" });
    }
    return {};
  }
  const section = doc[settings.section];
  if (section === undefined) return {};
  if (typeof section !== "object" || section === null || Array.isArray(section)) {
    problems.push({ where: file, reason: `[${settings.section}] must be a table` });
    return {};
  }
  const t = section as Record<string, unknown>;
  const layer: Layer = {};
  const rawEnabled = t[settings.enabled];
  if (rawEnabled !== undefined) {
    const b = parseBool(rawEnabled);
    if (b === undefined) problems.push({ where: file, reason: `${settings.section}.${settings.enabled} must be true or false` });
    else layer.enabled = b;
  }
  const ep = t[settings.endpoint];
  if (ep !== undefined) {
    if (typeof ep === "string" && ep !== "") layer.endpoint = ep;
    else problems.push({ where: file, reason: `${settings.section}.${settings.endpoint} must be a URL string` });
  }
  const wk = t[settings.writeKey];
  if (wk !== undefined) {
    if (typeof wk === "string") layer.writeKey = wk;
    else problems.push({ where: file, reason: `${settings.section}.${settings.writeKey} must be a string` });
  }
  return layer;
}

/** `{endpoint}/v1/batch`, unless the endpoint already names `/v1/batch` or `/v1/track`. Undefined when invalid. */
export function batchUrlOf(endpoint: string): string | undefined {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    return undefined;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return undefined;
  const path = u.pathname.replace(/\/+$/, "");
  if (path.endsWith("/v1/batch") || path.endsWith("/v1/track")) return u.toString();
  u.pathname = `${path}/v1/batch`;
  return u.toString();
}

/** Shows a path with the home dir as `~`, for the user's own eyes (never sent). */
export function displayPath(p: string, env: NodeJS.ProcessEnv): string {
  const home = env["HOME"] || homedir();
  if (home && (p === home || p.startsWith(home + sep))) return "~" + p.slice(home.length);
  return p;
}

/** One layer of the on/off decision, for `--explain`. */
export interface SettingsLayer {
  readonly source: StatusSource;
  /** What this layer says: true (on), false (off) or undefined (silent). */
  readonly value: boolean | undefined;
  /** Where it is read: a file (with ~), an env name, or a description. */
  readonly where: string;
}

/** Resolved settings plus the locations they came from. */
export interface ResolvedSettings extends TelemetryStatus {
  /** Every layer, highest precedence first. */
  readonly layers: readonly SettingsLayer[];
  readonly writeKey: string | undefined;
  readonly locations: Locations;
  readonly env: EnvNames;
  readonly dryRun: boolean;
}

/** Resolves every layer. Pure apart from reading the two config files; never throws. */
export function resolveSettings(options: TelemetryOptions): ResolvedSettings {
  const env = options.env ?? process.env;
  const names = envNames(options);
  const locs = locations(options, env);
  const problems: SettingsProblem[] = [];

  const envLayer: Layer = {};
  const envEnabled = env[names.enabled];
  if (envEnabled !== undefined && envEnabled !== "") {
    const b = parseBool(envEnabled);
    if (b === undefined) problems.push({ where: names.enabled, reason: "must be true or false" });
    else envLayer.enabled = b;
  }
  const envEndpoint = nonEmpty(env[names.endpoint]);
  if (envEndpoint !== undefined) envLayer.endpoint = envEndpoint;
  const envKey = env[names.writeKey];
  if (envKey !== undefined) envLayer.writeKey = envKey;

  const project = readConfigLayer(locs.projectConfig, options.settings, problems);
  // The project file is the global file when the project dir is the home dir's parent of the data dir.
  const global = locs.globalConfig === locs.projectConfig ? {} : readConfigLayer(locs.globalConfig, options.settings, problems);

  let enabled: boolean;
  let source: StatusSource;
  let reason: string;
  const onOff = (b: boolean): string => (b ? "enabled" : "disabled");
  if (options.flag !== undefined) {
    enabled = options.flag;
    source = "flag";
    reason = `${onOff(enabled)} by the command-line flag`;
  } else if (doNotTrack(env)) {
    // An opt-out wins over an opt-in of the same level.
    enabled = false;
    source = "do_not_track";
    reason = "disabled by DO_NOT_TRACK";
  } else if (envLayer.enabled !== undefined) {
    enabled = envLayer.enabled;
    source = "env";
    reason = `${onOff(enabled)} by ${names.enabled}`;
  } else if (project.enabled !== undefined) {
    enabled = project.enabled;
    source = "project";
    reason = `set in ${displayPath(locs.projectConfig, env)}`;
  } else if (global.enabled !== undefined) {
    enabled = global.enabled;
    source = "global";
    reason = `set in ${displayPath(locs.globalConfig, env)}`;
  } else {
    enabled = true;
    source = "default";
    reason = "enabled by default";
  }

  const layers: SettingsLayer[] = [
    { source: "flag", value: options.flag, where: "command-line flag of this run" },
    { source: "do_not_track", value: doNotTrack(env) ? false : undefined, where: "DO_NOT_TRACK" },
    { source: "env", value: envLayer.enabled, where: names.enabled },
    { source: "project", value: project.enabled, where: displayPath(locs.projectConfig, env) },
    { source: "global", value: global.enabled, where: displayPath(locs.globalConfig, env) },
    { source: "default", value: true, where: "default" },
  ];
  const endpoint = envLayer.endpoint ?? project.endpoint ?? global.endpoint ?? options.defaultEndpoint;
  let batchUrl = batchUrlOf(endpoint);
  if (batchUrl === undefined) {
    problems.push({ where: "endpoint", reason: `not an http(s) URL: telemetry will not be sent` });
    batchUrl = "";
  }
  const writeKey = envLayer.writeKey ?? project.writeKey ?? global.writeKey;
  return {
    enabled,
    source,
    reason,
    endpoint,
    batchUrl,
    writeKeySet: writeKey !== undefined && writeKey !== "",
    writeKey: writeKey === "" ? undefined : writeKey,
    problems,
    debug: parseBool(env[names.debug] ?? "") === true,
    dryRun: parseBool(env[names.dryRun] ?? "") === true,
    layers,
    locations: locs,
    env: names,
  };
}
