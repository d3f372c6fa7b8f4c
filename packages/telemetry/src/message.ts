/** Segment `track` messages and batches, within Segment's size limits. */
import type { MessageContext } from "./context.js";
import { randomHex32, randomUuid } from "./random.js";
import type { Properties, PropertyValue } from "./types.js";

/** Segment's limit for one message. */
export const MAX_MESSAGE_BYTES = 32 * 1024;
/** Segment's limit for one batch request. */
export const MAX_BATCH_BYTES = 500 * 1024;
/** Longest string property kept; longer ones are dropped (free text has no place in telemetry). */
export const MAX_STRING_PROPERTY = 200;

/** What `track()` records: cheap to make, turned into a message only when sent. */
export interface PendingEvent {
  readonly category: string;
  readonly name: string;
  readonly properties: Properties | undefined;
  /** ms since the epoch. */
  readonly at: number;
}

/** A Segment track message as sent. */
export interface TrackMessage {
  readonly type: "track";
  readonly messageId: string;
  readonly anonymousId: string;
  readonly timestamp: string;
  readonly event: string;
  readonly properties: Record<string, PropertyValue>;
  readonly context: MessageContext;
}

function cleanValue(v: unknown): PropertyValue | undefined {
  switch (typeof v) {
    case "boolean":
      return v;
    case "number":
      return Number.isFinite(v) ? v : null;
    case "string":
      return v.length <= MAX_STRING_PROPERTY ? v : undefined;
    default:
      return v === null ? null : undefined;
  }
}

/**
 * Builds the message of one event: a fresh `messageId` and a random `anonymousId`, as the spec promises; `added`
 * are properties the library adds itself.
 */
export function buildMessage(e: PendingEvent, context: MessageContext, added?: Properties): TrackMessage {
  const properties: Record<string, PropertyValue> = { event_category: e.category, event_name: e.name };
  if (e.properties) {
    for (const key of Object.keys(e.properties)) {
      if (key === "event_category" || key === "event_name") continue;
      const v = cleanValue(e.properties[key]);
      if (v !== undefined) properties[key] = v;
    }
  }
  // What the library itself adds (`first_run_of_version`), after the host's own properties.
  if (added) Object.assign(properties, added);
  return {
    type: "track",
    messageId: randomUuid(),
    anonymousId: randomHex32(),
    timestamp: new Date(e.at).toISOString(),
    event: `${e.category}_${e.name}`,
    properties,
    context,
  };
}

/** Serializes messages, dropping any over 32 KB. Returns the JSON texts and how many were dropped. */
export function serializeMessages(messages: readonly TrackMessage[]): { texts: string[]; dropped: number } {
  const texts: string[] = [];
  let dropped = 0;
  for (const m of messages) {
    const t = JSON.stringify(m);
    if (Buffer.byteLength(t) > MAX_MESSAGE_BYTES) dropped++;
    else texts.push(t);
  }
  return { texts, dropped };
}

/** Envelope bytes around the messages: `{"batch":[`, `],"sentAt":"…"}` and commas, with room to spare. */
const ENVELOPE_BYTES = 128;

/** Groups serialized messages into batches that each stay under 500 KB. */
export function groupIntoBatches(texts: readonly string[]): string[][] {
  const batches: string[][] = [];
  let current: string[] = [];
  let size = ENVELOPE_BYTES;
  for (const t of texts) {
    const n = Buffer.byteLength(t) + 1;
    if (current.length > 0 && size + n > MAX_BATCH_BYTES) {
      batches.push(current);
      current = [];
      size = ENVELOPE_BYTES;
    }
    current.push(t);
    size += n;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** The request body of a batch; `sentAt` is set at the moment of sending so the server can correct skew. */
export function batchBody(texts: readonly string[], sentAt = new Date()): string {
  return `{"batch":[${texts.join(",")}],"sentAt":"${sentAt.toISOString()}"}`;
}

/** The request body for a `/v1/track` endpoint: one message with `sentAt`. */
export function singleBody(text: string, sentAt = new Date()): string {
  return `${text.slice(0, -1)},"sentAt":"${sentAt.toISOString()}"}`;
}
