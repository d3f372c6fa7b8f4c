/**
 * What a plan keeps of one validated message, before it is stamped and stored: a `track` of an event in the plan,
 * with only the properties and context fields the plan lists, each only when its value fits; of Segment's own
 * fields only those the collector needs (`type`, `event`, `messageId`, `anonymousId`, `timestamp`, `sentAt`). So
 * neither the stored message nor its typed columns can hold anything else. Anything else is refused, by a reason
 * of `REFUSAL_REASONS` and, when the event's name is a bounded identifier, that name (never other content).
 * A pure function: it builds a new message and never throws.
 */
import { keep, type Plan } from "./plan.js";

/** Why a message was not stored. */
export const REFUSAL_REASONS = [
  /** A `track` of an event the plan does not list. */
  "unknown_event",
  /** Not a `track` (`identify`, `page`, `screen`, `group`, `alias`): a plan lists events only. */
  "not_track",
  /** No `anonymousId`, or one that is not an id (it could hold a name or an address). */
  "bad_anonymous_id",
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export type Enforced =
  | { readonly ok: true; readonly message: Record<string, unknown> }
  | { readonly ok: false; readonly reason: RefusalReason; readonly event: string | null };

/** A name counted as it is: a short identifier, which cannot carry a sentence, a date or JSON. */
const BOUNDED_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
/** `event` as it may be counted: itself when it is a bounded identifier, else null. */
export const countedName = (event: unknown): string | null => (typeof event === "string" && BOUNDED_NAME.test(event) ? event : null);

/** An id a client generated: a UUID, hex, Segment's `node-next-…` ids; no spaces, `@` or `/`. */
const ID = /^[A-Za-z0-9_.:-]{1,100}$/;
const isId = (v: unknown): v is string | number => (typeof v === "string" && ID.test(v)) || (typeof v === "number" && Number.isSafeInteger(v));

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Applies `plan` to a message of `type` (validated: a track has a non-empty `event`). */
export function enforce(plan: Plan, message: Record<string, unknown>, type: string): Enforced {
  const event = message["event"];
  if (type !== "track") return { ok: false, reason: "not_track", event: type };
  const properties = typeof event === "string" ? plan.events.get(event) : undefined;
  if (!properties) return { ok: false, reason: "unknown_event", event: countedName(event) };
  const anonymousId = message["anonymousId"];
  if (!isId(anonymousId)) return { ok: false, reason: "bad_anonymous_id", event: event as string };
  const kept: Record<string, unknown> = { type, event, anonymousId };
  // A messageId that is not an id is dropped: the collector gives the message a UUID (stamp.ts).
  if (isId(message["messageId"])) kept["messageId"] = String(message["messageId"]);
  const timestamp = message["timestamp"];
  if (timestamp !== undefined && timestamp !== null) kept["timestamp"] = timestamp;
  const sentAt = message["sentAt"];
  if (sentAt !== undefined && sentAt !== null) kept["sentAt"] = sentAt;
  kept["properties"] = isObject(message["properties"]) ? keep(properties, message["properties"]) : {};
  if (isObject(message["context"])) kept["context"] = keep(plan.context, message["context"]);
  return { ok: true, message: kept };
}
