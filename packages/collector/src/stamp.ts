/**
 * What the collector adds to a validated message before it is stored, as Segment does: `type` and `messageId`
 * (a UUID when the client sent none), `receivedAt`, `sentAt` (the message's own, else the request's), the client's
 * `timestamp` kept as `originalTimestamp`, and `timestamp` corrected by the client's clock skew
 * (timestamp + receivedAt − sentAt). The result is serialized once; the store derives its typed columns from it.
 */
import { randomUUID } from "node:crypto";
import { parseIsoTime, type MessageType } from "./validate.js";

/** A message as the store keeps it. */
export interface StoredMessage {
  readonly messageId: string;
  /** The full message, stamped, as one line of JSON. */
  readonly json: string;
}

// Stored timestamps stay within what ISO-8601's four-digit years (and the database's TIMESTAMP) can hold, even when a
// wild skew correction pushes them out.
const MIN_MS = Date.UTC(1, 0, 1);
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const iso = (ms: number): string => new Date(Math.min(MAX_MS, Math.max(MIN_MS, ms))).toISOString();
/** Epoch ms of a date string, or null when it is not one. */
export const parseTime = parseIsoTime;

/**
 * Stamps `message` in place (it is the request's own parsed object) and serializes it. `receivedIso` is `receivedAt`
 * as ISO text, computed once per request.
 */
export function stamp(
  message: Record<string, unknown>,
  type: MessageType,
  receivedAt: number,
  receivedIso: string,
  batchSentAt: number | null,
): StoredMessage {
  const id = message["messageId"];
  const messageId = typeof id === "string" ? id : randomUUID();
  const sentAt = parseTime(message["sentAt"]) ?? batchSentAt;
  const ts = parseTime(message["timestamp"]);
  message["type"] = type;
  message["messageId"] = messageId;
  // A single-message request may carry its write key in the body: it is a credential, never stored.
  delete message["writeKey"];
  // …and one a client put in its context (Segment reads it only at the top, but it is a credential wherever it is).
  const context = message["context"];
  if (typeof context === "object" && context !== null && !Array.isArray(context)) delete (context as Record<string, unknown>)["writeKey"];
  if (ts !== null) message["originalTimestamp"] = iso(ts);
  message["timestamp"] = iso(ts === null ? receivedAt : sentAt === null ? ts : ts + (receivedAt - sentAt));
  if (sentAt !== null) message["sentAt"] = iso(sentAt);
  message["receivedAt"] = receivedIso;
  return { messageId, json: wellFormed(JSON.stringify(message)) };
}

/**
 * JSON.stringify writes a lone UTF-16 surrogate (valid in a JS string, not in UTF-8) as a `\udXXX` escape, which
 * strict JSON readers such as DuckDB's refuse; each becomes U+FFFD. An escape is only one when the backslashes before
 * it are not themselves escaped.
 */
const wellFormed = (json: string): string => (json.includes("\\ud") ? json.replace(/(?<!\\)((?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/gi, "$1\\ufffd") : json);
