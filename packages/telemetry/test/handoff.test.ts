import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { type FakeCollector, startFakeCollector } from "../src/testing.js";
import { hostEnv, runHost } from "./fixtures/run-host.js";

// One host run, three events queued when it exits with code 3; each test reads what that run left.
describe("events queued at exit", () => {
  let rx: FakeCollector;
  let r: Awaited<ReturnType<typeof runHost>>;
  let tmp: string;
  let events: Record<string, unknown>[];
  before(async () => {
    rx = await startFakeCollector();
    const host = hostEnv(rx.url);
    tmp = host.tmp;
    r = await runHost(["3", "3"], host.env);
    events = await rx.waitForEvents(3);
  });
  after(() => rx.close());

  test("leave the host's output and exit code untouched", () => {
    assert.equal(r.code, 3);
    assert.equal(r.stdout + r.stderr, "");
  });

  test("are handed off and delivered", () => {
    assert.deepEqual(events.map((e) => (e["properties"] as { index: number }).index).sort(), [0, 1, 2]);
  });

  test("leave no temp file behind", () => {
    assert.deepEqual(readdirSync(tmp), []);
  });
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

test("exit time with a hanging endpoint stays close to a disabled run's (the host never waits for the network)", async () => {
  const { timeExit } = await import("../src/testing.js");
  const { fileURLToPath } = await import("node:url");
  const host = fileURLToPath(new URL("./fixtures/host.js", import.meta.url));
  const rx = await startFakeCollector("hang");
  try {
    const { env } = hostEnv(rx.url);
    const base = { PATH: process.env["PATH"], ...env, HOST_REQUEST_TIMEOUT_MS: "20000" };
    const off = await timeExit(process.execPath, [host, "5"], { env: { ...base, RUNTIME__TELEMETRY: "false" } });
    const on = await timeExit(process.execPath, [host, "5"], { env: base });
    assert.equal(on.code, 0);
    // Waiting on the endpoint would cost up to the 20 s request timeout; the hand-off costs a spawn.
    assert.ok(on.ms < off.ms + 1000, `on ${on.ms.toFixed(0)} ms vs off ${off.ms.toFixed(0)} ms`);
    await rx.waitForRequests(1);
  } finally {
    await rx.close();
  }
});
