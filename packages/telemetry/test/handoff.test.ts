import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startFakeCollector } from "../src/testing.js";

const HOST = fileURLToPath(new URL("./fixtures/host.js", import.meta.url));

function runHost(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HOST, ...args], { env: { PATH: process.env["PATH"], ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

function hostEnv(url: string): { env: NodeJS.ProcessEnv; tmp: string } {
  const home = mkdtempSync(join(tmpdir(), "host-home-"));
  const tmp = mkdtempSync(join(tmpdir(), "host-tmp-"));
  return { env: { HOME: home, TMPDIR: tmp, RUNTIME__TELEMETRY_ENDPOINT: url }, tmp };
}

test("events queued at exit are handed off and delivered; the temp file is removed; output and exit code untouched", async () => {
  const rx = await startFakeCollector();
  try {
    const { env, tmp } = hostEnv(rx.url);
    const r = await runHost(["3", "3"], env);
    assert.equal(r.code, 3);
    assert.equal(r.stdout + r.stderr, "");
    const events = await rx.waitForEvents(3);
    assert.deepEqual(events.map((e) => (e["properties"] as { index: number }).index).sort(), [0, 1, 2]);
    assert.deepEqual(readdirSync(tmp), []);
  } finally {
    await rx.close();
  }
});

test("process.exit() in the host still hands off", async () => {
  const rx = await startFakeCollector();
  try {
    const { env } = hostEnv(rx.url);
    const r = await runHost(["1", "0"], { ...env, HOST_EXPLICIT_EXIT: "1" });
    assert.equal(r.code, 0);
    await rx.waitForEvents(1);
  } finally {
    await rx.close();
  }
});

test("a hanging endpoint does not hold the host: it exits while the request is still unanswered", async () => {
  const rx = await startFakeCollector("hang");
  try {
    const { env } = hostEnv(rx.url);
    const r = await runHost(["1"], env);
    assert.equal(r.code, 0);
    const [req] = await rx.waitForRequests(1);
    assert.equal(req?.status, 0, "the host must not wait for an answer");
  } finally {
    await rx.close();
  }
});

test("a refusing endpoint: the host exits cleanly, prints nothing", async () => {
  const rx = await startFakeCollector("refuse");
  const { env } = hostEnv(rx.url);
  const r = await runHost(["2"], { ...env, HOST_SENDER_LIFETIME_MS: "1000" });
  assert.equal(r.code, 0);
  assert.equal(r.stdout + r.stderr, "");
});
