// The bytes sent match the spec's two examples (spec/telemetry.md) field by field, with `runtime` in place of
// `python` (DESIGN.md) and volatile values as placeholders.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createTelemetry } from "../src/index.js";
import { snapshotEvent, startFakeCollector } from "../src/testing.js";
import { testHost } from "./options.js";

const os = { name: process.platform === "linux" ? "Linux" : process.platform === "darwin" ? "Darwin" : "Windows", version: "<os-version>" };

test("command_init and pipeline_load as the spec shows them", async () => {
  const rx = await startFakeCollector();
  try {
    const h = testHost({ library: { name: "dlt-ts", version: "0.2.0a25" }, env: { RUNTIME__TELEMETRY_ENDPOINT: rx.url } });
    const t = createTelemetry(h.options);
    t.track("command", "init", { destination_name: "bigquery", elapsed: 3.1720383167266846, pipeline_name: "pipedrive", success: true });
    t.track("pipeline", "load", { destination_name: "duckdb", elapsed: 2.234885, success: true, transaction_id: "39c3b69c858836c36b9b7c6e046eb391" });
    await t.flush();
    const [init, load] = await rx.waitForEvents(2);
    const context = {
      ci_run: false,
      cpu: "<cpu>",
      exec_info: (init?.["context"] as { exec_info: string[] }).exec_info,
      library: { name: "dlt-ts", version: "0.2.0a25" },
      os,
      runtime: { name: "node", version: "<runtime-version>" },
    };
    assert.deepEqual(snapshotEvent(init!), {
      anonymousId: "<hex32>",
      context,
      event: "command_init",
      messageId: "<uuid>",
      properties: {
        destination_name: "bigquery",
        elapsed: "<seconds>",
        event_category: "command",
        event_name: "init",
        pipeline_name: "pipedrive",
        success: true,
      },
      timestamp: "<timestamp>",
      type: "track",
    });
    assert.deepEqual(snapshotEvent(load!), {
      anonymousId: "<hex32>",
      context,
      event: "pipeline_load",
      messageId: "<uuid>",
      properties: {
        destination_name: "duckdb",
        elapsed: "<seconds>",
        event_category: "pipeline",
        event_name: "load",
        success: true,
        transaction_id: "<hex32>",
      },
      timestamp: "<timestamp>",
      type: "track",
    });
    assert.equal((init?.["properties"] as { elapsed: number }).elapsed, 3.1720383167266846, "numbers travel unrounded");
  } finally {
    await rx.close();
  }
});
