// The first-run notice: printed once, on a TTY, outside CI, and recorded in the global data dir.
// In-process (main() with a fake TTY), so this file owns its process env.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { CI_ENV_VARS } from "@dlt-ts/telemetry";
import { startFakeCollector, tempDir } from "@dlt-ts/telemetry/testing";
import { main } from "../src/cli/index.js";
import { recordingIo } from "./cli-helpers.js";

test("the notice shows once on a TTY outside CI, never again, and never in CI", async () => {
  const rx = await startFakeCollector();
  try {
    for (const v of CI_ENV_VARS) delete process.env[v];
    const home = tempDir("notice-home-");
    process.env["HOME"] = home;
    process.env["RUNTIME__DLTHUB_TELEMETRY_ENDPOINT"] = rx.url;
    process.chdir(tempDir("notice-cwd-"));

    const first = recordingIo(true);
    assert.equal(await main(["telemetry"], first), 0);
    assert.match(first.errText, /anonymous usage data/);
    assert.match(first.errText, /dlt --disable-telemetry/);
    assert.ok(existsSync(join(home, ".dlt", "telemetry-notice-shown")));

    const second = recordingIo(true);
    assert.equal(await main(["telemetry"], second), 0);
    assert.equal(second.errText, "");

    process.env["HOME"] = tempDir("notice-home-");
    process.env["CI"] = "true";
    const inCi = recordingIo(true);
    assert.equal(await main(["telemetry"], inCi), 0);
    assert.equal(inCi.errText, "");
    delete process.env["CI"];
    const notTty = recordingIo(false);
    assert.equal(await main(["telemetry"], notTty), 0);
    assert.equal(notTty.errText, "");
  } finally {
    await rx.close();
  }
});
