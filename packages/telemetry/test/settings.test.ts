import { describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, symlinkSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { batchUrlOf, DLT_SETTINGS, resolveSettings, TELEMETRY_SETTINGS } from "../src/index.js";
import { testHost } from "./options.js";

/** A test host whose folders are removed when test `t` ends. */
function host(t: TestContext, extra?: Parameters<typeof testHost>[0]): ReturnType<typeof testHost> {
  const h = testHost(extra);
  t.after(h.cleanup);
  return h;
}

describe("layers: the flag > env > project file > global file > default", () => {
  test("with nothing set anywhere, telemetry is on, decided by the default", (t) => {
    const h = host(t);
    const s = resolveSettings(h.options);
    assert.equal(s.enabled, true);
    assert.equal(s.source, "default");
    assert.equal(s.reason, "enabled by default");
  });

  test("a global config.toml can turn it off, and the reason names that file with ~", (t) => {
    const h = host(t);
    h.writeGlobal("[runtime]\ntelemetry = false\n");
    const s = resolveSettings(h.options);
    assert.equal(s.enabled, false);
    assert.equal(s.source, "global");
    assert.equal(s.reason, "set in ~/.acme/config.toml");
  });

  test("the project file beats the global file, both ways", (t) => {
    const h = host(t);
    h.writeGlobal("[runtime]\ntelemetry = false\n");
    h.writeProject("[runtime]\ntelemetry = true\n");
    assert.equal(resolveSettings(h.options).enabled, true);
    assert.equal(resolveSettings(h.options).source, "project");
    const g = host(t);
    g.writeGlobal("[runtime]\ntelemetry = true\n");
    g.writeProject("[runtime]\ntelemetry = false\n");
    assert.equal(resolveSettings(g.options).enabled, false);
  });

  test("the env beats the files", (t) => {
    const h = host(t, { env: { RUNTIME__TELEMETRY: "true" } });
    h.writeProject("[runtime]\ntelemetry = false\n");
    const s = resolveSettings(h.options);
    assert.equal(s.enabled, true);
    assert.equal(s.source, "env");
    assert.equal(s.reason, "enabled by RUNTIME__TELEMETRY");
  });

  test("<PREFIX>_PROJECT_DIR moves the project dir whose file is read", (t) => {
    const other = host(t);
    other.writeProject("[runtime]\ntelemetry = false\n");
    const h2 = host(t, { env: { ACME_PROJECT_DIR: other.project } });
    assert.equal(resolveSettings(h2.options).source, "project");
  });

  test("<PREFIX>_DATA_DIR moves the data dir whose file is the global layer", (t) => {
    const other = host(t);
    other.writeProject("[runtime]\ntelemetry = false\n");
    const h3 = host(t, { env: { ACME_DATA_DIR: `${other.project}/.acme` } });
    assert.equal(resolveSettings(h3.options).source, "global");
    assert.equal(resolveSettings(h3.options).enabled, false);
  });

  test("the flag of this invocation beats everything", (t) => {
    const h = host(t, { env: { DO_NOT_TRACK: "1", RUNTIME__TELEMETRY: "false" }, flag: true });
    const s = resolveSettings(h.options);
    assert.equal(s.enabled, true);
    assert.equal(s.source, "flag");
    const off = resolveSettings(host(t, { env: { RUNTIME__TELEMETRY: "true" }, flag: false }).options);
    assert.equal(off.enabled, false);
  });
});

describe("DO_NOT_TRACK", () => {
  test("any value but empty, 0 and false turns telemetry off, over an env opt-in", (t) => {
    for (const v of ["1", "true", "yes", "anything"]) {
      const s = resolveSettings(host(t, { env: { DO_NOT_TRACK: v, RUNTIME__TELEMETRY: "true" } }).options);
      assert.equal(s.enabled, false, v);
      assert.equal(s.reason, "disabled by DO_NOT_TRACK");
    }
  });

  test("empty, 0 and false leave telemetry on", (t) => {
    for (const v of ["", "0", "false"]) {
      assert.equal(resolveSettings(host(t, { env: { DO_NOT_TRACK: v } }).options).enabled, true, v);
    }
  });
});

describe("fail closed: a settings file that exists but cannot be used turns telemetry off for the run", () => {
  /** A host whose every opt-in layer says yes, and whose global config.toml is `broken` by `make`. */
  function optedInEverywhere(t: TestContext, flag?: boolean): ReturnType<typeof testHost> {
    const h = testHost({ env: { RUNTIME__TELEMETRY: "true" }, ...(flag === undefined ? {} : { flag }) });
    t.after(h.cleanup);
    h.writeProject("[runtime]\ntelemetry = true\n");
    return h;
  }

  for (const [name, flag] of [
    ["a syntax error turns it off, and the reason names the file with line:col", undefined],
    ["no opt-in overrides a syntax error, not even the flag", true],
  ] as const) {
    test(name, (t) => {
      const h = optedInEverywhere(t, flag);
      const f = h.writeGlobal("[runtime]\ntelemetry = fals\n");
      const s = resolveSettings(h.options);
      assert.equal(s.enabled, false);
      assert.equal(s.source, "global");
      assert.equal(s.reason, "disabled: ~/.acme/config.toml:2:13 is not valid TOML (invalid value)");
      assert.deepEqual(s.problems, [{ where: f, line: 2, column: 13, reason: "is not valid TOML (invalid value)", disables: true }]);
      assert.equal(s.layers.find((l) => l.source === "global")?.value, false);
    });
  }

  // Each off at once: nothing is read past the bounds.
  const unusable: [string, (f: string) => void, string][] = [
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
  for (const [name, make, reason] of unusable) {
    test(`${name} in place of config.toml turns it off at once, read no further than its first bytes`, (t) => {
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
    });
  }

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

describe("a switch value that is not true or false counts as off, with a problem naming the key", () => {
  test("in the env", (t) => {
    const h = host(t, { env: { RUNTIME__TELEMETRY: "maybe" } });
    const s = resolveSettings(h.options);
    assert.deepEqual([s.enabled, s.source, s.reason], [false, "env", "disabled: RUNTIME__TELEMETRY is not true or false"]);
    assert.deepEqual(s.problems, [{ where: "RUNTIME__TELEMETRY", reason: "must be true or false (read as false)" }]);
  });

  test("in a file", (t) => {
    const g = host(t);
    g.writeGlobal('[runtime]\ntelemetry = "sometimes"\n');
    const f = resolveSettings(g.options);
    assert.deepEqual([f.enabled, f.source, f.reason], [false, "global", "disabled: runtime.telemetry in ~/.acme/config.toml is not true or false"]);
    assert.equal(f.problems[0]?.reason, "runtime.telemetry must be true or false (read as false)");
  });
});

describe("endpoint: env > project > global > default", () => {
  test("an endpoint of the wrong type in a file: nothing is sent (not the default endpoint instead)", (t) => {
    const h = testHost();
    t.after(h.cleanup);
    h.writeProject("[runtime]\ntelemetry_endpoint = 8080\n");
    const s = resolveSettings(h.options);
    assert.equal(s.batchUrl, "");
    assert.ok(s.problems.some((p) => p.reason === "runtime.telemetry_endpoint must be a URL string (nothing is sent)"));
  });

  test("a global base URL is sent to at /v1/batch, with the global write key", (t) => {
    const h = host(t);
    h.writeGlobal('[runtime]\ntelemetry_endpoint = "http://global.invalid"\ntelemetry_write_key = "gk"\n');
    assert.equal(resolveSettings(h.options).batchUrl, "http://global.invalid/v1/batch");
    assert.equal(resolveSettings(h.options).writeKeySet, true);
  });

  test("a project endpoint beats the global one, and a base path keeps its path before /v1/batch", (t) => {
    const h = host(t);
    h.writeGlobal('[runtime]\ntelemetry_endpoint = "http://global.invalid"\ntelemetry_write_key = "gk"\n');
    h.writeProject('[runtime]\ntelemetry_endpoint = "http://project.invalid/base/"\n');
    assert.equal(resolveSettings(h.options).batchUrl, "http://project.invalid/base/v1/batch");
  });

  test("an endpoint that already ends in /v1/track or /v1/batch is kept as it is", (t) => {
    const e = host(t, { env: { RUNTIME__TELEMETRY_ENDPOINT: "https://seg.invalid/v1/track" } });
    assert.equal(resolveSettings(e.options).batchUrl, "https://seg.invalid/v1/track");
    assert.equal(batchUrlOf("http://x.invalid/v1/batch"), "http://x.invalid/v1/batch");
  });

  test("an endpoint that is not an http(s) URL sends nothing", (t) => {
    assert.equal(batchUrlOf("ftp://x.invalid"), undefined);
    assert.equal(resolveSettings(host(t, { env: { RUNTIME__TELEMETRY_ENDPOINT: "not a url" } }).options).batchUrl, "");
  });
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

describe("a misplaced switch (outside [runtime]): an opt-out still opts out, an opt-in is no opt-in", () => {
  /** A global config.toml with `telemetry = false` at its top level and an opt-in in its own [runtime]. */
  function topLevelFalse(t: TestContext): { file: string; s: ReturnType<typeof resolveSettings> } {
    const h = host(t);
    const file = h.writeGlobal("telemetry = false\n\n[runtime]\ntelemetry = true\n");
    return { file, s: resolveSettings(h.options) };
  }

  test("a top-level false turns that file off, above an opt-in in its own [runtime]", (t) => {
    const { s } = topLevelFalse(t);
    assert.equal(s.enabled, false);
    assert.equal(s.source, "global");
    assert.equal(s.reason, "disabled: telemetry at the top level of ~/.acme/config.toml (it belongs under [runtime]; counted as an opt-out)");
  });

  test("a top-level false raises one problem saying where the key belongs", (t) => {
    const { file, s } = topLevelFalse(t);
    assert.deepEqual(s.problems, [
      { where: file, reason: "telemetry = false is at the top level; it belongs under [runtime] (runtime.telemetry): counted as an opt-out" },
    ]);
  });

  for (const [toml, at] of [
    ["[sources.chess]\ntelemetry = false\n", "[sources.chess]"],
    ["[runtime.extra]\ntelemetry = false\n", "[runtime.extra]"],
    ['[[jobs]]\nname = "a"\n[[jobs]]\ntelemetry = "no"\n', "[jobs]"],
    ['telemetry = "maybe"\n', "the top level"],
  ] as const) {
    test(`telemetry in ${at}, as false or a string that says off, is the file's opt-out`, (t) => {
      const h = host(t);
      h.writeProject(toml);
      const s = resolveSettings(h.options);
      assert.equal(s.enabled, false, toml);
      assert.equal(s.source, "project", toml);
      assert.match(s.reason, new RegExp(`^disabled: telemetry (at|in) ${at.replace(/[[\].]/g, "\\$&")}`), toml);
      assert.equal(s.problems.length, 1, toml);
    });
  }

  test("a higher layer still decides over it, as over any file's opt-out", (t) => {
    const h = testHost({ env: { RUNTIME__TELEMETRY: "true" } });
    t.after(h.cleanup);
    h.writeGlobal("telemetry = false\n");
    assert.equal(resolveSettings(h.options).enabled, true);
  });

  test("a top-level true is no opt-in: a lower opt-out still decides, and a problem says where the key belongs", (t) => {
    const h = host(t);
    const file = h.writeProject("telemetry = true\n");
    h.writeGlobal("[runtime]\ntelemetry = false\n");
    const s = resolveSettings(h.options);
    assert.equal(s.enabled, false);
    assert.equal(s.source, "global");
    assert.deepEqual(s.problems, [
      { where: file, reason: "telemetry = true is at the top level; it belongs under [runtime] (runtime.telemetry): ignored (not an opt-in)" },
    ]);
  });

  test("telemetry in its place under [runtime], or only as a value elsewhere, raises no problem", (t) => {
    const clean = host(t);
    clean.writeGlobal('[runtime]\ntelemetry = true\n[sources]\nother = "telemetry"\n');
    assert.deepEqual(resolveSettings(clean.options).problems, []);
  });
});

describe("setting names", () => {
  /** Options of a host that names no settings, whose global config.toml turns telemetry off. */
  function withoutNames(t: TestContext): Omit<ReturnType<typeof testHost>["options"], "settings"> {
    const h = host(t);
    const { settings: _names, ...options } = h.options;
    h.writeGlobal("[runtime]\ntelemetry = false\n");
    return options;
  }

  test("a host that names no settings reads [runtime] telemetry from its files", (t) => {
    const fromFile = resolveSettings(withoutNames(t));
    assert.equal(fromFile.enabled, false);
    assert.equal(fromFile.source, "global");
  });

  test("a host that names no settings reads RUNTIME__TELEMETRY from the env, over its files", (t) => {
    const options = withoutNames(t);
    assert.equal(resolveSettings({ ...options, env: { ...options.env, RUNTIME__TELEMETRY: "true" } }).enabled, true, "the env twin wins");
  });

  test("DLT_SETTINGS reads dlt's names (RUNTIME__DLTHUB_TELEMETRY)", (t) => {
    const options = withoutNames(t);
    const dlt = resolveSettings({ ...options, settings: DLT_SETTINGS, env: { ...options.env, RUNTIME__DLTHUB_TELEMETRY: "false" } });
    assert.deepEqual([dlt.enabled, dlt.source], [false, "env"]);
  });

  test("TELEMETRY_SETTINGS names [runtime] telemetry, telemetry_endpoint and telemetry_write_key", () => {
    assert.deepEqual(TELEMETRY_SETTINGS, {
      section: "runtime",
      enabled: "telemetry",
      endpoint: "telemetry_endpoint",
      writeKey: "telemetry_write_key",
    });
  });
});
