/**
 * One tracking request, from headers to stamped messages: the write key in the header is checked before any byte of
 * the body is read, then the body is read within the limits, parsed, authenticated by its `writeKey` when there was
 * no header, validated and stamped. Returns the messages or the refusal; the server answers.
 *
 * Routes: `batch` (`/v1/batch`), a message type (`/v1/track` …: that type, whatever the body says), and `base` — the
 * base URL itself, where real dlt posts (`dlt/common/runtime/anon_tracker.py`: one event per request, no `type`, no
 * `messageId`, no `timestamp`): a body with a `batch` array is a batch, anything else one message, and a message
 * without `type` but with an `event` is a `track`.
 *
 * The label of the write key that let a request in is added to each of its messages as `writeKeyLabel` (the store
 * keeps it in the `write_key_label` column); the key itself is never stored.
 */
import type { IncomingMessage } from "node:http";
import { bodyKey, headerKey, labelOf, type WriteKey } from "./auth.js";
import { readBody } from "./body.js";
import type { Hold } from "./limits.js";
import { refuse, type Refusal } from "./refusal.js";
import { parseTime, stamp, type StoredMessage } from "./stamp.js";
import { MAX_MESSAGE_BYTES, sizeRefusal, validateMessage, type MessageType } from "./validate.js";
import { enforce, type RefusalReason } from "./plan/enforce.js";
import type { Plan } from "./plan/plan.js";
import { RefusedCounts } from "./plan/refused.js";
import type { RefusedCount } from "./store/types.js";

export type Route = "base" | "batch" | MessageType;

/** A message the plan did not let in: where it was in the request, and why. */
export interface RefusedMessage {
  readonly at: string;
  readonly reason: RefusalReason;
}

export type Ingested =
  | {
      readonly ok: true;
      /** What is stored: the messages the plan keeps, as it keeps them. */
      readonly messages: StoredMessage[];
      /** What the plan refused, counted by day, reason and (bounded) event name, stored with the messages. */
      readonly refusedCounts: readonly RefusedCount[];
      /** The same, per message, for the answer (at most `MAX_REFUSED_LISTED`). */
      readonly refused: readonly RefusedMessage[];
      /** How many messages the plan refused in all. */
      readonly refusedTotal: number;
    }
  | Refusal;

/** The answer lists at most this many refused messages (a batch holds thousands). */
export const MAX_REFUSED_LISTED = 100;

/** What reading a request needs. */
export interface IngestContext {
  /** Accepted keys and their labels; none accepts every request (and stores no label). */
  readonly writeKeys: readonly WriteKey[];
  readonly maxBodyBytes: number;
  /** This request's share of the in-flight bytes, released by the caller once it has answered. */
  readonly hold: Hold;
  /** Called when the body may be sent (answers `Expect: 100-continue`). */
  readonly beforeBody?: () => void;
  /** The plan messages must fit, or undefined to store them as sent (`--plan none`). */
  readonly plan?: Plan | undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** dlt's own messages carry no `type`: at the base URL, one with an `event` is a track. */
const inferredType = (m: unknown): MessageType | undefined =>
  isObject(m) && m["type"] === undefined && typeof m["event"] === "string" ? "track" : undefined;

export async function ingest(req: IncomingMessage, route: Route, ctx: IngestContext): Promise<Ingested> {
  const receivedAt = Date.now();
  const receivedIso = new Date(receivedAt).toISOString();
  const keyed = ctx.writeKeys.length > 0;
  const authorization = req.headers["authorization"];
  // The label of the key that let the request in, stored with each of its events (never the key).
  let label: string | undefined;
  if (keyed && authorization !== undefined) {
    const key = headerKey(authorization);
    label = key === undefined ? undefined : labelOf(key, ctx.writeKeys);
    // Refused before the body is read, and the connection closed: a stranger cannot make the collector hold a body.
    if (label === undefined) return refuse(401, "invalid write key", { close: true });
  }
  const body = await readBody(req, ctx.maxBodyBytes, ctx.hold, ctx.beforeBody);
  if (!body.ok) return body;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.body.toString("utf8"));
  } catch (e) {
    return refuse(400, `body: malformed JSON (${(e as Error).message.slice(0, 100)})`);
  }
  if (!isObject(parsed)) return refuse(400, "body: must be a JSON object");
  if (keyed && authorization === undefined) {
    const key = bodyKey(parsed);
    if (key === undefined) return refuse(401, "missing write key (Basic auth user, or writeKey in the body)");
    label = labelOf(key, ctx.writeKeys);
    if (label === undefined) return refuse(401, "invalid write key");
  }
  const sentAtRaw = parsed["sentAt"];
  const sentAt = parseTime(sentAtRaw);
  if (sentAtRaw !== undefined && sentAt === null) return refuse(400, "sentAt: must be an ISO-8601 date");

  const messages: StoredMessage[] = [];
  const counts = new RefusedCounts(receivedAt);
  const refused: RefusedMessage[] = [];
  // Validates, applies the plan and stamps one message; the 32 KB limit is measured on the message as it will be stored.
  const take = (m: unknown, path: string, forced: MessageType | undefined): Refusal | undefined => {
    const v = validateMessage(m, path, forced);
    if (!v.ok) return refuse(v.status, `${v.field}: ${v.reason}`);
    let message = v.message;
    if (ctx.plan) {
      const kept = enforce(ctx.plan, message, v.type);
      if (!kept.ok) {
        counts.add(kept.reason, kept.event);
        if (refused.length < MAX_REFUSED_LISTED) refused.push({ at: path || "body", reason: kept.reason });
        return undefined;
      }
      message = kept.message;
    }
    let stored: StoredMessage;
    try {
      // The collector's own field: which key let the message in, by its label; one sent by the client is dropped.
      if (label === undefined) delete message["writeKeyLabel"];
      else message["writeKeyLabel"] = label;
      stored = stamp(message, v.type, receivedAt, receivedIso, sentAt);
    } catch {
      // JSON.parse reads nesting that JSON.stringify cannot write back (RangeError: call stack).
      return refuse(400, `${path || "body"}: nested too deeply`);
    }
    // Byte length only matters when the text could be over the limit (UTF-8 is at most 3 bytes per UTF-16 unit).
    const tooLarge = stored.json.length * 3 > MAX_MESSAGE_BYTES ? sizeRefusal(path, Buffer.byteLength(stored.json)) : undefined;
    if (tooLarge) return refuse(tooLarge.status, `${tooLarge.field}: ${tooLarge.reason}`);
    messages.push(stored);
    return undefined;
  };
  const batch = parsed["batch"];
  if (route === "batch" || (route === "base" && Array.isArray(batch))) {
    if (!Array.isArray(batch)) return refuse(400, "batch: must be an array of messages");
    for (let i = 0; i < batch.length; i++) {
      const refused = take(batch[i], `batch[${i}]`, route === "base" ? inferredType(batch[i]) : undefined);
      if (refused) return refused;
    }
  } else {
    const refused = take(parsed, "", route === "base" ? inferredType(parsed) : route);
    if (refused) return refused;
  }
  return { ok: true, messages, refusedCounts: counts.rows(), refused, refusedTotal: counts.total };
}
