// The ledger (issue 26): every message handed to the network is recorded exactly as sent, with its outcome;
// nothing else is; it stays bounded; and a hostile file where it lives cannot hurt the host.
import { describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createTelemetry, explainTelemetry, readLedger, type LedgerEntry } from "../src/index.js";
import { startFakeCollector, tempDir, type FakeCollector } from "../src/testing.js";
import { LEDGER_PART_BYTES, MAX_LEDGER_ENTRIES } from "../src/ledger.js";
import { testHost } from "./options.js";
import { alive, hostEnv, lockPid, runHost, spoolFiles, until } from "./fixtures/run-host.js";

/** The message texts of every batch the collector answered 2xx, exactly as they were in the request bodies. */
function receivedTexts(rx: FakeCollector): string[] {
  return rx.requests
    .filter((r) => r.status >= 200 && r.status < 300)
    .flatMap((r) => {
      const body = r.body.toString("utf8");
      const batch = (r.json as { batch: unknown[] }).batch;
      // Each message's bytes, cut from the body at the boundaries of its parsed siblings' serializations.
      let at = body.indexOf("[") + 1;
      return batch.map(() => {
        const start = at;
        let depth = 0;
        let inString = false;
        for (; at < body.length; at++) {
          const c = body[at];
          if (inString) {
            if (c === "\\") at++;
            else if (c === '"') inString = false;
          } else if (c === '"') inString = true;
          else if (c === "{") depth++;
          else if (c === "}" && --depth === 0) break;
        }
        const text = body.slice(start, ++at);
        at++; // the comma
        return text;
      });
    });
}

const ids = (entries: readonly LedgerEntry[]): string[] => entries.map((e) => String(e.message["messageId"]));

describe("what the ledger records", () => {
  test("a message sent in-process is in the ledger exactly as the collector received it, with its endpoint and outcome", async (t) => {
    const rx = await startFakeCollector();
    const host = testHost({ env: { RUNTIME__TELEMETRY_ENDPOINT: rx.url } });
    t.after(async () => {
      await rx.close();
      host.cleanup();
    });
    const telemetry = createTelemetry(host.options);
    telemetry.track("command", "build", { success: true });
    telemetry.track("command", "test", { success: false });
    await telemetry.flush();
    const ledger = readLedger(host.options);
    assert.equal(ledger.length, 2);
    assert.deepEqual(
      ledger.map((e) => e.text),
      receivedTexts(rx),
    );
    assert.deepEqual(
      ledger.map((e) => e.message["event"]),
      ["command_build", "command_test"],
    );
    for (const e of ledger) {
      assert.equal(e.outcome, "delivered");
      assert.equal(e.endpoint, `${rx.url}/v1/batch`);
      assert.equal(e.reason, undefined);
      assert.ok(Math.abs(Date.parse(e.time) - Date.now()) < 60_000, e.time);
    }
    const file = join(host.home, ".acme", "telemetry", "ledger.jsonl");
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(explainTelemetry(host.options).ledgerFile, file);
    assert.equal(explainTelemetry(host.options).ledgerEntries, 2);
  });

  /** One message sent to an endpoint with credentials in its URL, which refuses it with a 400. */
  async function refusedWithCredentials(t: TestContext): Promise<{ rx: FakeCollector; home: string; ledger: LedgerEntry[] }> {
    const rx = await startFakeCollector(() => 400);
    const withCredentials = rx.url.replace("http://", "http://ann:s3cret@");
    const host = testHost({ env: { RUNTIME__TELEMETRY_ENDPOINT: withCredentials } });
    t.after(async () => {
      await rx.close();
      host.cleanup();
    });
    const telemetry = createTelemetry(host.options);
    telemetry.track("command", "build", { success: true });
    await telemetry.flush();
    return { rx, home: host.home, ledger: readLedger(host.options) };
  }

  test("a refusal is recorded as dropped, with its status", async (t) => {
    const [entry, ...rest] = (await refusedWithCredentials(t)).ledger;
    assert.equal(rest.length, 0);
    assert.equal(entry?.outcome, "dropped");
    assert.equal(entry?.reason, "HTTP 400");
  });

  test("credentials in the endpoint are redacted in the ledger", async (t) => {
    const { rx, home, ledger } = await refusedWithCredentials(t);
    const [entry] = ledger;
    assert.equal(entry?.endpoint, rx.url.replace("http://", "http://<redacted>@") + "/v1/batch");
    assert.doesNotMatch(readFileSync(join(home, ".acme", "telemetry", "ledger.jsonl"), "utf8"), /s3cret|ann/);
  });

  test("a disabled client, debug mode and a dry run write no ledger: nothing was handed to the network", async (t) => {
    const rx = await startFakeCollector();
    const hosts = [
      testHost({ env: { RUNTIME__TELEMETRY_ENDPOINT: rx.url, DO_NOT_TRACK: "1" } }),
      testHost({ env: { RUNTIME__TELEMETRY_ENDPOINT: rx.url, ACME_TELEMETRY_DEBUG: "1" }, debugWrite: () => undefined }),
      testHost({ env: { RUNTIME__TELEMETRY_ENDPOINT: rx.url, ACME_TELEMETRY_DRY_RUN: "1" }, debugWrite: () => undefined }),
    ];
    t.after(async () => {
      await rx.close();
      for (const h of hosts) h.cleanup();
    });
    for (const host of hosts) {
      const telemetry = createTelemetry(host.options);
      telemetry.track("command", "build", { success: true });
      await telemetry.flush();
      await telemetry.shutdown();
      assert.deepEqual(readLedger(host.options), []);
      assert.equal(existsSync(join(host.home, ".acme", "telemetry", "ledger.jsonl")), false);
    }
    assert.equal(rx.requests.length, 0);
  });
});

