import { describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, symlinkSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { batchUrlOf, DLT_SETTINGS, resolveSettings, TELEMETRY_SETTINGS } from "../src/index.js";
import { testHost } from "./options.js";

test("default: enabled, decided by the default", () => {
  const h = testHost();
  const s = resolveSettings(h.options);
  assert.equal(s.enabled, true);
  assert.equal(s.source, "default");
  assert.equal(s.reason, "enabled by default");
});

test("global file disables; the reason names it with ~", () => {
  const h = testHost();
  h.writeGlobal("[runtime]\ntelemetry = false\n");
  const s = resolveSettings(h.options);
  assert.equal(s.enabled, false);
  assert.equal(s.source, "global");
  assert.equal(s.reason, "set in ~/.acme/config.toml");
});

test("project file beats global file, both ways", () => {
  const h = testHost();
  h.writeGlobal("[runtime]\ntelemetry = false\n");
  h.writeProject("[runtime]\ntelemetry = true\n");
  assert.equal(resolveSettings(h.options).enabled, true);
  assert.equal(resolveSettings(h.options).source, "project");
  const g = testHost();
  g.writeGlobal("[runtime]\ntelemetry = true\n");
  g.writeProject("[runtime]\ntelemetry = false\n");
  assert.equal(resolveSettings(g.options).enabled, false);
});

test("env beats files; the project dir can be moved with <PREFIX>_PROJECT_DIR, the data dir with <PREFIX>_DATA_DIR", () => {
  const h = testHost({ env: { RUNTIME__TELEMETRY: "true" } });
  h.writeProject("[runtime]\ntelemetry = false\n");
  const s = resolveSettings(h.options);
  assert.equal(s.enabled, true);
  assert.equal(s.source, "env");
  assert.equal(s.reason, "enabled by RUNTIME__TELEMETRY");

  const other = testHost();
  other.writeProject("[runtime]\ntelemetry = false\n");
  const h2 = testHost({ env: { ACME_PROJECT_DIR: other.project } });
  assert.equal(resolveSettings(h2.options).source, "project");

  const h3 = testHost({ env: { ACME_DATA_DIR: `${other.project}/.acme` } });
  assert.equal(resolveSettings(h3.options).source, "global");
  assert.equal(resolveSettings(h3.options).enabled, false);
});

test("DO_NOT_TRACK disables over an env opt-in; empty, 0 and false do not", () => {
  for (const v of ["1", "true", "yes", "anything"]) {
    const s = resolveSettings(testHost({ env: { DO_NOT_TRACK: v, RUNTIME__TELEMETRY: "true" } }).options);
    assert.equal(s.enabled, false, v);
    assert.equal(s.reason, "disabled by DO_NOT_TRACK");
  }
  for (const v of ["", "0", "false"]) {
    assert.equal(resolveSettings(testHost({ env: { DO_NOT_TRACK: v } }).options).enabled, true, v);
  }
});

test("the flag of this invocation beats everything", () => {
  const h = testHost({ env: { DO_NOT_TRACK: "1", RUNTIME__TELEMETRY: "false" }, flag: true });
  const s = resolveSettings(h.options);
  assert.equal(s.enabled, true);
  assert.equal(s.source, "flag");
  const off = resolveSettings(testHost({ env: { RUNTIME__TELEMETRY: "true" }, flag: false }).options);
  assert.equal(off.enabled, false);
});

describe("fail closed: a settings file that exists but cannot be used turns telemetry off for the run", () => {
  /** A host whose every opt-in layer says yes, and whose global config.toml is `broken` by `make`. */
  function optedInEverywhere(t: TestContext, flag?: boolean): ReturnType<typeof testHost> {
    const h = testHost({ env: { RUNTIME__TELEMETRY: "true" }, ...(flag === undefined ? {} : { flag }) });
    t.after(h.cleanup);
    h.writeProject("[runtime]\ntelemetry = true\n");
    return h;
  }

  test("a syntax error: off, and the reason names the file with line:col; no opt-in overrides it, not even the flag", (t) => {
    for (const flag of [undefined, true]) {
      const h = optedInEverywhere(t, flag);
      const f = h.writeGlobal("[runtime]\ntelemetry = fals\n");
      const s = resolveSettings(h.options);
      assert.equal(s.enabled, false);
      assert.equal(s.source, "global");
      assert.equal(s.reason, "disabled: ~/.acme/config.toml:2:13 is not valid TOML (invalid value)");
      assert.deepEqual(s.problems, [{ where: f, line: 2, column: 13, reason: "is not valid TOML (invalid value)", disables: true }]);
      assert.equal(s.layers.find((l) => l.source === "global")?.value, false);
    }
  });

  test("not a regular file, /dev/zero behind a symlink, a FIFO, over 1 MB: each off at once, nothing read past the bounds", (t) => {
    const cases: [string, (f: string) => void, string][] = [
      ["a folder", (f) => mkdirSync(f), "is not a regular file"],
      ["a symlink to /dev/zero", (f) => symlinkSync("/dev/zero", f), "is not a regular file"],
      ["a FIFO nobody writes to", (f) => execFileSync("mkfifo", [f]), "is not a regular file"],
      [
        "300 MB (sparse)",
        (f) => {
          closeSync(openSync(f, "w"));
          truncateSync(f, 300 * 1024 * 1024);
        },
        "is larger than 1 MB",
      ],
    ];
    for (const [name, make, reason] of cases) {
      const h = optedInEverywhere(t);
      mkdirSync(join(h.home, ".acme"));
      const f = join(h.home, ".acme", "config.toml");
      make(f);
      const started = performance.now();
      const s = resolveSettings(h.options);
      assert.ok(performance.now() - started < 1000, `${name}: resolved at normal speed`);
      assert.equal(s.enabled, false, name);
      assert.equal(s.reason, `disabled: ~/.acme/config.toml ${reason}`, name);
      assert.equal(s.problems[0]?.where, f);
    }
  });

  test("a higher layer that already says off stays the reason", (t) => {
    const h = testHost({ env: { DO_NOT_TRACK: "1" } });
    t.after(h.cleanup);
    h.writeGlobal("[runtime\n");
    const s = resolveSettings(h.options);
    assert.equal(s.source, "do_not_track");
    assert.equal(s.problems.length, 1);
  });

  test("a broken file below an opt-out still decides: it might have said on, but not above it", (t) => {
    const h = testHost();
    t.after(h.cleanup);
    h.writeProject("[runtime\n");
    h.writeGlobal("[runtime]\ntelemetry = false\n");
    assert.equal(resolveSettings(h.options).source, "project");
  });

  test("a [runtime] that is not a table counts as a broken file", (t) => {
    const h = testHost();
    t.after(h.cleanup);
    h.writeGlobal('runtime = "yes"\n');
    assert.equal(resolveSettings(h.options).reason, "disabled: ~/.acme/config.toml has a [runtime] that is not a table");
  });

  test("a symlinked config file (a dotfiles repository) is read as any other", (t) => {
    const h = testHost();
    t.after(h.cleanup);
    const real = h.writeProject("[runtime]\ntelemetry = false\n", "real.toml");
    mkdirSync(join(h.home, ".acme"));
    symlinkSync(real, join(h.home, ".acme", "config.toml"));
    const s = resolveSettings(h.options);
    assert.deepEqual([s.enabled, s.source, s.problems], [false, "global", []]);
  });
});

test("a switch value that is not true or false counts as off, with a problem naming the key", (t) => {
  const h = testHost({ env: { RUNTIME__TELEMETRY: "maybe" } });
  t.after(h.cleanup);
  const s = resolveSettings(h.options);
  assert.deepEqual([s.enabled, s.source, s.reason], [false, "env", "disabled: RUNTIME__TELEMETRY is not true or false"]);
  assert.deepEqual(s.problems, [{ where: "RUNTIME__TELEMETRY", reason: "must be true or false (read as false)" }]);

  const g = testHost();
  t.after(g.cleanup);
  g.writeGlobal('[runtime]\ntelemetry = "sometimes"\n');
  const f = resolveSettings(g.options);
  assert.deepEqual([f.enabled, f.source, f.reason], [false, "global", "disabled: runtime.telemetry in ~/.acme/config.toml is not true or false"]);
  assert.equal(f.problems[0]?.reason, "runtime.telemetry must be true or false (read as false)");
});

test("an endpoint of the wrong type in a file: nothing is sent (not the default endpoint instead)", (t) => {
  const h = testHost();
  t.after(h.cleanup);
  h.writeProject("[runtime]\ntelemetry_endpoint = 8080\n");
  const s = resolveSettings(h.options);
  assert.equal(s.batchUrl, "");
  assert.ok(s.problems.some((p) => p.reason === "runtime.telemetry_endpoint must be a URL string (nothing is sent)"));
});

describe("secrets.toml, dlt's order: env > project secrets > global secrets > project config > global config", () => {
  test("each layer beats the ones below it", (t) => {
    const h = testHost();
    t.after(h.cleanup);
    h.writeGlobal("[runtime]\ntelemetry = true\n");
    h.writeProject("[runtime]\ntelemetry = true\n");
    h.writeGlobal("[runtime]\ntelemetry = false\n", "secrets.toml");
    assert.deepEqual([resolveSettings(h.options).source, resolveSettings(h.options).reason], ["global_secrets", "set in ~/.acme/secrets.toml"]);
    h.writeProject("[runtime]\ntelemetry = true\n", "secrets.toml");
    assert.deepEqual([resolveSettings(h.options).enabled, resolveSettings(h.options).source], [true, "project_secrets"]);
    const e = testHost({ env: { RUNTIME__TELEMETRY: "false" }, cwd: h.project });
    t.after(e.cleanup);
    assert.equal(resolveSettings({ ...e.options, env: { ...e.options.env, HOME: h.home } }).source, "env");
  });

  test("the write key and the endpoint usually live in secrets.toml", (t) => {
    const h = testHost();
    t.after(h.cleanup);
    h.writeGlobal('[runtime]\ntelemetry_endpoint = "http://config.invalid"\ntelemetry_write_key = "from-config"\n');
    h.writeGlobal('[runtime]\ntelemetry_endpoint = "http://secrets.invalid"\ntelemetry_write_key = "from-secrets"\n', "secrets.toml");
    const s = resolveSettings(h.options);
    assert.deepEqual([s.batchUrl, s.writeKey], ["http://secrets.invalid/v1/batch", "from-secrets"]);
  });

  test("a secrets.toml that cannot be parsed turns telemetry off like a broken config.toml", (t) => {
    const h = testHost();
    t.after(h.cleanup);
    h.writeProject('[runtime]\ntelemetry_segment_write_key = "abc\n', "secrets.toml");
    const s = resolveSettings(h.options);
    assert.equal(s.enabled, false);
    assert.equal(s.source, "project_secrets");
    assert.match(s.reason, /^disabled: .*\.acme\/secrets\.toml:2:\d+ is not valid TOML/);
  });
});

test("endpoint: env > project > global > default; base URL gets /v1/batch, /v1/track and /v1/batch are kept", () => {
  const h = testHost();
  h.writeGlobal('[runtime]\ntelemetry_endpoint = "http://global.invalid"\ntelemetry_write_key = "gk"\n');
  assert.equal(resolveSettings(h.options).batchUrl, "http://global.invalid/v1/batch");
  assert.equal(resolveSettings(h.options).writeKeySet, true);
  h.writeProject('[runtime]\ntelemetry_endpoint = "http://project.invalid/base/"\n');
  assert.equal(resolveSettings(h.options).batchUrl, "http://project.invalid/base/v1/batch");
  const e = testHost({ env: { RUNTIME__TELEMETRY_ENDPOINT: "https://seg.invalid/v1/track" } });
  assert.equal(resolveSettings(e.options).batchUrl, "https://seg.invalid/v1/track");
  assert.equal(batchUrlOf("http://x.invalid/v1/batch"), "http://x.invalid/v1/batch");
  assert.equal(batchUrlOf("ftp://x.invalid"), undefined);
  assert.equal(resolveSettings(testHost({ env: { RUNTIME__TELEMETRY_ENDPOINT: "not a url" } }).options).batchUrl, "");
});

describe("a misplaced switch (outside [runtime]): an opt-out still opts out, an opt-in is no opt-in", () => {
  test("at the top level, false: that file decides off, above an opt-in in its own [runtime]; one problem says where it belongs", (t) => {
    const h = testHost();
    t.after(h.cleanup);
    const file = h.writeGlobal("telemetry = false\n\n[runtime]\ntelemetry = true\n");
    const s = resolveSettings(h.options);
    assert.equal(s.enabled, false);
    assert.equal(s.source, "global");
    assert.equal(s.reason, "disabled: telemetry at the top level of ~/.acme/config.toml (it belongs under [runtime]; counted as an opt-out)");
    assert.deepEqual(s.problems, [
      { where: file, reason: "telemetry = false is at the top level; it belongs under [runtime] (runtime.telemetry): counted as an opt-out" },
    ]);
  });

  test("in another table, or a sub-table of [runtime], or as a string that says off: each the file's opt-out", (t) => {
    for (const [toml, at] of [
      ["[sources.chess]\ntelemetry = false\n", "[sources.chess]"],
      ["[runtime.extra]\ntelemetry = false\n", "[runtime.extra]"],
      ['[[jobs]]\nname = "a"\n[[jobs]]\ntelemetry = "no"\n', "[jobs]"],
      ['telemetry = "maybe"\n', "the top level"],
    ] as const) {
      const h = testHost();
      t.after(h.cleanup);
      h.writeProject(toml);
      const s = resolveSettings(h.options);
      assert.equal(s.enabled, false, toml);
      assert.equal(s.source, "project", toml);
      assert.match(s.reason, new RegExp(`^disabled: telemetry (at|in) ${at.replace(/[[\].]/g, "\\$&")}`), toml);
      assert.equal(s.problems.length, 1, toml);
    }
  });

  test("a higher layer still decides over it, as over any file's opt-out", (t) => {
    const h = testHost({ env: { RUNTIME__TELEMETRY: "true" } });
    t.after(h.cleanup);
    h.writeGlobal("telemetry = false\n");
    assert.equal(resolveSettings(h.options).enabled, true);
  });

  test("a top-level true is not an opt-in: ignored, with a problem; a lower opt-out still decides", (t) => {
    const h = testHost();
    t.after(h.cleanup);
    const file = h.writeProject("telemetry = true\n");
    h.writeGlobal("[runtime]\ntelemetry = false\n");
    const s = resolveSettings(h.options);
    assert.equal(s.enabled, false);
    assert.equal(s.source, "global");
    assert.deepEqual(s.problems, [
      { where: file, reason: "telemetry = true is at the top level; it belongs under [runtime] (runtime.telemetry): ignored (not an opt-in)" },
    ]);
    // The same key in its place, or in no file at all, changes nothing.
    const clean = testHost();
    t.after(clean.cleanup);
    clean.writeGlobal('[runtime]\ntelemetry = true\n[sources]\nother = "telemetry"\n');
    assert.deepEqual(resolveSettings(clean.options).problems, []);
  });
});

test("a host that names no settings gets [runtime] telemetry (RUNTIME__TELEMETRY); DLT_SETTINGS gives dlt's names", (t) => {
  const h = testHost();
  t.after(h.cleanup);
  const { settings: _names, ...withoutNames } = h.options;
  h.writeGlobal("[runtime]\ntelemetry = false\n");
  const fromFile = resolveSettings(withoutNames);
  assert.equal(fromFile.enabled, false);
  assert.equal(fromFile.source, "global");
  assert.equal(resolveSettings({ ...withoutNames, env: { ...withoutNames.env, RUNTIME__TELEMETRY: "true" } }).enabled, true, "the env twin wins");
  const dlt = resolveSettings({ ...withoutNames, settings: DLT_SETTINGS, env: { ...withoutNames.env, RUNTIME__DLTHUB_TELEMETRY: "false" } });
  assert.deepEqual([dlt.enabled, dlt.source], [false, "env"]);
  assert.deepEqual(TELEMETRY_SETTINGS, { section: "runtime", enabled: "telemetry", endpoint: "telemetry_endpoint", writeKey: "telemetry_write_key" });
});
