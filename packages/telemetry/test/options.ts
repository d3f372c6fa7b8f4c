import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TelemetryOptions } from "../src/index.js";
import { tempDir } from "../src/testing.js";

/** Options of a test host ("acme"), with a private HOME, data dir and project dir. */
export function testHost(extra: Partial<TelemetryOptions> & { env?: NodeJS.ProcessEnv } = {}): {
  options: TelemetryOptions;
  home: string;
  project: string;
  writeGlobal(toml: string, name?: string): string;
  writeProject(toml: string, name?: string): string;
  /** Removes the host's folders (for `t.after`). */
  cleanup(): void;
} {
  const home = tempDir("tel-home-");
  const project = tempDir("tel-proj-");
  const env: NodeJS.ProcessEnv = { HOME: home, ...(extra.env ?? {}) };
  const options: TelemetryOptions = {
    library: { name: "acme", version: "1.2.3" },
    configDirName: ".acme",
    envPrefix: "ACME",
    defaultEndpoint: "http://127.0.0.1:9/never",
    settings: { section: "runtime", enabled: "telemetry", endpoint: "telemetry_endpoint", writeKey: "telemetry_write_key" },
    cwd: project,
    // Test senders give up fast, so no process outlives the suite by long.
    handOffLifetimeMs: 3000,
    ...extra,
    env,
  };
  const write = (dir: string, toml: string, name = "config.toml"): string => {
    mkdirSync(join(dir, ".acme"), { recursive: true });
    const f = join(dir, ".acme", name);
    writeFileSync(f, toml);
    return f;
  };
  return {
    options,
    home,
    project,
    writeGlobal: (t, name) => write(home, t, name),
    writeProject: (t, name) => write(project, t, name),
    cleanup: () => {
      rmSync(home, { recursive: true, force: true });
      rmSync(project, { recursive: true, force: true });
    },
  };
}
