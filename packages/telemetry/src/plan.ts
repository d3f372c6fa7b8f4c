/**
 * The tracking plan: what a host's catalogue (`defineEvents`) and this library's context allow, as JSON a collector
 * enforces (`dlt-collector --plan FILE`). One definition then holds at both ends: `typedTracker` sends nothing
 * outside it, and a collector given the plan keeps nothing outside it. The plan is data only (no code, no regular
 * expression objects), so any collector can read it; its format is `PLAN_FORMAT`.
 */
import { EXEC_INFO_NAMES } from "./context.js";
import type { EventCatalogue, PropertySpec } from "./events.js";
import { FIRST_RUN_PROPERTY } from "./first-run.js";

/** The format this module writes (and `@dlt-ts/collector` reads). */
export const PLAN_FORMAT = "dlt-telemetry-plan/1";

/** One field a plan allows: a property, or a context field. */
export type PlanField =
  | { readonly type: "number"; readonly description?: string }
  | { readonly type: "boolean"; readonly description?: string }
  /** A string that is one of `values`. */
  | { readonly type: "enum"; readonly values: readonly string[]; readonly description?: string }
  /** A string matching `pattern` (a regular expression's source, anchored with `^…$`), at most 200 characters. */
  | { readonly type: "id"; readonly pattern: string; readonly description?: string }
  /** A list whose elements are among `values` (others are left out). */
  | { readonly type: "list"; readonly values: readonly string[]; readonly description?: string }
  /** An object with these fields only. */
  | { readonly type: "object"; readonly fields: Readonly<Record<string, PlanField>>; readonly description?: string };

/** One event of a plan: its properties (`event_category` and `event_name` included). */
export interface PlanEvent {
  readonly description: string;
  readonly properties: Readonly<Record<string, PlanField>>;
}

/** A tracking plan, as written to a plan file. */
export interface TelemetryPlan {
  readonly format: typeof PLAN_FORMAT;
  /** Whose plan it is, e.g. `dlt-ts`. */
  readonly name: string;
  readonly description?: string;
  /** Every event a collector keeps, by its `event` (`<category>_<name>`). */
  readonly events: Readonly<Record<string, PlanEvent>>;
  /** The fields of `context` a collector keeps. */
  readonly context: Readonly<Record<string, PlanField>>;
}

/** A version as libraries and runtimes spell them (`1.26.0`, `20.20.2`, `1.5.0a1`): no spaces, no slashes. */
export const VERSION_PATTERN = "^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$";

/**
 * The context this library sends (`buildContext`), for a host called `libraryName`: `ci_run`, `cpu`, `exec_info`,
 * `library`, `os` and `runtime`, and nothing else.
 */
export function contextPlan(libraryName: string): Record<string, PlanField> {
  const version: PlanField = { type: "id", pattern: VERSION_PATTERN };
  return {
    ci_run: { type: "boolean", description: "one of dlt's CI variables (or a CI system's own) is set" },
    cpu: { type: "number", description: "number of cores" },
    exec_info: { type: "list", values: EXEC_INFO_NAMES, description: "the environments detected, by dlt's names" },
    library: { type: "object", fields: { name: { type: "enum", values: [libraryName] }, version } },
    os: {
      type: "object",
      fields: {
        name: { type: "id", pattern: "^[A-Za-z][A-Za-z0-9_]{0,31}$" },
        version: { type: "id", pattern: "^[0-9A-Za-z][0-9A-Za-z._+~-]{0,63}$" },
      },
    },
    runtime: { type: "object", fields: { name: { type: "enum", values: ["node", "bun", "deno"] }, version } },
  };
}

function fieldOf(p: PropertySpec): PlanField {
  switch (p.type) {
    case "number":
    case "boolean":
      return { type: p.type, description: p.description };
    case "enum":
      return { type: "enum", values: [...p.values], description: p.description };
    case "id": {
      // A flag would change what the pattern matches; a plan is only faithful without one.
      if (p.pattern.flags !== "") throw new Error(`id pattern /${p.pattern.source}/${p.pattern.flags}: flags cannot be written to a plan`);
      return { type: "id", pattern: p.pattern.source, description: p.description };
    }
  }
}

/**
 * The plan of a catalogue: each event with its properties (and `event_category` / `event_name`, which the library
 * adds), and the context `contextPlan(libraryName)` describes. `firstRunOfVersion`: the host sends it (as
 * `TelemetryOptions.firstRunOfVersion`), so every event also allows `first_run_of_version`, which the library adds
 * to whichever event is a version's first on a machine; without it in the plan a collector would remove the flag.
 */
export function planOf(
  catalogue: EventCatalogue,
  options: { readonly name: string; readonly libraryName: string; readonly description?: string; readonly firstRunOfVersion?: boolean },
): TelemetryPlan {
  const events: Record<string, PlanEvent> = {};
  for (const [event, spec] of Object.entries(catalogue)) {
    const cut = event.indexOf("_");
    const properties: Record<string, PlanField> = {
      event_category: { type: "enum", values: [event.slice(0, cut)] },
      event_name: { type: "enum", values: [event.slice(cut + 1)] },
    };
    for (const [key, p] of Object.entries(spec.properties)) properties[key] = fieldOf(p);
    if (options.firstRunOfVersion)
      properties[FIRST_RUN_PROPERTY] = { type: "boolean", description: "true on the first event a machine sends for this library version" };
    events[event] = { description: spec.description, properties };
  }
  return {
    format: PLAN_FORMAT,
    name: options.name,
    ...(options.description ? { description: options.description } : {}),
    events,
    context: contextPlan(options.libraryName),
  };
}

/** A plan as its file holds it: JSON, two-space indents, a final newline. */
export const planText = (plan: TelemetryPlan): string => JSON.stringify(plan, null, 2) + "\n";
