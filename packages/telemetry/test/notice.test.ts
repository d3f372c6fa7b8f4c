// The first-run notice that returns (issue 26): the marker records the hash of the catalogue the user was told
// about; a different hash means what is collected changed, and the host tells the user once more.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { catalogueHash, createTelemetry, defineEvents } from "../src/index.js";
import { tempDir } from "../src/testing.js";
import { testHost } from "./options.js";

const v1 = defineEvents({
  command_build: { description: "build ran", properties: { success: { type: "boolean", description: "it worked" } } },
});

test("catalogueHash changes with what is collected, not with how it is described", () => {
  const reworded = defineEvents({
    command_build: { description: "`build` ended", properties: { success: { type: "boolean", description: "exit code 0" } } },
  });
  const more = defineEvents({
    command_build: {
      description: "build ran",
      properties: { success: { type: "boolean", description: "it worked" }, target: { type: "enum", values: ["node"], description: "what" } },
    },
  });
  const moreValues = defineEvents({
    command_build: {
      description: "build ran",
      properties: { success: { type: "boolean", description: "it worked" }, target: { type: "enum", values: ["node", "web"], description: "what" } },
    },
  });
  assert.match(catalogueHash(v1), /^[0-9a-f]{64}$/);
  assert.equal(catalogueHash(reworded), catalogueHash(v1));
  const hashes = new Set([catalogueHash(v1), catalogueHash(more), catalogueHash(moreValues), catalogueHash(v1, ["first_run_of_version"])]);
  assert.equal(hashes.size, 4);
});

test("noticeNeeded(hash): true until the notice of that catalogue is marked shown, true again for another catalogue", (t) => {
  const host = testHost({ env: { RUNTIME__TELEMETRY_ENDPOINT: "http://127.0.0.1:9" } });
  t.after(host.cleanup);
  const telemetry = createTelemetry(host.options);
  const [a, b] = ["a", "b"].map((c) => c.repeat(64)) as [string, string];
  assert.equal(telemetry.noticeNeeded(a), true);
  telemetry.markNoticeShown(a);
  assert.equal(telemetry.noticeNeeded(a), false);
  assert.equal(telemetry.noticeNeeded(), false, "told at all");
  assert.equal(telemetry.noticeNeeded(b), true, "what is collected changed");
  telemetry.markNoticeShown(b);
  assert.equal(telemetry.noticeNeeded(b), false);
  assert.equal(telemetry.noticeNeeded(a), true);
  const marker = join(host.home, ".acme", "telemetry-notice-shown");
  assert.match(readFileSync(marker, "utf8"), new RegExp(`^catalogue ${b}$`, "m"));
  // A marker written without a hash (an older host) has told the user about some older catalogue.
  writeFileSync(marker, "2026-01-01T00:00:00.000Z\n");
  assert.equal(telemetry.noticeNeeded(a), true);
  assert.equal(telemetry.noticeNeeded(), false);
});

test("marking the notice never writes through a link planted at the marker", (t) => {
  const host = testHost({ env: { RUNTIME__TELEMETRY_ENDPOINT: "http://127.0.0.1:9" } });
  t.after(host.cleanup);
  const outside = tempDir("notice-outside-");
  const victim = join(outside, "victim.txt");
  writeFileSync(victim, "precious\n");
  mkdirSync(join(host.home, ".acme"));
  symlinkSync(victim, join(host.home, ".acme", "telemetry-notice-shown"));
  const telemetry = createTelemetry(host.options);
  assert.equal(telemetry.noticeNeeded("c".repeat(64)), true, "a link is not a marker of ours");
  telemetry.markNoticeShown("c".repeat(64));
  assert.equal(readFileSync(victim, "utf8"), "precious\n");
  assert.equal(telemetry.noticeNeeded("c".repeat(64)), false);
});
