import type { Properties, TelemetryStatus } from "./types.js";

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

/** Who is embedding the library. */
export interface HostInfo {
  /** Library name reported in `context.library.name`. */
  readonly name: string;
  /** Library version reported in `context.library.version`. */
  readonly version: string;
}

/** Everything the host tells the library; nothing in it is dlt-specific. */
export interface TelemetryOptions {
  readonly library: HostInfo;
  /** Folder name of project and global config, e.g. `.dlt`. */
  readonly configDirName: string;
  /** Prefix of the host's own env names, e.g. `DLT` for `DLT_DATA_DIR`, `DLT_PROJECT_DIR`, `DLT_TELEMETRY_DEBUG`. */
  readonly envPrefix: string;
  /** Endpoint used when none is configured. */
  readonly defaultEndpoint: string;
  readonly settings: SettingNames;
  /** The command-line flag of this invocation: true for --enable, false for --disable. */
  readonly flag?: boolean;
  /** Environment to read (default `process.env`). */
  readonly env?: NodeJS.ProcessEnv;
  /** Working directory for the project config (default `process.cwd()`). */
  readonly cwd?: string;
}

/** A telemetry client. No method ever throws, prints (outside debug mode) or keeps the process alive. */
export interface Telemetry {
  /** The resolved settings, and which layer decided them. */
  readonly status: TelemetryStatus;
  /** Records `<category>_<name>`; O(1), never throws. A no-op when disabled. */
  track(category: string, name: string, properties?: Properties): void;
  /**
   * Runs `fn`, then records the event with `elapsed` (seconds) and `success`.
   * An exception counts as failure and is rethrown unchanged.
   */
  timed<T>(category: string, name: string, fn: () => T | Promise<T>, properties?: Properties): Promise<T>;
  /** Sends what is queued now; resolves when done (or given up), never rejects. */
  flush(): Promise<void>;
  /** Stops background sending and hands what is still queued to a detached sender, so the host can exit at once. */
  shutdown(): Promise<void>;
}

export function createTelemetry(_options: TelemetryOptions): Telemetry {
  throw new Error("not implemented yet");
}
