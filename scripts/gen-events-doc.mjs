// Writes, from the typed event definitions (run after the build: `npm run docs:events`):
// - docs/telemetry-events.md, the catalogue people read;
// - docs/telemetry-plan.json, dlt-ts's tracking plan (the same definitions as a collector enforces them);
// - packages/collector/plans/default.json, the collector's default plan: dlt-ts's plan and what real dlt 1.x sends
//   that identifies nobody (packages/collector/src/plan/dlt-python.ts).
// A test fails when any committed file differs from what this writes.
import { mkdirSync, writeFileSync } from "node:fs";
import { planText, renderCatalogue } from "@dlt-ts/telemetry";
import { CATALOGUE_INTRO, DLT_EVENTS, dltPlan } from "../packages/dlt/dist/src/events.js";
import { defaultPlan } from "../packages/collector/dist/src/plan/default.js";

const write = (path, text) => {
  const url = new URL(`../${path}`, import.meta.url);
  mkdirSync(new URL(".", url), { recursive: true });
  writeFileSync(url, text);
  console.log(`wrote ${path}`);
};
write("docs/telemetry-events.md", renderCatalogue(DLT_EVENTS, "dlt-ts telemetry events", CATALOGUE_INTRO));
write("docs/telemetry-plan.json", planText(dltPlan()));
write("packages/collector/plans/default.json", planText(defaultPlan(dltPlan())));
