/**
 * Source configuration as dlt reads it: `[sources.<name>]` of `.dlt/config.toml` (and `.dlt/secrets.toml`) in the
 * project, overridden by env `SOURCES__<NAME>__<KEY>`.
 */
import { join } from "node:path";
import { MAX_CONFIG_BYTES, readBounded } from "@dlt-ts/telemetry";
import { parse } from "smol-toml";

function section(file: string, name: string): Record<string, unknown> {
  // Bounded as the telemetry settings are: a `.dlt/config.toml` that is a FIFO or a link to /dev/zero (a hostile
  // repository) fails at once instead of hanging the pipeline.
  const read = readBounded(file, { maxBytes: MAX_CONFIG_BYTES, followSymlinks: true });
  if (read.kind === "absent") return {};
  if (read.kind === "unreadable") throw new Error(`${file} ${read.reason}`);
  const text = read.text;
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message.split("\n")[0]}`);
  }
  const sources = doc["sources"] as Record<string, unknown> | undefined;
  return { ...((sources?.[name] as Record<string, unknown> | undefined) ?? {}) };
}

/** The merged settings of source `name`. */
export function sourceConfig(name: string, projectDir = process.env["DLT_PROJECT_DIR"] || process.cwd()): Record<string, unknown> {
  const cfg = { ...section(join(projectDir, ".dlt", "config.toml"), name), ...section(join(projectDir, ".dlt", "secrets.toml"), name) };
  const prefix = `SOURCES__${name.toUpperCase()}__`;
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith(prefix) && v !== undefined) {
      const key = k.slice(prefix.length).toLowerCase();
      cfg[key] = /^\s*[[{]/.test(v) ? (JSON.parse(v) as unknown) : v;
    }
  }
  return cfg;
}
