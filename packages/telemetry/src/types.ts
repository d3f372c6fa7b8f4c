/** A property value that may travel in a message: numbers, booleans, short enumerated strings, or null. */
export type PropertyValue = string | number | boolean | null;

/** Properties of one event. Never put user data, names, paths or error messages here. */
export type Properties = Readonly<Record<string, PropertyValue>>;

/**
 * Which layer of settings decided whether telemetry is on: the host's command-line flag, `DO_NOT_TRACK`, the env
 * variable, the project's and the global `secrets.toml`, the project's and the global `config.toml` (`project`,
 * `global`), or the default.
 */
export type StatusSource = "flag" | "do_not_track" | "env" | "project_secrets" | "global_secrets" | "project" | "global" | "default";

/**
 * A settings file or env value that could not be used as it is. A file that exists but cannot be read or parsed
 * (`disables`) turns telemetry off for the run; a value that is not true/false counts as false; an endpoint of
 * the wrong type means nothing is sent; a write key of the wrong type is ignored.
 */
export interface SettingsProblem {
  /** Absolute path of the file, or the env variable's name. */
  readonly where: string;
  /** 1-based line of the problem in a file, when known. */
  readonly line?: number;
  /** 1-based column, when known. */
  readonly column?: number;
  /**
   * What is wrong, in words. When `disables` is set, a phrase that follows the file's name: "cannot be read
   * (EACCES)", "is not a regular file", "is larger than 1 MB", "is not valid TOML (invalid value)".
   */
  readonly reason: string;
  /** The file exists but cannot be used: telemetry is off for this run, whatever any other layer says. */
  readonly disables?: true;
}

/** What the settings resolved to, and why. */
export interface TelemetryStatus {
  /** Whether events are recorded and sent. */
  readonly enabled: boolean;
  /** The layer that decided `enabled`. */
  readonly source: StatusSource;
  /** A human sentence naming that layer, e.g. `disabled by DO_NOT_TRACK`, `set in ~/.dlt/config.toml`. */
  readonly reason: string;
  /** The endpoint as configured (base URL, or a URL ending in /v1/batch or /v1/track). */
  readonly endpoint: string;
  /** The URL batches are posted to. */
  readonly batchUrl: string;
  /** Whether a write key is configured (its value is never exposed here). */
  readonly writeKeySet: boolean;
  /** Files and env values that could not be read. */
  readonly problems: readonly SettingsProblem[];
  /** Debug mode: messages go to stderr as JSON, nothing is sent. */
  readonly debug: boolean;
}
