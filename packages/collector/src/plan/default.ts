/**
 * The collector's default plan: dlt-ts's own (`docs/telemetry-plan.json`, generated from its typed events) merged
 * with what real Python dlt 1.x sends that identifies nobody (`dlt-python.ts`). It is generated into
 * `plans/default.json` (`npm run docs:events`, checked by a test), which the collector reads at start: the file is
 * what `GET /v1/plan` publishes.
 */
import { readFileSync } from "node:fs";
import { DLT_PYTHON_CONTEXT, dltPythonEvents } from "./dlt-python.js";
import { compilePlan, parsePlan, PLAN_FORMAT, type Plan, type PlanEvent, type PlanField, type PlanFile } from "./plan.js";

/** Where the default plan is, in the installed package. */
export const DEFAULT_PLAN_FILE = new URL("../../../plans/default.json", import.meta.url);

const union = (a: readonly string[], b: readonly string[]): string[] => [...new Set([...a, ...b])];

/** Two definitions of one field as one: values and fields joined; of two different types, the first is kept. */
function mergeField(a: PlanField, b: PlanField): PlanField {
  if ((a.type === "enum" && b.type === "enum") || (a.type === "list" && b.type === "list")) return { ...a, values: union(a.values, b.values) };
  if (a.type === "object" && b.type === "object") return { ...a, fields: mergeFields(a.fields, b.fields) };
  return a;
}

function mergeFields(a: Readonly<Record<string, PlanField>>, b: Readonly<Record<string, PlanField>>): Record<string, PlanField> {
  const out: Record<string, PlanField> = { ...a };
  for (const [name, field] of Object.entries(b)) out[name] = out[name] ? mergeField(out[name], field) : field;
  return out;
}

/** Plans joined: every event of each (an event in both has the properties of both), and the contexts joined. */
export function mergePlans(name: string, description: string, a: PlanFile, b: PlanFile): PlanFile {
  const events: Record<string, PlanEvent> = { ...a.events };
  for (const [event, e] of Object.entries(b.events)) {
    const mine = events[event];
    events[event] = mine ? { description: `${mine.description} ${e.description}`, properties: mergeFields(mine.properties, e.properties) } : e;
  }
  return { format: PLAN_FORMAT, name, description, events, context: mergeFields(a.context, b.context) };
}

/** The default plan from dlt-ts's plan (a plan file's content, as `@dlt-ts/telemetry`'s `planOf` wrote it). */
export function defaultPlan(dltTs: unknown): PlanFile {
  const ours = parsePlan(JSON.stringify(dltTs), "dlt-ts");
  // dlt 1.x's `source_name` keeps the names dlt-ts's `pipeline_name` does (dlt's verified sources), bar `custom`.
  const init = ours.events["command_init"]?.properties["pipeline_name"];
  const sources = init?.type === "enum" ? init.values.filter((s) => s !== "custom") : [];
  const python: PlanFile = { format: PLAN_FORMAT, name: "dlt", events: dltPythonEvents(sources), context: DLT_PYTHON_CONTEXT };
  return mergePlans(
    "dlt-collector default",
    "dlt-ts's events and context, and what Python dlt 1.x sends that identifies nobody (no names, free text or hashes of names).",
    ours,
    python,
  );
}

/** What `--plan` names: `default`, `none` (everything is stored, as Segment's raw API), or a plan file. */
export type PlanChoice = "default" | "none" | { readonly file: string };

/** The plan to enforce, or undefined for `none`; a file that cannot be used throws a `PlanError` naming it. */
export function loadPlan(choice: PlanChoice): Plan | undefined {
  if (choice === "none") return undefined;
  const file = choice === "default" ? DEFAULT_PLAN_FILE : choice.file;
  const source = choice === "default" ? "default" : choice.file;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`plan ${source}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return compilePlan(parsePlan(text, source));
}
