import { describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { createTelemetry, MAX_BATCH_BYTES } from "../src/index.js";
import { type FakeCollector, startFakeCollector, timeExit } from "../src/testing.js";
import { testHost } from "./options.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("the message", () => {
  test("a tracked event arrives as a Segment batch with the spec's fields", async () => {
    const rx = await startFakeCollector();
    try {
      const h = testHost({ env: { RUNTIME__TELEMETRY_ENDPOINT: rx.url, RUNTIME__TELEMETRY_WRITE_KEY: "wk-123" } });
      const t = createTelemetry(h.options);
      t.track("command", "init", { pipeline_name: "chess", destination_name: "duckdb", elapsed: 1.5, success: true });
      await t.flush();
      const [req] = await rx.waitForRequests(1);
      assert.equal(req?.url, "/v1/batch");
      assert.equal(req?.headers["authorization"], "Basic " + Buffer.from("wk-123:").toString("base64"));
      const body = req?.json as { batch: Record<string, unknown>[]; sentAt: string };
      assert.ok(!Number.isNaN(Date.parse(body.sentAt)));
      assert.equal(body.batch.length, 1);
      const m = body.batch[0]!;
      assert.equal(m["type"], "track");
      assert.match(String(m["messageId"]), UUID);
      assert.match(String(m["anonymousId"]), /^[0-9a-f]{32}$/);
      assert.equal(m["event"], "command_init");
      assert.deepEqual(m["properties"], {
        event_category: "command",
        event_name: "init",
        pipeline_name: "chess",
        destination_name: "duckdb",
        elapsed: 1.5,
        success: true,
      });
      const ctx = m["context"] as Record<string, unknown>;
      assert.deepEqual(Object.keys(ctx).sort(), ["ci_run", "cpu", "exec_info", "library", "os", "runtime"]);
      assert.deepEqual(ctx["library"], { name: "acme", version: "1.2.3" });
      assert.equal(ctx["ci_run"], false);
      assert.ok(Array.isArray(ctx["exec_info"]));
      assert.equal(typeof ctx["cpu"], "number");
      assert.deepEqual(ctx["runtime"], { name: "node", version: process.versions.node });
      assert.deepEqual(Object.keys(ctx["os"] as object).sort(), ["name", "version"]);
    } finally {
      await rx.close();
    }
  });

  /** Two messages tracked and delivered on a CI machine (GITLAB_CI). */
  async function twoMessagesOnCi(t: TestContext): Promise<Record<string, unknown>[]> {
    const rx = await startFakeCollector();
    t.after(() => rx.close());
    const telemetry = createTelemetry(testHost({ env: { RUNTIME__TELEMETRY_ENDPOINT: rx.url, GITLAB_CI: "true" } }).options);
    telemetry.track("a", "b");
    telemetry.track("a", "b");
    await telemetry.flush();
    return rx.waitForEvents(2);
  }

  test("anonymousId and messageId are fresh for every message", async (t) => {
    const [m1, m2] = await twoMessagesOnCi(t);
    assert.notEqual(m1?.["anonymousId"], m2?.["anonymousId"]);
    assert.notEqual(m1?.["messageId"], m2?.["messageId"]);
  });

  test("ci_run follows the CI variables", async (t) => {
    const [m1] = await twoMessagesOnCi(t);
    assert.equal((m1?.["context"] as { ci_run: boolean }).ci_run, true);
  });

  test("track never throws, whatever it is given", () => {
    const t = createTelemetry(testHost({ env: { RUNTIME__TELEMETRY_ENDPOINT: "http://127.0.0.1:9" } }).options);
    const cyclic: Record<string, unknown> = {};
    cyclic["self"] = cyclic;
    assert.doesNotThrow(() => t.track("x", "y", cyclic as never));
    assert.doesNotThrow(() => t.track("x", "y", null as never));
    assert.doesNotThrow(() => t.track(undefined as never, 5 as never));
  });
});

