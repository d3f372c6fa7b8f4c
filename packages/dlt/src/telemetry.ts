import { createTelemetry, DLT_SETTINGS, type Telemetry, type TelemetryOptions } from "@dlt-ts/telemetry";
import { PACKAGED_ENDPOINT, VERSION } from "./package-json.js";

/** The dlt-ts project's own collector (see "Where events go by default" in the README). */
export const PROJECT_TELEMETRY_ENDPOINT = "https://telemetry.dlt-ts.dev";

/**
 * Where dlt-ts sends anonymous telemetry unless told otherwise: the endpoint a distributor set in package.json
 * (`dltTelemetry.defaultEndpoint`), else the project's own collector. A user points it at theirs with
 * `RUNTIME__DLTHUB_TELEMETRY_ENDPOINT` or `[runtime] dlthub_telemetry_endpoint`.
 */
export const DEFAULT_TELEMETRY_ENDPOINT = PACKAGED_ENDPOINT ?? PROJECT_TELEMETRY_ENDPOINT;

/** The options dlt-ts passes to `@dlt-ts/telemetry`: dlt's own names. */
export const DLT_TELEMETRY_OPTIONS = {
  library: { name: "dlt-ts", version: VERSION },
  configDirName: ".dlt",
  envPrefix: "DLT",
  defaultEndpoint: DEFAULT_TELEMETRY_ENDPOINT,
  // Installs counted without an id: see "first_run_of_version" in docs/telemetry-events.md.
  firstRunOfVersion: true,
  settings: DLT_SETTINGS,
} as const satisfies TelemetryOptions;

let client: Telemetry | undefined;

/**
 * The process-wide dlt telemetry client. The CLI creates it first with the flag of its invocation;
 * library users (pipeline.run) get one created from env and config files.
 */
export function dltTelemetry(flag?: boolean): Telemetry {
  if (client === undefined) {
    client = createTelemetry({ ...DLT_TELEMETRY_OPTIONS, ...(flag === undefined ? {} : { flag }) });
  }
  return client;
}
