/**
 * Installs counted without an id: the first event a machine sends for a version of the host carries
 * `first_run_of_version: true`, remembered by a marker in the data dir (`<dataDir>/telemetry/first-run/<name>@<version>`),
 * as the notice is. The marker is created exclusively (`O_EXCL`, no symlink followed, `0600`), so of two first runs
 * at the same moment exactly one wins. Nothing in it is sent, and nothing links two events: the flag is a boolean
 * on one message, no id and no hash.
 */
import { lstatSync } from "node:fs";
import { join } from "node:path";
import { telemetryFiles } from "./datadir.js";
import type { HostInfo } from "./context.js";
import { makePrivateDir, writeNewFile } from "./files.js";

/** The property the first event of a version carries. */
export const FIRST_RUN_PROPERTY = "first_run_of_version";

/** `<dataDir>/telemetry/first-run/<name>@<version>`, with anything but `[A-Za-z0-9._+@-]` as `_`. */
export function firstRunMarker(dataDir: string, library: HostInfo): string {
  const name = `${library.name}@${library.version}`.replace(/[^A-Za-z0-9._+@-]/g, "_").slice(0, 200);
  return join(telemetryFiles(dataDir).firstRun, name);
}

/**
 * Claims the first run of this version on this machine: true only for the one call that created the marker. A data
 * dir that cannot be written claims nothing (every run there would otherwise count as an install). Never throws.
 */
export function claimFirstRun(dataDir: string, library: HostInfo): boolean {
  try {
    const marker = firstRunMarker(dataDir, library);
    // Every run after the first: one lstat, no folder made, no exception thrown (this is on the exit path).
    if (lstatSync(marker, { throwIfNoEntry: false }) !== undefined) return false;
    makePrivateDir(telemetryFiles(dataDir).firstRun);
    writeNewFile(marker, new Date().toISOString() + "\n");
    return true;
  } catch {
    return false; // EEXIST: not the first run; anything else: not counted
  }
}

/** Whether the marker is still missing, without creating it (debug and dry run show the flag, and claim nothing). */
export function firstRunPending(dataDir: string, library: HostInfo): boolean {
  try {
    return lstatSync(firstRunMarker(dataDir, library), { throwIfNoEntry: false }) === undefined;
  } catch {
    return false;
  }
}
