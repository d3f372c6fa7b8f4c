/**
 * A tracking plan as the collector reads it: the events it keeps, their properties and the context fields, in the
 * JSON format `@dlt-ts/telemetry`'s `planOf` writes (`dlt-telemetry-plan/1`; the collector shares the format with
 * clients, not their code). `parsePlan` checks a plan file and names the key that is wrong; `compilePlan` turns it
 * into checks `enforce.ts` runs on every message.
 */

export const PLAN_FORMAT = "dlt-telemetry-plan/1";

/** One field a plan allows (a property or a context field). */
export type PlanField =
  | { readonly type: "number"; readonly description?: string }
  | { readonly type: "boolean"; readonly description?: string }
  | { readonly type: "enum"; readonly values: readonly string[]; readonly description?: string }
  | { readonly type: "id"; readonly pattern: string; readonly description?: string }
  | { readonly type: "list"; readonly values: readonly string[]; readonly description?: string }
  | { readonly type: "object"; readonly fields: Readonly<Record<string, PlanField>>; readonly description?: string };

export interface PlanEvent {
  readonly description: string;
  readonly properties: Readonly<Record<string, PlanField>>;
}

/** A plan file. */
export interface PlanFile {
  readonly format: typeof PLAN_FORMAT;
  readonly name: string;
  readonly description?: string;
  readonly events: Readonly<Record<string, PlanEvent>>;
  readonly context: Readonly<Record<string, PlanField>>;
}

/** A plan file that cannot be used: the message names the file and the key. */
export class PlanError extends Error {
  constructor(source: string, key: string, problem: string) {
    super(`plan ${source}: ${key}: ${problem}`);
    this.name = "PlanError";
  }
}

/** An id value is at most this long, whatever its pattern says (and a pattern never runs on more). */
export const MAX_ID_LENGTH = 200;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function parseField(source: string, key: string, raw: unknown): PlanField {
  if (!isObject(raw)) throw new PlanError(source, key, "must be an object with a type");
  const description = typeof raw["description"] === "string" ? { description: raw["description"] } : {};
  const strings = (name: string): string[] => {
    const v = raw[name];
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === "string"))
      throw new PlanError(source, `${key}.${name}`, "must be a non-empty list of strings");
    return v as string[];
  };
  switch (raw["type"]) {
    case "number":
    case "boolean":
      return { type: raw["type"], ...description };
    case "enum":
    case "list":
      return { type: raw["type"], values: strings("values"), ...description };
    case "id": {
      const pattern = raw["pattern"];
      // Unanchored, a pattern would let any text through that contains a match: privacy fails closed.
      if (typeof pattern !== "string" || !pattern.startsWith("^") || !pattern.endsWith("$")) {
        throw new PlanError(source, `${key}.pattern`, "must be a regular expression anchored with ^ and $");
      }
      try {
        new RegExp(pattern);
      } catch (e) {
        throw new PlanError(source, `${key}.pattern`, (e as Error).message);
      }
      return { type: "id", pattern, ...description };
    }
    case "object": {
      const fields = raw["fields"];
      if (!isObject(fields)) throw new PlanError(source, `${key}.fields`, "must be an object of fields");
      return { type: "object", fields: parseFields(source, `${key}.fields`, fields), ...description };
    }
    default:
      throw new PlanError(source, `${key}.type`, "must be one of number, boolean, enum, id, list, object");
  }
}

function parseFields(source: string, key: string, raw: Record<string, unknown>): Record<string, PlanField> {
  const out: Record<string, PlanField> = {};
  for (const [name, field] of Object.entries(raw)) out[name] = parseField(source, `${key}.${name}`, field);
  return out;
}

