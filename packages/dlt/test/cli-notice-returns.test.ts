// The first-run notice returns once when what is collected changes (issue 26): the marker records the hash of the
// event catalogue the user was told about. In-process (main() with a fake TTY), so this file owns its process env
// (and its process-wide client: one HOME for the whole file).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CI_ENV_VARS } from "@dlt-ts/telemetry";
import { startFakeCollector, tempDir } from "@dlt-ts/telemetry/testing";
import { main } from "../src/cli/index.js";
import { recordingIo } from "./cli-helpers.js";
import { dltCatalogueHash } from "../src/events.js";

test("the notice returns once when what is collected changes: the marker records the catalogue's hash", async () => {
  const rx = await startFakeCollector();
  try {
    for (const v of CI_ENV_VARS) delete process.env[v];
    const home = tempDir("notice-home-");
    process.env["HOME"] = home;
    process.env["RUNTIME__DLTHUB_TELEMETRY_ENDPOINT"] = rx.url;
    process.chdir(tempDir("notice-cwd-"));
    const marker = join(home, ".dlt", "telemetry-notice-shown");

    const first = recordingIo(true);
    assert.equal(await main(["telemetry"], first), 0);
    assert.match(first.errText, /anonymous usage data/);
    assert.match(readFileSync(marker, "utf8"), new RegExp(`^catalogue ${dltCatalogueHash()}$`, "m"));

    // Told about another catalogue (an older dlt-ts collected something else): shown once more, then not again.
    writeFileSync(marker, `2026-01-01T00:00:00.000Z\ncatalogue ${"0".repeat(64)}\n`);
    const changed = recordingIo(true);
    assert.equal(await main(["telemetry"], changed), 0);
    assert.match(changed.errText, /anonymous usage data/);
    const after = recordingIo(true);
    assert.equal(await main(["telemetry"], after), 0);
    assert.equal(after.errText, "");

    // A marker of a dlt-ts from before the hash was recorded: that user was told about an older catalogue.
    writeFileSync(marker, "2026-01-01T00:00:00.000Z\n");
    const old = recordingIo(true);
    assert.equal(await main(["telemetry"], old), 0);
    assert.match(old.errText, /anonymous usage data/);
    const once = recordingIo(true);
    assert.equal(await main(["telemetry"], once), 0);
    assert.equal(once.errText, "");
    assert.match(readFileSync(marker, "utf8"), new RegExp(`^catalogue ${dltCatalogueHash()}$`, "m"));
  } finally {
    await rx.close();
  }
});
