export type { Properties, PropertyValue, StatusSource, SettingsProblem, TelemetryStatus } from "./types.js";
export { createTelemetry, resolveSettings } from "./client.js";
export type { Telemetry, TelemetryOptions, TelemetryStats, HostInfo, SettingNames } from "./client.js";
export type { ResolvedSettings, Locations, EnvNames } from "./settings.js";
export { envNames, locations, displayPath, batchUrlOf, doNotTrack, parseBool } from "./settings.js";
export type { MessageContext } from "./context.js";
export { buildContext, isCiRun, execInfo, CI_ENV_VARS } from "./context.js";
export type { TrackMessage } from "./message.js";
export { MAX_MESSAGE_BYTES, MAX_BATCH_BYTES } from "./message.js";