describe("delivery", () => {
  test("503 is retried until it succeeds", async () => {
    const rx = await startFakeCollector((_r, i) => (i < 2 ? 503 : 200));
    try {
      const t = createTelemetry(testHost({ env: { RUNTIME__TELEMETRY_ENDPOINT: rx.url } }).options);
      t.track("x", "y");
      await t.flush();
      assert.deepEqual(
        rx.requests.map((r) => r.status),
        [503, 503, 200],
      );
      assert.equal(rx.events.length, 1);
      assert.equal(t.stats().delivered, 1);
    } finally {
      await rx.close();
    }
  });

  test("a redirect (307) is retried, not followed and not dropped", async () => {
    const rx = await startFakeCollector((_r, i) => (i < 2 ? 307 : 200));
    try {
      const t = createTelemetry(testHost({ env: { RUNTIME__TELEMETRY_ENDPOINT: rx.url } }).options);
      t.track("x", "y");
      await t.flush();
      assert.deepEqual(
        rx.requests.map((r) => r.status),
        [307, 307, 200],
      );
      assert.equal(t.stats().delivered, 1);
      assert.equal(t.stats().dropped, 0);
    } finally {
      await rx.close();
    }
  });

  test("400 is not retried", async () => {
    const rx = await startFakeCollector(() => 400);
    try {
      const t = createTelemetry(testHost({ env: { RUNTIME__TELEMETRY_ENDPOINT: rx.url } }).options);
      t.track("x", "y");
      await t.flush();
      await t.flush();
      assert.equal(rx.requests.length, 1);
      assert.equal(t.stats().queued, 0);
    } finally {
      await rx.close();
    }
  });

  /** One message of ~40 KB and forty of ~20 KB (~800 KB in all), tracked and flushed. */
  async function bigAndMedium(t: TestContext): Promise<{ rx: FakeCollector; telemetry: ReturnType<typeof createTelemetry> }> {
    const rx = await startFakeCollector();
    t.after(() => rx.close());
    const telemetry = createTelemetry(testHost({ env: { RUNTIME__TELEMETRY_ENDPOINT: rx.url } }).options);
    const wide: Record<string, string> = {};
    for (let i = 0; i < 200; i++) wide[`k${i}`] = "v".repeat(190); // ~40 KB
    telemetry.track("big", "one", wide);
    const medium: Record<string, string> = {};
    for (let i = 0; i < 100; i++) medium[`k${i}`] = "v".repeat(190); // ~20 KB
    for (let i = 0; i < 40; i++) telemetry.track("medium", "one", medium); // ~800 KB in all
    await telemetry.flush();
    return { rx, telemetry };
  }

  test("a message over 32 KB is dropped and counted, the others are sent", async (t) => {
    const { rx, telemetry } = await bigAndMedium(t);
    assert.equal(rx.events.length, 40);
    assert.ok(!rx.events.some((e) => e["event"] === "big_one"));
    assert.equal(telemetry.stats().dropped, 1);
  });

  test("batches stay under 500 KB: more messages go in more requests", async (t) => {
    const { rx } = await bigAndMedium(t);
    assert.ok(rx.requests.length >= 2);
    for (const r of rx.requests) assert.ok(r.body.length <= MAX_BATCH_BYTES, `batch of ${r.body.length} bytes`);
  });

  test("the queue is capped: later events are dropped and counted, memory stays bounded", () => {
    const t = createTelemetry(testHost({ queueCap: 100, flushAt: 1000, env: { RUNTIME__TELEMETRY_ENDPOINT: "http://127.0.0.1:9" } }).options);
    for (let i = 0; i < 1000; i++) t.track("x", "y");
    assert.equal(t.stats().queued, 100);
    assert.equal(t.stats().dropped, 900);
  });
});

test("timed records elapsed and success, and rethrows the host's exception unchanged", async () => {
  const rx = await startFakeCollector();
  try {
    const t = createTelemetry(testHost({ env: { RUNTIME__TELEMETRY_ENDPOINT: rx.url } }).options);
    assert.equal(await t.timed("step", "ok", async () => 42), 42);
    const boom = new RangeError("secret detail /home/someone");
    await assert.rejects(
      t.timed("step", "fail", () => {
        throw boom;
      }),
      (e) => e === boom,
    );
    await t.flush();
    const [ok, fail] = await rx.waitForEvents(2);
    assert.equal((ok?.["properties"] as Record<string, unknown>)["success"], true);
    assert.equal(typeof (ok?.["properties"] as Record<string, unknown>)["elapsed"], "number");
    assert.equal((fail?.["properties"] as Record<string, unknown>)["success"], false);
    assert.ok(!rx.requests.some((r) => r.body.includes("secret detail")));
  } finally {
    await rx.close();
  }
});

describe("disabled and debug mode send nothing", () => {
  test("disabled: nothing is queued, no socket is opened", async () => {
    const rx = await startFakeCollector();
    try {
      const h = testHost({ env: { RUNTIME__TELEMETRY_ENDPOINT: rx.url, DO_NOT_TRACK: "1" } });
      const t = createTelemetry(h.options);
      assert.equal(t.status.enabled, false);
      t.track("x", "y");
      await t.timed("x", "z", () => 1);
      await t.flush();
      await t.shutdown();
      assert.equal(t.stats().queued, 0);
      // Control: the same receiver does count an enabled client's connection.
      const on = createTelemetry(testHost({ env: { RUNTIME__TELEMETRY_ENDPOINT: rx.url } }).options);
      on.track("control", "event");
      await on.flush();
      assert.equal(rx.connections, 1);
      assert.deepEqual(
        rx.events.map((e) => e["event"]),
        ["control_event"],
      );
    } finally {
      await rx.close();
    }
  });

  test("debug mode writes each message as JSON and sends nothing", async () => {
    const rx = await startFakeCollector();
    try {
      const lines: string[] = [];
      const t = createTelemetry(
        testHost({ env: { RUNTIME__TELEMETRY_ENDPOINT: rx.url, ACME_TELEMETRY_DEBUG: "1" }, debugWrite: (l) => lines.push(l) }).options,
      );
      t.track("command", "init", { success: true });
      await t.flush();
      await t.shutdown();
      assert.equal(lines.length, 1);
      const m = JSON.parse(lines[0]!) as Record<string, unknown>;
      assert.equal(m["event"], "command_init");
      assert.equal(rx.connections, 0);
    } finally {
      await rx.close();
    }
  });
});

test("a script whose last step is `await telemetry.flush()` waits for it and exits 0 (not Node's 13 for an unsettled await)", async () => {
  const rx = await startFakeCollector();
  try {
    const { options, home } = testHost();
    const script = `
      const { createTelemetry } = await import(${JSON.stringify(new URL("../src/index.js", import.meta.url).href)});
      const t = createTelemetry(${JSON.stringify({ ...options, env: undefined, cwd: home })});
      t.track("script", "done", { success: true });
      await t.flush();
      console.log(JSON.stringify(t.stats()));
    `;
    // Asynchronously: the fake collector answers from this process.
    const r = await timeExit(process.execPath, ["--input-type=module", "-e", script], {
      env: { PATH: process.env["PATH"], HOME: home, TMPDIR: home, RUNTIME__TELEMETRY_ENDPOINT: rx.url },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { delivered: number }).delivered, 1);
    assert.equal(rx.events.length, 1);
  } finally {
    await rx.close();
  }
});
