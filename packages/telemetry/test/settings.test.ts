import { test } from "node:test";
import assert from "node:assert/strict";
import { batchUrlOf, resolveSettings } from "../src/index.js";
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

test("a broken config file is a problem with file and line, and is treated as silent", () => {
  const h = testHost();
  h.writeGlobal("[runtime]\ntelemetry = false\n");
  const f = h.writeProject("# comment\n[runtime\ntelemetry = false\n");
  const s = resolveSettings(h.options);
  assert.equal(s.source, "global");
  assert.equal(s.problems.length, 1);
  assert.equal(s.problems[0]?.where, f);
  assert.equal(s.problems[0]?.line, 2);
  assert.ok(s.problems[0]?.reason);
});

test("a wrongly typed value or env value is a problem naming the key", () => {
  const h = testHost({ env: { RUNTIME__TELEMETRY: "maybe" } });
  h.writeGlobal('[runtime]\ntelemetry = "sometimes"\n');
  const s = resolveSettings(h.options);
  assert.equal(s.source, "default");
  assert.deepEqual(
    s.problems.map((p) => p.reason),
    ["must be true or false", "runtime.telemetry must be true or false"],
  );
  assert.equal(s.problems[0]?.where, "RUNTIME__TELEMETRY");
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
