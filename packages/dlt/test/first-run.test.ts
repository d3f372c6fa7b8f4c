// `first_run_of_version` as dlt-ts sends it (issue 26): true on the first event of a version on a machine, once,
// however many `dlt` runs start at the same moment; never again after.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startFakeCollector } from "@dlt-ts/telemetry/testing";
import { freshUser, runDlt } from "./cli-helpers.js";

test("first_run_of_version: once per version per machine, with four first runs of dlt at once", async (t) => {
  const rx = await startFakeCollector();
  // The users' folders go when the test process exits (tempDir), after their senders are stopped.
  const u = freshUser(rx.url);
  t.after(() => rx.close());
  const runs = await Promise.all(
    [["telemetry"], ["init", "--list-destinations"], ["telemetry"], ["pipeline", "--list-pipelines"]].map((argv) =>
      runDlt(argv, { env: u.env, cwd: u.project }),
    ),
  );
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  assert.equal((await runDlt(["telemetry"], { env: u.env, cwd: u.project })).code, 0);
  const events = await rx.waitForEvents(5);
  const flags = events.map((e) => (e["properties"] as Record<string, unknown>)["first_run_of_version"]);
  assert.deepEqual(
    flags.filter((f) => f !== undefined),
    [true],
  );
  // Another machine (its own ~/.dlt) is another install.
  const other = freshUser(rx.url);
  assert.equal((await runDlt(["telemetry"], { env: other.env, cwd: other.project })).code, 0);
  const [, , , , , last] = await rx.waitForEvents(6);
  assert.equal((last?.["properties"] as Record<string, unknown>)["first_run_of_version"], true);
});
