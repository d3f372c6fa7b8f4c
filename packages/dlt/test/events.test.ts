import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { planText, renderCatalogue } from "@dlt-ts/telemetry";
import { startFakeCollector } from "@dlt-ts/telemetry/testing";
import { createTelemetry } from "@dlt-ts/telemetry";
import { CATALOGUE_INTRO, DLT_EVENTS, dltEvents, dltPlan } from "../src/events.js";
import { freshUser } from "./cli-helpers.js";
import { DLT_TELEMETRY_OPTIONS } from "../src/telemetry.js";

const DOC = fileURLToPath(new URL("../../../../docs/telemetry-events.md", import.meta.url));

describe("generated docs (run `npm run docs:events`)", () => {
  test("docs/telemetry-events.md is the catalogue generated from the event definitions (run `npm run docs:events`)", () => {
    assert.equal(readFileSync(DOC, "utf8"), renderCatalogue(DLT_EVENTS, "dlt-ts telemetry events", CATALOGUE_INTRO));
  });

  test("docs/telemetry-plan.json is the tracking plan generated from the same definitions (run `npm run docs:events`)", () => {
    const plan = fileURLToPath(new URL("../../../../docs/telemetry-plan.json", import.meta.url));
    assert.equal(readFileSync(plan, "utf8"), planText(dltPlan()));
    // Every event of the catalogue, with its properties and the three the library adds (`first_run_of_version`: dlt-ts
    // counts installs, and a collector enforcing the plan must keep the flag).
    const parsed = JSON.parse(readFileSync(plan, "utf8")) as { events: Record<string, { properties: Record<string, unknown> }> };
    assert.deepEqual(Object.keys(parsed.events), Object.keys(DLT_EVENTS));
    assert.deepEqual(Object.keys(parsed.events["command_init"]!.properties), [
      "event_category",
      "event_name",
      "elapsed",
      "success",
      "pipeline_name",
      "destination_name",
      "first_run_of_version",
    ]);
  });
});

test("typed events: values that do not fit their definition never leave the machine", async () => {
  const rx = await startFakeCollector();
  try {
    const u = freshUser(rx.url);
    const t = createTelemetry({ ...DLT_TELEMETRY_OPTIONS, env: u.env, cwd: u.project });
    const events = dltEvents(t);
    // A caller that bypasses the types: a made-up source name is not in the catalogue's list, so it is left out.
    (events.track as (e: string, p: Record<string, unknown>) => void)("command_init", {
      elapsed: 1,
      success: false,
      pipeline_name: "/home/someone/My Project",
      destination_name: "duckdb",
    });
    // A caller that bypasses the types: every bad value is dropped at run time.
    (events.track as (e: string, p: Record<string, unknown>) => void)("pipeline_load", {
      elapsed: "slow",
      success: true,
      destination_name: "postgres://user:pw@host/db",
      transaction_id: "not-hex",
      error: "ENOENT: /etc/secret",
    });
    (events.track as (e: string, p: Record<string, unknown>) => void)("command_unknown", { elapsed: 1 });
    await t.flush();
    const got = await rx.waitForEvents(2);
    assert.deepEqual(
      got.map((e) => e["properties"]),
      [
        // The library's own flag, on the first event of a fresh machine, is the one property not in the catalogue's list.
        { event_category: "command", event_name: "init", elapsed: 1, success: false, destination_name: "duckdb", first_run_of_version: true },
        { event_category: "pipeline", event_name: "load", success: true },
      ],
    );
  } finally {
    await rx.close();
  }
});
