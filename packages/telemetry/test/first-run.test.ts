// Installs without an id (issue 26): `first_run_of_version: true` on the first event a machine sends for a version,
// exactly once per version per machine, even when several first runs start at the same moment.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createTelemetry } from "../src/index.js";
import { startFakeCollector, type RecordedEvent } from "../src/testing.js";
import { testHost } from "./options.js";
import { alive, hostEnv, lockPid, runHost, until } from "./fixtures/run-host.js";

const flagged = (events: readonly RecordedEvent[]): RecordedEvent[] =>
  events.filter((e) => (e["properties"] as Record<string, unknown>)["first_run_of_version"] === true);

test("first_run_of_version is true exactly once per version per machine, with eight first runs at once", async (t) => {
  const rx = await startFakeCollector();
  t.after(() => rx.close());
  const machine = hostEnv(rx.url);
  const env = { ...machine.env, HOST_FIRST_RUN: "1" };
  const senderDone = (): boolean => {
    const pid = lockPid(machine.dataDir);
    return pid === undefined || !alive(pid);
  };

  // Eight hosts of version 1.2.3 start together, two events each.
  const runs = await Promise.all(Array.from({ length: 8 }, () => runHost(["2"], env)));
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  await rx.waitForEvents(16);
  assert.equal(flagged(rx.events).length, 1);
  // The flag is on the first event of its run, and nothing else about the run is in it.
  const [first] = flagged(rx.events);
  assert.equal((first?.["properties"] as Record<string, unknown>)["index"], 0);
  assert.equal(typeof first?.["anonymousId"], "string");

  // Later runs of the same version: never again.
  await until(senderDone, 15_000, "the senders to finish");
  assert.equal((await runHost(["1"], env)).code, 0);
  await rx.waitForEvents(17);
  assert.equal(flagged(rx.events).length, 1);

  // A new version is a new install: once more, on its first event only.
  await until(senderDone, 15_000, "the senders to finish");
  assert.equal((await runHost(["3"], { ...env, HOST_VERSION: "1.3.0" })).code, 0);
  assert.equal((await runHost(["3"], { ...env, HOST_VERSION: "1.3.0" })).code, 0);
  await rx.waitForEvents(23);
  const flags = flagged(rx.events);
  assert.equal(flags.length, 2);
  assert.deepEqual(
    flags.map((e) => (e["context"] as { library: { version: string } }).library.version),
    ["1.2.3", "1.3.0"],
  );
  assert.ok(existsSync(join(machine.dataDir, "telemetry", "first-run", "acme@1.3.0")));
  await until(senderDone, 15_000, "the senders to finish");
});

test("a host that does not ask for first_run_of_version never sends it and leaves no marker", async (t) => {
  const rx = await startFakeCollector();
  t.after(() => rx.close());
  const host = testHost({ env: { RUNTIME__TELEMETRY_ENDPOINT: rx.url } });
  t.after(host.cleanup);
  const telemetry = createTelemetry(host.options);
  telemetry.track("command", "build", { success: true });
  await telemetry.flush();
  const [event] = await rx.waitForEvents(1);
  assert.equal("first_run_of_version" in (event?.["properties"] as object), false);
  assert.equal(existsSync(join(host.home, ".acme", "telemetry", "first-run")), false);
});

test("debug mode shows the flag a first run would send, and claims nothing", async (t) => {
  const lines: string[] = [];
  const host = testHost({ firstRunOfVersion: true, env: { ACME_TELEMETRY_DEBUG: "1" }, debugWrite: (l) => void lines.push(l) });
  t.after(host.cleanup);
  for (let run = 0; run < 2; run++) {
    const telemetry = createTelemetry(host.options);
    telemetry.track("command", "build", { success: true });
    telemetry.track("command", "test", { success: true });
  }
  const props = lines.map((l) => (JSON.parse(l) as { properties: Record<string, unknown> }).properties["first_run_of_version"]);
  assert.deepEqual(props, [true, undefined, true, undefined]);
  assert.equal(existsSync(join(host.home, ".acme", "telemetry", "first-run")), false);
});