test("a dead endpoint: the ledger says not delivered (kept for later), then delivered once the endpoint is back", async (t) => {
  const dead = await startFakeCollector("refuse");
  const port = Number(new URL(dead.url).port);
  const machine = hostEnv(dead.url);
  let rx: FakeCollector | undefined;
  t.after(async () => {
    await rx?.close();
  });
  const options = { ...testHost().options, env: machine.env };
  const senderDone = (): boolean => {
    const pid = lockPid(machine.dataDir);
    return pid === undefined || !alive(pid);
  };

  // In the host's process: refused, kept for the hand-off.
  const telemetry = createTelemetry({ ...options, requestTimeoutMs: 500 });
  telemetry.track("command", "first", { success: true });
  await telemetry.flush();
  const [first] = readLedger(options);
  assert.equal(first?.outcome, "kept");
  assert.equal(first?.reason, "ECONNREFUSED");
  await telemetry.shutdown();
  // The sender it started tries again, is refused, and puts the message back in the spool.
  await until(() => readLedger(options).length === 2 && senderDone(), 15_000, "the sender's refused attempt");
  assert.equal(readLedger(options)[1]?.outcome, "kept");
  assert.equal(spoolFiles(machine.spool).length, 1);

  // The endpoint is back: the next run's sender delivers the waiting message and the new one.
  rx = await startFakeCollector("ok", { port });
  const run = await runHost(["1"], machine.env);
  assert.equal(run.code, 0, run.stderr);
  await until(() => readLedger(options).filter((e) => e.outcome === "delivered").length === 2 && senderDone(), 15_000, "delivery");
  const ledger = readLedger(options);
  const firstId = String(first?.message["messageId"]);
  assert.deepEqual(
    ledger.filter((e) => e.message["messageId"] === firstId).map((e) => e.outcome),
    ["kept", "kept", "delivered"],
  );
  const delivered = ledger.filter((e) => e.outcome === "delivered");
  assert.deepEqual(delivered.map((e) => e.text).sort(), receivedTexts(rx).sort());
  assert.deepEqual(
    ledger.filter((e) => e.outcome === "kept").map((e) => e.reason),
    ["ECONNREFUSED", "ECONNREFUSED"],
  );
});

