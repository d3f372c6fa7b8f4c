/**
 * Typed event definitions: a host declares every event and the type of each property once; `typedTracker` then
 * accepts only those events with those property types (checked by TypeScript and again at run time), and
 * `renderCatalogue` writes the human catalogue of what is sent. Strings are only enumerated values or ids that
 * match a pattern, so free-form text (a path, an error message) cannot be tracked by accident.
 */
import { createRequire } from "node:module";
import type { Telemetry } from "./client.js";
import type { PropertyValue } from "./types.js";

/** The type of one property. */
export type PropertySpec =
  | { readonly type: "number"; readonly description: string }
  | { readonly type: "boolean"; readonly description: string }
  | { readonly type: "enum"; readonly values: readonly string[]; readonly description: string }
  | { readonly type: "id"; readonly pattern: RegExp; readonly description: string };

/** One event: `<category>_<name>` is its key in the catalogue. */
export interface EventSpec {
  readonly description: string;
  readonly properties: Readonly<Record<string, PropertySpec>>;
}

/** Every event a host may send. */
export type EventCatalogue = Readonly<Record<string, EventSpec>>;

type ValueOf<P> = P extends { readonly type: "number" }
  ? number
  : P extends { readonly type: "boolean" }
    ? boolean
    : P extends { readonly type: "enum"; readonly values: readonly (infer V)[] }
      ? V
      : P extends { readonly type: "id" }
        ? string
        : never;

/** The properties of event `E`, typed from its definition. */
export type EventProperties<C extends EventCatalogue, E extends keyof C> = {
  readonly [K in keyof C[E]["properties"]]: ValueOf<C[E]["properties"][K]>;
};

/** Declares a catalogue, keeping its literal types (enum values become unions). */
export function defineEvents<const C extends EventCatalogue>(catalogue: C): C {
  for (const key of Object.keys(catalogue)) {
    if (!/^[a-z][a-z0-9]*_[a-z0-9_]+$/.test(key)) throw new Error(`event name ${key} must be <category>_<name> in snake_case`);
  }
  return catalogue;
}

/** Whether `value` fits `spec`. */
export function valid(spec: PropertySpec, value: unknown): value is PropertyValue {
  switch (spec.type) {
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "boolean":
      return typeof value === "boolean";
    case "enum":
      return typeof value === "string" && spec.values.includes(value);
    case "id":
      return typeof value === "string" && spec.pattern.test(value);
  }
}

/** A tracker that takes only the catalogue's events, with their typed properties. */
export interface TypedTracker<C extends EventCatalogue> {
  track<E extends keyof C & string>(event: E, properties: EventProperties<C, E>): void;
}

/**
 * Wraps a client: `track(event, properties)` with compile-time types, and at run time an unknown event is not sent
 * and a property that does not fit its definition (or is not defined) is left out.
 */
export function typedTracker<C extends EventCatalogue>(telemetry: Telemetry, catalogue: C): TypedTracker<C> {
  return {
    track(event, properties) {
      const spec = catalogue[event];
      if (!spec) return;
      const clean: Record<string, PropertyValue> = {};
      const given = properties as Readonly<Record<string, unknown>>;
      for (const [key, p] of Object.entries(spec.properties)) {
        const v = given[key];
        if (valid(p, v)) clean[key] = v;
      }
      const cut = event.indexOf("_");
      telemetry.track(event.slice(0, cut), event.slice(cut + 1), clean);
    },
  };
}

function typeText(p: PropertySpec): string {
  switch (p.type) {
    case "number":
    case "boolean":
      return p.type;
    case "enum":
      return `one of ${p.values.map((v) => `\`${v}\``).join(", ")}`;
    case "id":
      return `id matching \`${p.pattern.source}\``;
  }
}

/** The catalogue as Markdown: every event and every property with its type. */
export function renderCatalogue(catalogue: EventCatalogue, title: string, intro: string): string {
  const out = [`# ${title}`, "", intro.trim(), ""];
  for (const [event, spec] of Object.entries(catalogue)) {
    out.push(`## \`${event}\``, "", spec.description, "", "| property | type | meaning |", "| --- | --- | --- |");
    const cut = event.indexOf("_");
    out.push(`| \`event_category\` | \`${event.slice(0, cut)}\` | always |`);
    out.push(`| \`event_name\` | \`${event.slice(cut + 1)}\` | always |`);
    for (const [key, p] of Object.entries(spec.properties)) out.push(`| \`${key}\` | ${typeText(p)} | ${p.description} |`);
    out.push("");
  }
  return out.join("\n");
}

/** A property's type as the hash sees it: enum values and id patterns included, the description not. */
function typeKey(p: PropertySpec): unknown[] {
  switch (p.type) {
    case "enum":
      return [p.type, [...p.values]];
    case "id":
      return [p.type, p.pattern.source, p.pattern.flags];
    default:
      return [p.type];
  }
}

/**
 * A hash of what a catalogue collects, for a notice that returns when that changes (`noticeNeeded(hash)`): every
 * event, its properties and their types (enum values and id patterns too), and `added`, the names of what the
 * messages carry besides (e.g. `first_run_of_version`, context fields). Descriptions are left out: rewording a
 * catalogue does not bring the notice back. SHA-256, 64 hex digits.
 *
 * @example
 * if (telemetry.noticeNeeded(catalogueHash(events))) { printNotice(); telemetry.markNoticeShown(catalogueHash(events)); }
 */
export function catalogueHash(catalogue: EventCatalogue, added: readonly string[] = []): string {
  const events = Object.keys(catalogue)
    .sort()
    .map((event) => {
      const props = catalogue[event]!.properties;
      return [
        event,
        Object.keys(props)
          .sort()
          .map((key) => [key, ...typeKey(props[key]!)]),
      ];
    });
  // node:crypto only here, when a host asks: never on the start-up path of every run.
  const { createHash } = createRequire(import.meta.url)("node:crypto") as typeof import("node:crypto");
  return createHash("sha256")
    .update(JSON.stringify({ events, added: [...added].sort() }))
    .digest("hex");
}
