// Writes docs/telemetry-events.md from the typed event definitions (run after the build: `npm run docs:events`).
import { mkdirSync, writeFileSync } from "node:fs";
import { renderCatalogue } from "@dlt-ts/telemetry";
import { CATALOGUE_INTRO, DLT_EVENTS } from "../packages/dlt/dist/src/events.js";

mkdirSync(new URL("../docs", import.meta.url), { recursive: true });
writeFileSync(new URL("../docs/telemetry-events.md", import.meta.url), renderCatalogue(DLT_EVENTS, "dlt-ts telemetry events", CATALOGUE_INTRO));
console.log("wrote docs/telemetry-events.md");
