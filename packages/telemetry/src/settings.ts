/**
 * Settings resolution, highest first: command-line flag > `DO_NOT_TRACK` > env > project `secrets.toml` > global
 * `secrets.toml` > project `config.toml` > global `config.toml` > default — dlt's order (its providers are env,
 * then secrets.toml, then config.toml, and in each the project file overrides the global one). Reads four small
 * files at most, bounded (regular files, 1 MB), synchronously, once per client; never throws.
 *
 * Privacy fails closed: a settings file that exists but cannot be read or parsed might hold an opt-out, so it
 * counts as one that nothing overrides — telemetry is off for the run and that file is named as what decided it
 * (unless a higher layer had already said off). A switch value that is not true or false counts as false.
 */
import { homedir } from "node:os";
import { join, resolve, sep } from "node:path";
import { parse, TomlError } from "smol-toml";
import { MAX_CONFIG_BYTES, readBounded } from "./files.js";
import type { SettingsProblem, StatusSource, TelemetryStatus } from "./types.js";

/** Names of the host's settings (dlt's names are the defaults of `packages/dlt`). */
export interface SettingNames {
  /** TOML table holding the settings, e.g. `runtime`. */
  readonly section: string;
  /** Key of the on/off switch, e.g. `dlthub_telemetry`. */
  readonly enabled: string;
  /** Key of the endpoint, e.g. `dlthub_telemetry_endpoint`. */
  readonly endpoint: string;
  /** Key of the Segment write key, e.g. `dlthub_telemetry_segment_write_key`. */
  readonly writeKey: string;
}

/** The names a host gets when it gives none: `[runtime]` `telemetry`, `telemetry_endpoint`, `telemetry_write_key`. */
export const TELEMETRY_SETTINGS: SettingNames = {
  section: "runtime",
  enabled: "telemetry",
  endpoint: "telemetry_endpoint",
  writeKey: "telemetry_write_key",
};

/** dlt's own names (`[runtime]` `dlthub_telemetry`, …, env `RUNTIME__DLTHUB_TELEMETRY`), ready for a dlt-like host. */
export const DLT_SETTINGS: SettingNames = {
  section: "runtime",
  enabled: "dlthub_telemetry",
  endpoint: "dlthub_telemetry_endpoint",
  writeKey: "dlthub_telemetry_segment_write_key",
};

/** The setting names of `options`: its own, else `TELEMETRY_SETTINGS`. */
export const settingNames = (options: Pick<SettingsOptions, "settings">): SettingNames => options.settings ?? TELEMETRY_SETTINGS;

/** What the settings are resolved from: the part of the client's options this module reads. */
export interface SettingsOptions {
  /** Folder name of project and global config, e.g. `.dlt`. */
  readonly configDirName: string;
  /** Prefix of the host's own env names, e.g. `DLT` for `DLT_DATA_DIR`, `DLT_PROJECT_DIR`, `DLT_TELEMETRY_DEBUG`. */
  readonly envPrefix: string;
  /** Endpoint used when none is configured. */
  readonly defaultEndpoint: string;
  /**
   * TOML section and key names of the settings; their env twins are `<SECTION>__<KEY>`. Default `TELEMETRY_SETTINGS`
   * (`[runtime] telemetry = false`, env `RUNTIME__TELEMETRY`); `DLT_SETTINGS` gives dlt's.
   */
  readonly settings?: SettingNames;
  /** The command-line flag of this invocation: true for --enable, false for --disable. */
  readonly flag?: boolean;
  /** Environment to read (default `process.env`). */
  readonly env?: NodeJS.ProcessEnv;
  /** Working directory for the project config (default `process.cwd()`). */
  readonly cwd?: string;
}

