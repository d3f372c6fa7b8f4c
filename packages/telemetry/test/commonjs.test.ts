// A CommonJS host (`require`) gets the CommonJS build, and everything works as for an ES module host: status,
// track, the hand-off at exit and its detached sender (the ES module build, next to the CommonJS one).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type FakeCollector, startFakeCollector, tempDir } from "../src/testing.js";

const PKG_DIR = fileURLToPath(new URL("../..", import.meta.url));

const HOST = `
const { createTelemetry } = require("@dlt-ts/telemetry");
const telemetry = createTelemetry({
  library: { name: "cjs-cli", version: "1.0.0" },
  configDirName: ".cjs-cli",
  envPrefix: "CJS_CLI",
  defaultEndpoint: "http://127.0.0.1:9",
  settings: { section: "runtime", enabled: "telemetry", endpoint: "telemetry_endpoint", writeKey: "telemetry_write_key" },
});
console.log(telemetry.status.enabled, telemetry.status.source, typeof require("@dlt-ts/telemetry/testing").startFakeCollector);
telemetry.track("command", "build", { success: true, elapsed: 0.5 });
`;

// One run of the CommonJS host; each test reads what it printed or sent.
describe("a CommonJS host", () => {
  const file = join(PKG_DIR, `.cjs-host-${process.pid}.cjs`);
  let rx: FakeCollector;
  let r: SpawnSyncReturns<string>;
  before(async () => {
    writeFileSync(file, HOST);
    rx = await startFakeCollector();
    const home = tempDir("cjs-home-");
    r = spawnSync(process.execPath, [file], {
      env: { PATH: process.env["PATH"], HOME: home, TMPDIR: home, RUNTIME__TELEMETRY_ENDPOINT: rx.url },
      encoding: "utf8",
    });
  });
  after(async () => {
    await rx.close();
    rmSync(file, { force: true });
  });

  test("requires the library and its ./testing entry, and reads its status", () => {
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.equal(r.stdout, "true default function\n");
  });

  test("hands its event off at exit, and it arrives with the host's library name", async () => {
    const [event] = await rx.waitForEvents(1);
    assert.equal(event?.["event"], "command_build");
    assert.deepEqual((event?.["context"] as Record<string, unknown>)["library"], { name: "cjs-cli", version: "1.0.0" });
  });
});
