import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startFakeCollector, tempDir } from "../src/testing.js";

const README = fileURLToPath(new URL("../../README.md", import.meta.url));
const PKG_DIR = fileURLToPath(new URL("../..", import.meta.url));

test("the README example runs as printed and its events arrive", async () => {
  const code = /```js\n([\s\S]*?)```/.exec(readFileSync(README, "utf8"))?.[1];
  assert.ok(code, "README has a js example");
  // Run it from inside the package so `@dlt-ts/telemetry` resolves as for a user.
  const file = join(PKG_DIR, `.readme-example-${process.pid}.mjs`);
  writeFileSync(file, code);
  const rx = await startFakeCollector();
  try {
    const home = tempDir("readme-home-");
    const r = spawnSync(process.execPath, [file], {
      env: { PATH: process.env["PATH"], HOME: home, TMPDIR: home, RUNTIME__TELEMETRY_ENDPOINT: rx.url },
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "true default enabled by default\n42\n");
    const events = await rx.waitForEvents(2);
    assert.deepEqual(events.map((e) => e["event"]).sort(), ["command_answer", "command_build"]);
  } finally {
    await rx.close();
    (await import("node:fs")).rmSync(file, { force: true });
  }
});
