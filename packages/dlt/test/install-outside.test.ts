// The README's install lines, run as written from a folder outside the checkout: the packages are not on the registry,
// so a user installs them by path from a clone. Then `npx dlt` and `npx dlt-collector` work there.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { runInProcessGroup, startLockfileRegistry, tempDir } from "@dlt-ts/telemetry/testing";
import { PACKAGE_DIR } from "../src/init/next-steps.js";

const REPO = dirname(dirname(PACKAGE_DIR));

/** The commands of the README's "Using the packages outside this checkout" block, with the clone's real path. */
function installLines(): string[] {
  const readme = readFileSync(join(REPO, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("### Using the packages outside this checkout"));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
  return block
    .split("\n")
    .map((l) => l.replace(/\s+#.*$/, "").trim())
    .filter((l) => l.startsWith("npm install "))
    .map((l) => l.replaceAll("/path/to/dlt-ts", REPO));
}

test("the README's install lines work from a folder outside the checkout; npx dlt and npx dlt-collector run there", async (t) => {
  const lines = installLines();
  assert.equal(lines.length, 3, "dlt, the collector and the library");
  const project = tempDir("outside-");
  const home = tempDir("outside-home-");
  const registry = await startLockfileRegistry({ lockfile: join(REPO, "package-lock.json") });
  t.after(() => registry.close());
  const env = {
    PATH: process.env["PATH"],
    HOME: home,
    TMPDIR: home,
    DO_NOT_TRACK: "1",
    npm_config_registry: registry.url,
    npm_config_cache: join(home, "npm-cache"),
    npm_config_audit: "false",
    npm_config_fund: "false",
    npm_config_update_notifier: "false",
  };
  const sh = (command: string) => runInProcessGroup("sh", ["-c", command], { cwd: project, env, timeoutMs: 90_000 });
  assert.equal((await sh("npm init -y >/dev/null")).code, 0);
  for (const line of lines) {
    const r = await sh(line);
    assert.equal(r.code, 0, `${line}\n${r.stderr}\nnot in the lockfile: ${registry.unknown.join(", ")}`);
  }
  const version = await sh("npx dlt --version");
  assert.equal(version.code, 0, version.stderr);
  assert.equal(version.stdout.trim(), (JSON.parse(readFileSync(join(PACKAGE_DIR, "package.json"), "utf8")) as { version: string }).version);
  const status = await sh("npx dlt telemetry");
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /Telemetry is DISABLED/);
  const collector = await sh("npx dlt-collector --help");
  assert.equal(collector.code, 0, collector.stderr);
  assert.match(collector.stdout, /Usage: dlt-collector/);
  const library = await sh(`node --input-type=module -e 'import("@dlt-ts/telemetry").then((m) => console.log(typeof m.createTelemetry))'`);
  assert.equal(library.stdout.trim(), "function", library.stderr);
});
