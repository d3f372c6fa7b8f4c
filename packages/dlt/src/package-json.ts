/**
 * What dlt-ts reads from its own package.json: its version, and the telemetry endpoint a distributor may set when
 * they package dlt-ts for their users (`npm pkg set dltTelemetry.defaultEndpoint=https://telemetry.example.com`
 * before `npm pack`): a fork or an internal build then reports to its own collector by default, with no code change.
 */
import { readFileSync } from "node:fs";

interface PackageJson {
  readonly version: string;
  readonly dltTelemetry?: { readonly defaultEndpoint?: unknown };
}

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as PackageJson;

/** The version of dlt-ts. */
export const VERSION: string = pkg.version;

/** The default endpoint a distributor set in package.json (`dltTelemetry.defaultEndpoint`), if any. */
export const PACKAGED_ENDPOINT: string | undefined =
  typeof pkg.dltTelemetry?.defaultEndpoint === "string" && pkg.dltTelemetry.defaultEndpoint !== "" ? pkg.dltTelemetry.defaultEndpoint : undefined;