/** Where the host's settings files and data live. */
export interface Locations {
  /** Global data dir, e.g. `~/.dlt` (or `$DLT_DATA_DIR`). */
  readonly dataDir: string;
  /** Global `config.toml`. */
  readonly globalConfig: string;
  /** Global `secrets.toml`. */
  readonly globalSecrets: string;
  /** Project dir (cwd or `$DLT_PROJECT_DIR`). */
  readonly projectDir: string;
  /** Project `config.toml` (`<project>/.dlt/config.toml`). */
  readonly projectConfig: string;
  /** Project `secrets.toml` (`<project>/.dlt/secrets.toml`). */
  readonly projectSecrets: string;
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
export function envNames(options: Pick<SettingsOptions, "settings" | "envPrefix">): EnvNames {
  const s = settingNames(options);
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
export function locations(options: Pick<SettingsOptions, "settings" | "envPrefix" | "configDirName" | "cwd">, env: NodeJS.ProcessEnv): Locations {
  const names = envNames(options);
  const dataDir = nonEmpty(env[names.dataDir]) ?? join(env["HOME"] || homedir(), options.configDirName);
  const projectDir = resolve(nonEmpty(env[names.projectDir]) ?? options.cwd ?? process.cwd());
  return {
    dataDir,
    globalConfig: join(dataDir, "config.toml"),
    globalSecrets: join(dataDir, "secrets.toml"),
    projectDir,
    projectConfig: join(projectDir, options.configDirName, "config.toml"),
    projectSecrets: join(projectDir, options.configDirName, "secrets.toml"),
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
    case "true":
    case "1":
    case "yes":
    case "on":
    case "y":
    case "t":
      return true;
    case "false":
    case "0":
    case "no":
    case "off":
    case "n":
    case "f":
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

/** What one layer holds. */
interface Layer {
  enabled?: boolean;
  /** The switch held something other than true or false (read as false). */
  enabledInvalid?: boolean;
  /** An endpoint; "" when one was given with the wrong type (nothing is then sent). */
  endpoint?: string;
  writeKey?: string;
  /** Why the file cannot be used at all: it then counts as an opt-out. */
  broken?: SettingsProblem;
  /**
   * Where in the file the switch was found outside its section (`the top level`, `[sources.chess]`), when it said
   * off there: the file counts as an opt-out (the user's intent is plain), above an opt-in in its own section.
   */
  misplacedOff?: string;
}

/** The first line of a TOML error, without smol-toml's prefix: "invalid value". */
function tomlReason(e: TomlError): string {
  return (e.message.split("\n")[0] ?? "").replace(/^Invalid TOML document:\s*/, "").trim() || "invalid TOML";
}

/**
 * Reads `[section]` of a settings file: a missing file is an empty layer; a file that cannot be read or parsed is
 * a broken layer (and a problem with `disables`); a wrongly typed value is a problem naming the key.
 */
export function readConfigLayer(file: string, settings: SettingNames, problems: SettingsProblem[]): Layer {
  const read = readBounded(file, { maxBytes: MAX_CONFIG_BYTES, followSymlinks: true });
  if (read.kind === "absent") return {};
  const broken = (reason: string, line?: number, column?: number): Layer => {
    const problem: SettingsProblem = {
      where: file,
      ...(line !== undefined ? { line } : {}),
      ...(column !== undefined ? { column } : {}),
      reason,
      disables: true,
    };
    problems.push(problem);
    return { broken: problem };
  };
  if (read.kind === "unreadable") return broken(read.reason);
  let doc: Record<string, unknown>;
  try {
    doc = parse(read.text) as Record<string, unknown>;
  } catch (e) {
    // smol-toml fails deep nesting with its own error; anything else is still "not valid TOML".
    if (e instanceof TomlError) return broken(`is not valid TOML (${tomlReason(e)})`, e.line, e.column);
    return broken("is not valid TOML");
  }
  const section = doc[settings.section];
  if (section !== undefined && (typeof section !== "object" || section === null || Array.isArray(section))) {
    return broken(`has a [${settings.section}] that is not a table`);
  }
  const layer: Layer = {};
  const misplaced = findMisplacedSwitch(doc, settings);
  if (misplaced !== undefined) {
    const key = `${settings.section}.${settings.enabled}`;
    const what = `${settings.enabled} = ${JSON.stringify(misplaced.value)}`;
    const off = parseBool(misplaced.value) !== true;
    // Off (or not true or false, read as off, as in its own section): the file's opt-out. A misplaced `true` is no
    // opt-in: the key there is not read by dlt, and sending is never the answer to a file we had to guess at.
    if (off) layer.misplacedOff = misplaced.at;
    problems.push({
      where: file,
      reason:
        `${what} is ${misplaced.at === "the top level" ? "at the top level" : `in ${misplaced.at}`}; it belongs under ` +
        `[${settings.section}] (${key}): ${off ? "counted as an opt-out" : "ignored (not an opt-in)"}`,
    });
  }
  if (section === undefined) return layer;
  const t = section as Record<string, unknown>;
  const rawEnabled = t[settings.enabled];
  if (rawEnabled !== undefined) {
    const b = parseBool(rawEnabled);
    if (b === undefined) {
      problems.push({ where: file, reason: `${settings.section}.${settings.enabled} must be true or false (read as false)` });
      layer.enabled = false;
      layer.enabledInvalid = true;
    } else {
      layer.enabled = b;
    }
  }
  const ep = t[settings.endpoint];
  if (ep !== undefined) {
    if (typeof ep === "string" && ep !== "") {
      layer.endpoint = ep;
    } else {
      problems.push({ where: file, reason: `${settings.section}.${settings.endpoint} must be a URL string (nothing is sent)` });
      layer.endpoint = "";
    }
  }
  const wk = t[settings.writeKey];
  if (wk !== undefined) {
    if (typeof wk === "string") layer.writeKey = wk;
    else problems.push({ where: file, reason: `${settings.section}.${settings.writeKey} must be a string (ignored)` });
  }
  return layer;
}

/**
 * The first `enabled` key outside `[section]`: at the top level, or in any other table (an array of tables too), depth
 * first in document order. `at` says where, as the user would write it (`the top level`, `[sources.chess]`).
 */
function findMisplacedSwitch(doc: Record<string, unknown>, settings: SettingNames): { at: string; value: unknown } | undefined {
  // Every off is found before the first on: one misplaced false anywhere is the file's opt-out.
  let firstOn: { at: string; value: unknown } | undefined;
  const walk = (node: unknown, path: readonly string[]): { at: string; value: unknown } | undefined => {
    if (path.length > 64 || typeof node !== "object" || node === null) return undefined;
    if (Array.isArray(node)) {
      for (const item of node) {
        const hit = walk(item, path);
        if (hit) return hit;
      }
      return undefined;
    }
    const table = node as Record<string, unknown>;
    // `[section]` itself is the key's place; its sub-tables (`[runtime.x]`) are not.
    const inPlace = path.length === 1 && path[0] === settings.section;
    if (!inPlace && Object.hasOwn(table, settings.enabled)) {
      const value = table[settings.enabled];
      const at = path.length === 0 ? "the top level" : `[${path.join(".")}]`;
      if (parseBool(value) !== true) return { at, value };
      firstOn ??= { at, value };
    }
    for (const [k, v] of Object.entries(table)) {
      if (k === settings.enabled) continue;
      const hit = walk(v, [...path, k]);
      if (hit) return hit;
    }
    return undefined;
  };
  return walk(doc, []) ?? firstOn;
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
  /** What this layer says: true (on), false (off) or undefined (silent). A broken file says false. */
  readonly value: boolean | undefined;
  /** Where it is read: a file (with ~), an env name, or a description. */
  readonly where: string;
  /** The absolute path, for a file layer. */
  readonly file?: string;
  /** Why a file layer cannot be used at all (it then counts as an opt-out nothing overrides). */
  readonly broken?: SettingsProblem;
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

/** A layer with the sentence it would give as the reason, were it to decide. */
interface Candidate extends SettingsLayer {
  readonly reason: string;
}

/** Resolves every layer. Pure apart from reading the settings files; never throws. */
export function resolveSettings(options: SettingsOptions): ResolvedSettings {
  const env = options.env ?? process.env;
  const names = envNames(options);
  const locs = locations(options, env);
  const problems: SettingsProblem[] = [];
  const onOff = (b: boolean): string => (b ? "enabled" : "disabled");

  const envLayer: Layer = {};
  const envEnabled = env[names.enabled];
  if (envEnabled !== undefined && envEnabled !== "") {
    const b = parseBool(envEnabled);
    if (b === undefined) {
      problems.push({ where: names.enabled, reason: "must be true or false (read as false)" });
      envLayer.enabledInvalid = true;
    }
    envLayer.enabled = b ?? false;
  }
  const envEndpoint = nonEmpty(env[names.endpoint]);
  if (envEndpoint !== undefined) envLayer.endpoint = envEndpoint;
  const envKey = env[names.writeKey];
  if (envKey !== undefined) envLayer.writeKey = envKey;

  // When the project's settings folder is the data dir itself (run from the home dir), each file is read once.
  const files: { source: StatusSource; file: string; layer: Layer }[] = [];
  const seen = new Set<string>();
  for (const [source, file] of [
    ["project_secrets", locs.projectSecrets],
    ["global_secrets", locs.globalSecrets],
    ["project", locs.projectConfig],
    ["global", locs.globalConfig],
  ] as const) {
    const layer = seen.has(file) ? {} : readConfigLayer(file, settingNames(options), problems);
    seen.add(file);
    files.push({ source, file, layer });
  }

  const dnt = doNotTrack(env);
  const candidates: Candidate[] = [
    {
      source: "flag",
      value: options.flag,
      where: "command-line flag of this run",
      reason: `${onOff(options.flag ?? true)} by the command-line flag`,
    },
    { source: "do_not_track", value: dnt ? false : undefined, where: "DO_NOT_TRACK", reason: "disabled by DO_NOT_TRACK" },
    {
      source: "env",
      value: envLayer.enabled,
      where: names.enabled,
      reason: envLayer.enabledInvalid ? `disabled: ${names.enabled} is not true or false` : `${onOff(envLayer.enabled ?? true)} by ${names.enabled}`,
    },
    ...files.map(({ source, file, layer }): Candidate => {
      const where = displayPath(file, env);
      const b = layer.broken;
      if (b) {
        const at = b.line !== undefined ? `:${b.line}${b.column !== undefined ? `:${b.column}` : ""}` : "";
        return { source, value: false, where, file, broken: b, reason: `disabled: ${where}${at} ${b.reason}` };
      }
      const names = settingNames(options);
      const key = `${names.section}.${names.enabled}`;
      if (layer.misplacedOff !== undefined) {
        const at = layer.misplacedOff === "the top level" ? "at the top level of" : `in ${layer.misplacedOff} of`;
        return {
          source,
          value: false,
          where,
          file,
          reason: `disabled: ${names.enabled} ${at} ${where} (it belongs under [${names.section}]; counted as an opt-out)`,
        };
      }
      const reason = layer.enabledInvalid ? `disabled: ${key} in ${where} is not true or false` : `set in ${where}`;
      return { source, value: layer.enabled, where, file, reason };
    }),
    { source: "default", value: true, where: "default", reason: "enabled by default" },
  ];
  // The highest layer with a value decides; but an opt-in never overrides a file that cannot be read.
  let decider = candidates.find((c) => c.value !== undefined)!;
  if (decider.value === true) decider = candidates.find((c) => c.broken !== undefined) ?? decider;

  const layers: SettingsLayer[] = candidates.map(({ reason: _reason, ...layer }) => layer);
  const [projectSecrets, globalSecrets, project, global] = files.map((f) => f.layer) as [Layer, Layer, Layer, Layer];
  const endpoint =
    envLayer.endpoint ?? projectSecrets.endpoint ?? globalSecrets.endpoint ?? project.endpoint ?? global.endpoint ?? options.defaultEndpoint;
  let batchUrl = batchUrlOf(endpoint);
  if (batchUrl === undefined) {
    problems.push({ where: "endpoint", reason: `not an http(s) URL: telemetry will not be sent` });
    batchUrl = "";
  }
  const writeKey = envLayer.writeKey ?? projectSecrets.writeKey ?? globalSecrets.writeKey ?? project.writeKey ?? global.writeKey;
  return {
    enabled: decider.value === true,
    source: decider.source,
    reason: decider.reason,
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
