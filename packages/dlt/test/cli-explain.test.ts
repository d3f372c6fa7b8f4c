import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startFakeCollector } from "@dlt-ts/telemetry/testing";
import { freshUser, removeUser, runDlt } from "./cli-helpers.js";

test("dlt telemetry --explain: every layer with its value, the deciding one, endpoint, key set (not its value), breaker", async () => {
  const u = freshUser("http://127.0.0.1:9/base", { RUNTIME__DLTHUB_TELEMETRY: "true", RUNTIME__DLTHUB_TELEMETRY_SEGMENT_WRITE_KEY: "sekrit-key" });
  writeFileSync(join(u.home, ".dlt", "config.toml"), "[runtime]\ndlthub_telemetry = false\n");
  mkdirSync(join(u.project, ".dlt"));
  writeFileSync(join(u.project, ".dlt", "config.toml"), "[runtime]\ndlthub_telemetry = false\n");
  mkdirSync(join(u.home, ".dlt", "telemetry"));
  const until = Date.now() + 3600_000;
  writeFileSync(join(u.home, ".dlt", "telemetry", "breaker.json"), JSON.stringify({ failures: 3, openUntil: until }));
  const r = await runDlt(["telemetry", "--explain"], { env: u.env, cwd: u.project });
  assert.equal(r.code, 0, r.stderr);
  const out = r.stdout;
  assert.match(out, /^Telemetry is ENABLED\nenabled by RUNTIME__DLTHUB_TELEMETRY\n/);
  assert.match(out, /^ {4}flag {12}- {4}command-line flag of this run$/m);
  assert.match(out, /^ {4}do_not_track {4}- {4}DO_NOT_TRACK$/m);
  assert.match(out, /^ {2}\* env {13}on {3}RUNTIME__DLTHUB_TELEMETRY$/m);
  assert.match(out, /^ {4}project_secrets - {4}.*\.dlt\/secrets\.toml$/m);
  assert.match(out, /^ {4}global_secrets {2}- {4}~\/\.dlt\/secrets\.toml$/m);
  assert.match(out, /^ {4}project {9}off {2}.*\.dlt\/config\.toml$/m);
  assert.match(out, /^ {4}global {10}off {2}~\/\.dlt\/config\.toml$/m);
  assert.match(out, /^ {4}default {9}on {3}default$/m);
  assert.match(out, /^Endpoint: {2}http:\/\/127\.0\.0\.1:9\/base$/m);
  assert.match(out, /^Posts to: {2}http:\/\/127\.0\.0\.1:9\/base\/v1\/batch$/m);
  assert.match(out, /^Write key: set \(value not shown\)$/m);
  assert.ok(out.includes(`Breaker:   open until ${new Date(until).toISOString()} (3 failed deliveries)`), out);
  assert.ok(!out.includes("sekrit-key"));
});

test("DLT_TELEMETRY_DRY_RUN=1: prints the exact request with the key redacted, sends nothing", async () => {
  const rx = await startFakeCollector();
  try {
    const u = freshUser(rx.url, { DLT_TELEMETRY_DRY_RUN: "1", RUNTIME__DLTHUB_TELEMETRY_SEGMENT_WRITE_KEY: "sekrit-key" });
    const r = await runDlt(["telemetry"], { env: u.env, cwd: u.project });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, "Telemetry is ENABLED\nenabled by default\n");
    const [head, body] = r.stderr.split("\n\n") as [string, string];
    const lines = head.split("\n");
    assert.equal(lines[0], `POST ${rx.url}/v1/batch`);
    assert.ok(lines.includes("content-type: application/json"));
    assert.ok(lines.includes("authorization: Basic <redacted>"));
    assert.ok(lines.includes(`content-length: ${Buffer.byteLength(body.trimEnd())}`));
    const parsed = JSON.parse(body) as { batch: { event: string }[]; sentAt: string };
    assert.equal(parsed.batch[0]?.event, "command_telemetry");
    assert.ok(!r.stderr.includes("sekrit-key"));
    assert.ok(!r.stderr.includes(Buffer.from("sekrit-key:").toString("base64")));
    // Nothing was sent, nor spooled for later.
    const control = freshUser(rx.url);
    await runDlt(["telemetry"], { env: control.env, cwd: control.project });
    await rx.waitForEvents(1);
    assert.equal(rx.connections, 1);
  } finally {
    await rx.close();
  }
});

test("--explain and the dry run redact credentials in the endpoint URL, as they redact the write key", async (t) => {
  const rx = await startFakeCollector();
  t.after(() => rx.close());
  const withCredentials = rx.url.replace("http://", "http://ops:hunter2@");
  const u = freshUser(withCredentials, { DLT_TELEMETRY_DRY_RUN: "1" });
  t.after(() => removeUser(u));
  const explained = await runDlt(["telemetry", "--explain"], { env: u.env, cwd: u.project });
  const redacted = rx.url.replace("http://", "http://<redacted>@");
  assert.match(explained.stdout, new RegExp(`^Endpoint: {2}${redacted.replace(/[.]/g, "\\.")}$`, "m"));
  assert.match(explained.stdout, new RegExp(`^Posts to: {2}${redacted.replace(/[.]/g, "\\.")}/v1/batch$`, "m"));
  assert.equal(explained.stderr.split("\n")[0], `POST ${redacted}/v1/batch`);
  assert.ok(!(explained.stdout + explained.stderr).includes("hunter2"));
  assert.equal(rx.connections, 0);
});
