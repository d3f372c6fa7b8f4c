export type { Properties, PropertyValue, StatusSource, SettingsProblem, TelemetryStatus } from "./types.js";
export { createTelemetry } from "./client.js";
export type { Telemetry, TelemetryOptions, HostInfo, SettingNames } from "./client.js";
