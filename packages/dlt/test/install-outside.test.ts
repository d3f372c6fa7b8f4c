// The README's install lines, run as written from a folder outside the checkout: the packages are not on the registry,
// so a user installs them by path from a clone. Then `npx dlt` and `npx dlt-collector` work there.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { type LockfileRegistry, runInProcessGroup, startLockfileRegistry, tempDir } from "@dlt-ts/telemetry/testing";
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

// In order, on purpose: one install (about 20 s) is shared; "each works as written" runs it, the tests after it run
// what it installed.
describe("the README's install lines, from a folder outside the checkout, in order", () => {
  let registry: LockfileRegistry;
  let sh: (command: string) => ReturnType<typeof runInProcessGroup>;
  const lines = installLines();
  before(async () => {
    const project = tempDir("outside-");
    const home = tempDir("outside-home-");
    registry = await startLockfileRegistry({ lockfile: join(REPO, "package-lock.json") });
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
    sh = (command: string) => runInProcessGroup("sh", ["-c", command], { cwd: project, env, timeoutMs: 90_000 });
  });
  after(() => registry.close());

  test("are three: dlt, the collector and the library", () => {
    assert.equal(lines.length, 3, "dlt, the collector and the library");
  });

  test("each works as written", async () => {
    assert.equal((await sh("npm init -y >/dev/null")).code, 0);
    for (const line of lines) {
      const r = await sh(line);
      assert.equal(r.code, 0, `${line}\n${r.stderr}\nnot in the lockfile: ${registry.unknown.join(", ")}`);
    }
  });

  // The tests below run what the install above put in place.
  test("then npx dlt runs there, at the installed version, with the user's settings", async () => {
    const version = await sh("npx dlt --version");
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout.trim(), (JSON.parse(readFileSync(join(PACKAGE_DIR, "package.json"), "utf8")) as { version: string }).version);
    const status = await sh("npx dlt telemetry");
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /Telemetry is DISABLED/);
  });

  test("then npx dlt-collector runs there", async () => {
    const collector = await sh("npx dlt-collector --help");
    assert.equal(collector.code, 0, collector.stderr);
    assert.match(collector.stdout, /Usage: dlt-collector/);
  });

  test("then @dlt-ts/telemetry imports there", async () => {
    const library = await sh(`node --input-type=module -e 'import("@dlt-ts/telemetry").then((m) => console.log(typeof m.createTelemetry))'`);
    assert.equal(library.stdout.trim(), "function", library.stderr);
  });
});
