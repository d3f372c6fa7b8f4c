// `@dlt-ts/telemetry/switch`: a host's `my-cli telemetry disable`, the switch `dlt --disable-telemetry` uses.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { resolveSettings } from "../src/index.js";
import { switchTelemetry, TelemetrySwitchError } from "../src/switch.js";
import { runInProcessGroup, tempDir } from "../src/testing.js";
import { testHost } from "./options.js";

const BUNDLE = fileURLToPath(new URL("../../dist/bundle/", import.meta.url));

describe("switching off writes the host's own settings files", () => {
  test("the global config.toml gets [runtime] telemetry = false with its other keys and comments kept, and later runs are off", async (t) => {
    const h = testHost();
    t.after(h.cleanup);
    const file = h.writeGlobal('# my settings\n[runtime]\nlog_level = "INFO" # chatty\n');
    const r = await switchTelemetry(h.options, false);
    assert.deepEqual(r.written, [file]);
    assert.equal(readFileSync(file, "utf8"), '# my settings\n[runtime]\nlog_level = "INFO" # chatty\ntelemetry = false\n');
    assert.equal(r.settings.enabled, false);
    assert.equal(r.settings.reason, "set in ~/.acme/config.toml");
    assert.equal(resolveSettings(h.options).enabled, false);
  });

  test("a missing global config.toml (and its folder) is created", async (t) => {
    const h = testHost();
    t.after(h.cleanup);
    const r = await switchTelemetry(h.options, false);
    const file = join(h.home, ".acme", "config.toml");
    assert.deepEqual(r.written, [file]);
    assert.equal(readFileSync(file, "utf8"), "[runtime]\ntelemetry = false\n");
  });

  test("the project's config.toml and a secrets.toml that sets the switch are written too, so neither undoes it", async (t) => {
    const h = testHost();
    t.after(h.cleanup);
    const project = h.writeProject("[runtime]\ntelemetry = true\n");
    const secrets = h.writeGlobal("[runtime]\ntelemetry = true\n", "secrets.toml");
    const r = await switchTelemetry(h.options, false);
    assert.deepEqual(r.written, [join(h.home, ".acme", "config.toml"), project, secrets]);
    assert.match(readFileSync(project, "utf8"), /telemetry = false/);
    assert.match(readFileSync(secrets, "utf8"), /telemetry = false/);
    assert.equal(r.settings.enabled, false);
  });

  test("the host's own names are written: dlt's [runtime] dlthub_telemetry with DLT_SETTINGS", async (t) => {
    const h = testHost({ settings: { section: "runtime", enabled: "dlthub_telemetry", endpoint: "dlthub_telemetry_endpoint", writeKey: "w" } });
    t.after(h.cleanup);
    await switchTelemetry(h.options, false);
    assert.equal(readFileSync(join(h.home, ".acme", "config.toml"), "utf8"), "[runtime]\ndlthub_telemetry = false\n");
  });

  test("switching on again writes true, whatever the flag of the invocation said", async (t) => {
    const h = testHost({ flag: false });
    t.after(h.cleanup);
    await switchTelemetry(h.options, false);
    const r = await switchTelemetry(h.options, true);
    assert.equal(readFileSync(join(h.home, ".acme", "config.toml"), "utf8"), "[runtime]\ntelemetry = true\n");
    assert.equal(r.settings.enabled, true);
    assert.equal(r.settings.source, "global");
  });

  test("an env variable above the files still decides, and the result says so for the host to tell the user", async (t) => {
    const h = testHost({ env: { RUNTIME__TELEMETRY: "true" } });
    t.after(h.cleanup);
    const r = await switchTelemetry(h.options, false);
    assert.equal(r.settings.enabled, true);
    assert.equal(r.settings.reason, "enabled by RUNTIME__TELEMETRY");
  });
});

describe("a switch that cannot be made changes nothing and says why", () => {
  test("a settings file that is not valid TOML: an error naming it with line:col, and no file written", async (t) => {
    const h = testHost();
    t.after(h.cleanup);
    const project = h.writeProject("[runtime]\ntelemetry = true\n");
    const broken = h.writeGlobal("[runtime\n", "secrets.toml");
    await assert.rejects(switchTelemetry(h.options, false), (e: unknown) => {
      assert.ok(e instanceof TelemetrySwitchError);
      assert.ok(e.message.startsWith(`telemetry was not switched off: ${broken}:1:9 is not valid TOML (`), e.message);
      assert.match(e.message, /No file was changed\. Fix or remove that file, then run the command again\.$/);
      return true;
    });
    assert.equal(readFileSync(project, "utf8"), "[runtime]\ntelemetry = true\n");
    assert.equal(readFileSync(broken, "utf8"), "[runtime\n");
    assert.equal(existsSync(join(h.home, ".acme", "config.toml")), false);
  });

  test("without @decimalturn/toml-patch installed: an error naming the package to install, no file written", async (t) => {
    // The package's bundles copied where no node_modules is above them, as in a host that did not add the peer.
    const dir = tempDir("switch-no-peer-");
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const pkg = join(dir, "pkg");
    mkdirSync(pkg);
    cpSync(BUNDLE, pkg, { recursive: true });
    writeFileSync(join(pkg, "package.json"), '{"type":"module"}\n');
    const home = join(dir, "home");
    mkdirSync(home);
    const script = `import { switchTelemetry } from ${JSON.stringify(join(pkg, "switch.js"))};
try { await switchTelemetry({ configDirName: ".acme", envPrefix: "ACME", defaultEndpoint: "http://127.0.0.1:9" }, false); }
catch (e) { console.log(e.name + ": " + e.message); }`;
    const r = await runInProcessGroup(process.execPath, ["--input-type=module", "-e", script], {
      cwd: dir,
      env: { PATH: process.env["PATH"], HOME: home, TMPDIR: dir },
      timeoutMs: 20_000,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout.trim(),
      "TelemetrySwitchError: telemetry was not switched off: it needs @decimalturn/toml-patch, which is not installed. " +
        "No file was changed. Install it (npm install @decimalturn/toml-patch), then run the command again.",
    );
    assert.equal(existsSync(join(home, ".acme")), false);
  });
});
