// The projects of users who installed the packed tarballs: one file per way of consuming a package, and the
// tsconfig of each TypeScript setting. Written into a temp project by package.test.ts.

/** Telemetry options of the consumers' own CLI; the endpoint comes from env (a loopback collector). */
const OPTIONS = `{
  library: { name: "consumer", version: "1.0.0" },
  configDirName: ".consumer",
  envPrefix: "CONSUMER",
  defaultEndpoint: "http://127.0.0.1:9",
  settings: { section: "runtime", enabled: "telemetry", endpoint: "telemetry_endpoint", writeKey: "telemetry_write_key" },
}`;

/**
 * An ES module host: typed events sent in-process with `flush()` to the fake collector of the installed
 * `./testing` entry. Prints `command_esm consumer 1`.
 */
export const TELEMETRY_ESM = `
import { createTelemetry, defineEvents, typedTracker } from "@dlt-ts/telemetry";
import { startFakeCollector } from "@dlt-ts/telemetry/testing";

const rx = await startFakeCollector();
const telemetry = createTelemetry({ ...${OPTIONS}, env: { ...process.env, RUNTIME__TELEMETRY_ENDPOINT: rx.url } });
const events = defineEvents({ command_esm: { description: "ran", properties: { success: { type: "boolean", description: "ok" } } } });
typedTracker(telemetry, events).track("command_esm", { success: true });
await telemetry.flush();
const [event] = await rx.waitForEvents(1);
console.log(event.event, event.context.library.name, telemetry.stats().delivered);
await telemetry.shutdown();
await rx.close();
`;

/**
 * A CommonJS host: requires both entries, tracks and exits; the hand-off's detached sender (the installed
 * `sender-main.js`) delivers the event. Prints `true default function`.
 */
export const TELEMETRY_CJS = `
const { createTelemetry } = require("@dlt-ts/telemetry");
const { startFakeCollector } = require("@dlt-ts/telemetry/testing");

const telemetry = createTelemetry(${OPTIONS});
console.log(telemetry.status.enabled, telemetry.status.source, typeof startFakeCollector);
telemetry.track("command", "cjs", { success: true });
`;

/**
 * A CommonJS host's \`telemetry disable\`: the installed \`./switch\` entry, with the TOML editor dlt-ts brought in.
 * Prints \`[runtime] telemetry = false disabled\`.
 */
export const SWITCH_CJS = `
const { readFileSync } = require("node:fs");
const { switchTelemetry } = require("@dlt-ts/telemetry/switch");

switchTelemetry(${OPTIONS}, false).then(({ written, settings }) => {
  console.log(readFileSync(written[0], "utf8").trim().replace("\\n", " "), settings.enabled ? "enabled" : "disabled");
});
`;

/** dlt-ts from an ES module: a pipeline into DuckDB. Prints `{"items":2}`. */
export const DLT_ESM = `
import { pipeline } from "dlt-ts";

const p = pipeline({ pipelineName: "packaged", destination: "duckdb", datasetName: "packaged_data" });
const info = await p.run([{ id: 1, name: "a" }, { id: 2, name: "b" }], { tableName: "items" });
console.log(JSON.stringify(info.tables));
`;

/**
 * @dlt-ts/collector from an ES module: one event in, stored, and the dashboard's uPlot served from the installed
 * dependency. Prints `200 [{"event":"command_init"}] 200`.
 */
export const COLLECTOR_ESM = `
import { startCollector } from "@dlt-ts/collector";

const c = await startCollector({ port: 0, dbPath: "collector.duckdb" });
const message = { type: "track", event: "command_init", anonymousId: "a", messageId: "m-1", timestamp: new Date().toISOString(), properties: {} };
const sent = await fetch(c.url + "/v1/batch", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ batch: [message] }) });
const rows = await c.store.query("SELECT event FROM events");
const uplot = await fetch(c.url + "/assets/uplot.js");
await uplot.arrayBuffer();
// The page's modules, compiled into the tarball's dist/public.
const page = await fetch(c.url + "/assets/main.js");
await page.arrayBuffer();
console.log(sent.status, JSON.stringify(rows), uplot.status, page.status);
await c.close();
`;

/**
 * Type uses of both telemetry entries for a CommonJS package (`module: node16`, `node10`) and for bundlers. The
 * `@ts-expect-error` lines fail the check if the types resolve to `any`.
 */
export const TS_CONSUMER = `
import { createTelemetry, defineEvents, typedTracker, type Telemetry, type TelemetryStatus } from "@dlt-ts/telemetry";
import { startFakeCollector, type FakeCollector } from "@dlt-ts/telemetry/testing";
import { switchTelemetry, type SwitchResult } from "@dlt-ts/telemetry/switch";

const telemetry: Telemetry = createTelemetry(${OPTIONS});
export const status: TelemetryStatus = telemetry.status;
// @ts-expect-error: a property is a string, number, boolean or null
telemetry.track("command", "build", { nested: {} });
const events = defineEvents({ command_build: { description: "built", properties: { success: { type: "boolean", description: "ok" } } } });
// @ts-expect-error: success is a boolean in the catalogue
typedTracker(telemetry, events).track("command_build", { success: 1 });
export const collector = (): Promise<FakeCollector> => startFakeCollector("ok");
export const disable = (): Promise<SwitchResult> => switchTelemetry(${OPTIONS}, false);
`;

/** The same for an ES module under `module: nodenext`, with dlt-ts and @dlt-ts/collector. */
export const TS_ESM_CONSUMER = `${TS_CONSUMER}
import { pipeline, type LoadInfo } from "dlt-ts";
import { startCollector, type Collector } from "@dlt-ts/collector";

export const load = (): Promise<LoadInfo> => pipeline({ pipelineName: "p", destination: "duckdb" }).run([{ id: 1 }], { tableName: "t" });
export const serve = (): Promise<Collector> => startCollector({ port: 0 });
// @ts-expect-error: only duckdb is a destination
pipeline({ pipelineName: "p", destination: "postgres" });
`;

/**
 * A tsconfig that only typechecks `files`, with the repository's @types/node. `checkDeclarations` also checks the
 * installed .d.ts/.d.cts files themselves (and @types/node, ~2.5 s): one setting that reads both graphs does it.
 */
export function tsconfig(module: string, moduleResolution: string, files: readonly string[], typeRoot: string, checkDeclarations = false): string {
  return JSON.stringify(
    {
      compilerOptions: {
        target: "ES2022",
        lib: ["ES2023"],
        module,
        moduleResolution,
        strict: true,
        noEmit: true,
        skipLibCheck: !checkDeclarations,
        types: ["node"],
        typeRoots: [typeRoot],
      },
      files,
    },
    null,
    2,
  );
}
