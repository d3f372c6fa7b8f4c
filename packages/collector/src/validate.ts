/**
 * Segment's HTTP Tracking API rules, as a pure function: a message is accepted (and normalized) or refused with
 * the field that is wrong. Never throws, whatever it is given (fuzzed by property-based tests).
 */

/** The message types Segment accepts. */
export const MESSAGE_TYPES = ["track", "identify", "page", "screen", "group", "alias"] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** Segment's limit for one message. */
export const MAX_MESSAGE_BYTES = 32 * 1024;

export type Validation =
  | { readonly ok: true; readonly message: Record<string, unknown>; readonly type: MessageType }
  | { readonly ok: false; readonly field: string; readonly reason: string; readonly status: 400 | 413 };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isId = (v: unknown): boolean => (typeof v === "string" && v.length > 0) || (typeof v === "number" && Number.isFinite(v));
/**
 * ISO-8601 / RFC 3339: a date, or a date and time (`T` or a space) with optional fraction and offset; the year four
 * digits, or six with a sign (ISO's expanded years, as `Date#toISOString` writes them).
 */
const ISO = /^([+-]\d{6}|\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * Epoch ms of an ISO-8601 time, or null: `"1"`, prose (`"next Tuesday"`) and impossible dates (`2024-02-30`, which
 * `Date.parse` makes 1 March) are not times. A time without an offset is UTC, as servers read it (Date.parse would
 * read it in this machine's zone).
 */
export function parseIsoTime(v: unknown): number | null {
  if (typeof v !== "string") return null;
  const m = ISO.exec(v);
  if (!m) return null;
  const [, y, mo, d, h = "0", mi = "0", sec = "0", fraction = "", zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const daysInMonth = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
  if (day < 1 || day > daysInMonth || Number(h) > 23 || Number(mi) > 59 || Number(sec) > 60) return null;
  const offset = zone === undefined || /^z$/i.test(zone) ? 0 : (zone[0] === "-" ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(-2)));
  if (Math.abs(offset) > 18 * 60) return null;
  const ms = fraction === "" ? 0 : Math.floor(Number(`0${fraction}`) * 1000);
  // Date.UTC reads years 0–99 as 1900–1999: the year is set on its own.
  const t = new Date(Date.UTC(2000, month - 1, day, Number(h), Number(mi), Math.min(Number(sec), 59), ms));
  t.setUTCFullYear(year, month - 1, day);
  return t.getTime() - offset * 60_000;
}

const isDate = (v: unknown): boolean => parseIsoTime(v) !== null;

/** The 413 refusal of a message of `byteSize` bytes, when that is over Segment's limit. */
export function sizeRefusal(path: string, byteSize: number): Extract<Validation, { ok: false }> | undefined {
  return byteSize > MAX_MESSAGE_BYTES
    ? { ok: false, field: path || "body", reason: `message is ${byteSize} bytes, over the 32 KB limit`, status: 413 }
    : undefined;
}

/**
 * Validates one message. `path` is how it is named in errors (e.g. `batch[3]`); `forcedType` is the type of a
 * single-message endpoint (`/v1/track` → track).
 */
export function validateMessage(raw: unknown, path: string, forcedType?: MessageType, byteSize?: number): Validation {
  const at = (f: string): string => (path ? `${path}.${f}` : f);
  if (!isObject(raw)) return { ok: false, field: path || "body", reason: "must be a JSON object", status: 400 };
  const tooLarge = byteSize === undefined ? undefined : sizeRefusal(path, byteSize);
  if (tooLarge) return tooLarge;
  const type = forcedType ?? raw["type"];
  if (typeof type !== "string" || !(MESSAGE_TYPES as readonly string[]).includes(type)) {
    return { ok: false, field: at("type"), reason: `must be one of ${MESSAGE_TYPES.join(", ")}`, status: 400 };
  }
  const t = type as MessageType;
  if (t === "alias") {
    if (!isId(raw["userId"])) return { ok: false, field: at("userId"), reason: "required for alias", status: 400 };
    if (!isId(raw["previousId"])) return { ok: false, field: at("previousId"), reason: "required for alias", status: 400 };
  } else if (!isId(raw["userId"]) && !isId(raw["anonymousId"])) {
    return { ok: false, field: at("anonymousId"), reason: "userId or anonymousId is required", status: 400 };
  }
  if (t === "track" && (typeof raw["event"] !== "string" || raw["event"] === "")) {
    return { ok: false, field: at("event"), reason: "a non-empty string is required for track", status: 400 };
  }
  if (t === "group" && !isId(raw["groupId"])) return { ok: false, field: at("groupId"), reason: "required for group", status: 400 };
  for (const f of ["properties", "traits", "context", "integrations"]) {
    if (raw[f] !== undefined && raw[f] !== null && !isObject(raw[f])) {
      return { ok: false, field: at(f), reason: "must be an object", status: 400 };
    }
  }
  for (const f of ["timestamp", "sentAt", "originalTimestamp"]) {
    if (raw[f] !== undefined && raw[f] !== null && !isDate(raw[f])) {
      return { ok: false, field: at(f), reason: "must be an ISO-8601 date", status: 400 };
    }
  }
  const id = raw["messageId"];
  if (id !== undefined && id !== null && !(typeof id === "string" && id.length > 0 && id.length <= 256)) {
    return { ok: false, field: at("messageId"), reason: "must be a non-empty string of at most 256 characters", status: 400 };
  }
  return { ok: true, message: raw, type: t };
}

/** The largest stamped message a store keeps: Segment's limit, plus what stamping adds (four times, a label). */
export const stampedSizeLimit = (): number => MAX_MESSAGE_BYTES + 1024;

/** The times (epoch ms) a collector can have stamped as `receivedAt`: from 1970 to a week from now (a fast clock). */
export const receivedRange = (now = Date.now()): readonly [number, number] => [0, now + 7 * 86_400_000];

/**
 * A stored (stamped) message read back from a file that may not be trustworthy (`migrate`): it must parse, fit
 * `stampedSizeLimit`, pass `validateMessage` and carry the `messageId` and `receivedAt` every stamped message has.
 * Returns its JSON as it is, or the reason it is refused (no value of the message in it).
 */
export function validateStored(json: string): { readonly ok: true; readonly json: string } | { readonly ok: false; readonly reason: string } {
  if (Buffer.byteLength(json) > stampedSizeLimit()) return { ok: false, reason: "message is over the 32 KB limit" };
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return { ok: false, reason: "message is not JSON" };
  }
  const v = validateMessage(raw, "");
  if (!v.ok) return { ok: false, reason: `${v.field}: ${v.reason}` };
  const m = v.message;
  if (typeof m["messageId"] !== "string" || m["messageId"] === "") return { ok: false, reason: "messageId: missing (not a stamped message)" };
  // Read as ingest reads times (parseIsoTime: ISO-8601 only, a time without an offset is UTC), once.
  const receivedAt = parseIsoTime(m["receivedAt"]);
  if (receivedAt === null) return { ok: false, reason: "receivedAt: missing or not a date (not a stamped message)" };
  const [from, to] = receivedRange();
  if (receivedAt < from || receivedAt >= to)
    return { ok: false, reason: "receivedAt: before 1970 or over a week from now (not a time a collector stamps)" };
  return { ok: true, json };
}
