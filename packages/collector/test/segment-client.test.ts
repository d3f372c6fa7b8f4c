// The official Segment client pointed at the collector (its `host` option) delivers every event it was given.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Analytics } from "@segment/analytics-node";
import { startCollector } from "../src/index.js";
import { tempDb } from "./helpers.js";

test("@segment/analytics-node delivers every event to the collector", async () => {
  const c = await startCollector({ port: 0, plan: "none", dbPath: tempDb(), writeKeys: ["seg-key"] });
  try {
    const analytics = new Analytics({ writeKey: "seg-key", host: c.url, flushAt: 7, flushInterval: 50 });
    for (let i = 0; i < 50; i++) analytics.track({ anonymousId: `anon-${i}`, event: "command_init", properties: { i, success: true } });
    analytics.identify({ userId: "u1", traits: { plan: "free" } });
    analytics.page({ anonymousId: "a", name: "Home" });
    analytics.group({ userId: "u1", groupId: "g1" });
    analytics.alias({ userId: "u2", previousId: "u1" });
    analytics.screen({ anonymousId: "a", name: "Main" });
    await analytics.closeAndFlush({ timeout: 20_000 });
    const rows = await c.store.query("SELECT type, count(*) AS n FROM events GROUP BY type ORDER BY type");
    assert.deepEqual(
      rows.map((r) => [r["type"], Number(r["n"])]),
      [
        ["alias", 1],
        ["group", 1],
        ["identify", 1],
        ["page", 1],
        ["screen", 1],
        ["track", 50],
      ],
    );
    const ids = await c.store.query("SELECT count(DISTINCT anonymous_id) AS n FROM events WHERE type = 'track'");
    assert.equal(Number(ids[0]?.["n"]), 50);
  } finally {
    await c.close();
  }
});