/** Reads a plan file's text; throws a `PlanError` naming `source` and the key that is wrong. */
export function parsePlan(text: string, source: string): PlanFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new PlanError(source, "(file)", `not JSON (${(e as Error).message.slice(0, 100)})`);
  }
  if (!isObject(raw)) throw new PlanError(source, "(file)", "must be a JSON object");
  if (raw["format"] !== PLAN_FORMAT) throw new PlanError(source, "format", `must be "${PLAN_FORMAT}"`);
  if (typeof raw["name"] !== "string" || raw["name"] === "") throw new PlanError(source, "name", "must be a non-empty string");
  const events = raw["events"];
  if (!isObject(events)) throw new PlanError(source, "events", "must be an object of events");
  const context = raw["context"] ?? {};
  if (!isObject(context)) throw new PlanError(source, "context", "must be an object of fields");
  const parsedEvents: Record<string, PlanEvent> = {};
  for (const [name, e] of Object.entries(events)) {
    if (!isObject(e)) throw new PlanError(source, `events.${name}`, "must be an object with properties");
    const properties = e["properties"] ?? {};
    if (!isObject(properties)) throw new PlanError(source, `events.${name}.properties`, "must be an object of fields");
    parsedEvents[name] = {
      description: typeof e["description"] === "string" ? e["description"] : "",
      properties: parseFields(source, `events.${name}.properties`, properties),
    };
  }
  return {
    format: PLAN_FORMAT,
    name: raw["name"],
    ...(typeof raw["description"] === "string" ? { description: raw["description"] } : {}),
    events: parsedEvents,
    context: parseFields(source, "context", context),
  };
}

/** Checks one value: the value to keep (an object or a list may lose parts), or undefined to remove it. */
export type Check = (value: unknown) => unknown;

/** The checks of an object's fields, by name (an array: walked once per message, faster than a Map's entries). */
export type Checks = readonly { readonly name: string; readonly check: Check }[];

/** A plan ready to enforce: its file (what `GET /v1/plan` publishes) and its checks. */
export interface Plan {
  readonly definition: PlanFile;
  /** The published text of the plan (served as is). */
  readonly text: string;
  readonly events: ReadonlyMap<string, Checks>;
  readonly context: Checks;
}

function checkOf(field: PlanField): Check {
  switch (field.type) {
    case "number":
      return (v) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
    case "boolean":
      return (v) => (typeof v === "boolean" ? v : undefined);
    case "enum": {
      const values = new Set(field.values);
      return (v) => (typeof v === "string" && values.has(v) ? v : undefined);
    }
    case "id": {
      const pattern = new RegExp(field.pattern);
      // Versions and OS names repeat in every message: the answer for the first few hundred values is remembered
      // (a Map lookup costs a fifth of a pattern's test, measured); random ids fill it once and are then tested.
      const seen = new Map<string, boolean>();
      return (v) => {
        if (typeof v !== "string" || v.length > MAX_ID_LENGTH) return undefined;
        let fits = seen.get(v);
        if (fits === undefined) {
          fits = pattern.test(v);
          if (seen.size < 256) seen.set(v, fits);
        }
        return fits ? v : undefined;
      };
    }
    case "list": {
      const values = new Set(field.values);
      // Each name at most once: a list cannot grow past the plan's own. A list that fits (the usual case) is kept as is.
      return (v) => {
        if (!Array.isArray(v)) return undefined;
        let fits = v.length <= values.size;
        for (let i = 0; fits && i < v.length; i++) fits = typeof v[i] === "string" && values.has(v[i] as string) && v.indexOf(v[i]) === i;
        return fits ? v : [...new Set(v.filter((x): x is string => typeof x === "string" && values.has(x)))];
      };
    }
    case "object": {
      const fields = checksOf(field.fields);
      return (v) => (isObject(v) ? keepSome(fields, v) : undefined);
    }
  }
}

const checksOf = (fields: Readonly<Record<string, PlanField>>): Checks => Object.entries(fields).map(([name, f]) => ({ name, check: checkOf(f) }));

/** The fields of `value` that `checks` allow, each as its check keeps it. */
export const keep = (checks: Checks, value: Record<string, unknown>): Record<string, unknown> => keepSome(checks, value) ?? {};

/**
 * `keep`, or undefined when nothing is kept. A name the value does not hold reads undefined or, for a name such as
 * `constructor`, a function from the prototype: no check keeps either, so no `hasOwn` is needed.
 */
function keepSome(checks: Checks, value: Record<string, unknown>): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined;
  for (let i = 0; i < checks.length; i++) {
    const { name, check } = checks[i]!;
    const v = value[name];
    if (v === undefined) continue;
    const kept = check(v);
    if (kept !== undefined) (out ??= {})[name] = kept;
  }
  return out;
}

/** A parsed plan file, ready to enforce. */
export function compilePlan(file: PlanFile): Plan {
  return {
    definition: file,
    text: JSON.stringify(file, null, 2) + "\n",
    events: new Map(Object.entries(file.events).map(([name, e]) => [name, checksOf(e.properties)])),
    context: checksOf(file.context),
  };
}