describe("bounds and hostile files", () => {
  test("the ledger keeps the newest 1,000 messages over 5,000 sent, within about 1 MB", async (t) => {
    const rx = await startFakeCollector();
    const host = testHost({ env: { RUNTIME__TELEMETRY_ENDPOINT: rx.url }, flushAt: 100_000 });
    t.after(async () => {
      await rx.close();
      host.cleanup();
    });
    const telemetry = createTelemetry(host.options);
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 1000; i++) telemetry.track("bulk", "event", { index: round * 1000 + i });
      await telemetry.flush();
    }
    assert.equal(telemetry.stats().delivered, 5000);
    const ledger = readLedger(host.options);
    assert.equal(ledger.length, MAX_LEDGER_ENTRIES);
    const sent = receivedTexts(rx);
    assert.equal(sent.length, 5000);
    // The newest, in the order they were sent.
    assert.deepEqual(
      ledger.map((e) => e.text),
      sent.slice(-MAX_LEDGER_ENTRIES),
    );
    const dir = join(host.home, ".acme", "telemetry");
    const bytes = ["ledger.jsonl", "ledger.1.jsonl"].map((f) => statSync(join(dir, f)).size);
    for (const b of bytes) assert.ok(b <= LEDGER_PART_BYTES, `${b} bytes`);
    assert.equal(statSync(join(dir, "ledger.1.jsonl")).mode & 0o777, 0o600);
    assert.deepEqual(ids(ledger).slice(-1), [String((JSON.parse(sent.at(-1)!) as { messageId: string }).messageId)]);
  });

  test("a ledger file that is a symlink or a FIFO cannot hurt the host: sending goes on, nothing is written through it", async (t) => {
    const rx = await startFakeCollector();
    const outside = tempDir("ledger-outside-");
    const hosts: ReturnType<typeof testHost>[] = [];
    t.after(async () => {
      await rx.close();
      for (const h of hosts) h.cleanup();
    });
    const target = join(outside, "victim.txt");
    writeFileSync(target, "precious\n");
    const plant = (make: (ledger: string) => void): ReturnType<typeof testHost> => {
      const host = testHost({ env: { RUNTIME__TELEMETRY_ENDPOINT: rx.url } });
      hosts.push(host);
      const dir = join(host.home, ".acme", "telemetry");
      mkdirSync(dir, { recursive: true });
      make(join(dir, "ledger.jsonl"));
      return host;
    };
    const cases = [
      { what: "a symlink to a file of the user's", host: plant((l) => symlinkSync(target, l)) },
      { what: "a symlink to /dev/zero", host: plant((l) => symlinkSync("/dev/zero", l)) },
      { what: "a FIFO", host: plant((l) => assert.equal(spawnSync("mkfifo", [l]).status, 0)) },
      { what: "a folder", host: plant((l) => mkdirSync(l)) },
    ];
    for (const { what, host } of cases) {
      const started = performance.now();
      const telemetry = createTelemetry(host.options);
      telemetry.track("command", "build", { success: true });
      await telemetry.flush();
      assert.equal(telemetry.stats().delivered, 1, what);
      assert.deepEqual(readLedger(host.options), [], what);
      assert.equal(explainTelemetry(host.options).ledgerEntries, 0, what);
      assert.ok(performance.now() - started < 5000, `${what}: ${performance.now() - started} ms`);
      const ledger = join(host.home, ".acme", "telemetry", "ledger.jsonl");
      // Left as it was: not replaced, not renamed away.
      assert.ok(lstatSync(ledger).isSymbolicLink() || !lstatSync(ledger).isFile(), what);
    }
    assert.equal(readFileSync(target, "utf8"), "precious\n");
    assert.equal(rx.events.length, cases.length);
  });

  test("a ledger line that is not ours is skipped, and the lines after it read", async (t) => {
    const rx = await startFakeCollector();
    const host = testHost({ env: { RUNTIME__TELEMETRY_ENDPOINT: rx.url } });
    t.after(async () => {
      await rx.close();
      host.cleanup();
    });
    const dir = join(host.home, ".acme", "telemetry");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "ledger.jsonl"), 'not json\n{"time":1,"message":{}}\n', { mode: 0o600 });
    const telemetry = createTelemetry(host.options);
    telemetry.track("command", "build", { success: true });
    await telemetry.flush();
    assert.deepEqual(
      readLedger(host.options).map((e) => e.message["event"]),
      ["command_build"],
    );
  });
});
