/**
 * Write keys, as Segment takes them: the key as the Basic-auth user (`base64(key + ":")`), or `writeKey` in the body
 * of a request that has no Authorization header. The header is checked before any byte of the body is read.
 *
 * Each key has a label (`ci=key1`), stored with every event the key let in, so the dashboard can say which client
 * sent what without ever showing a key. A key given without a label gets one made from a short hash of it.
 */
import { timingSafeEqual, createHash } from "node:crypto";

/** An accepted write key and the label stored with the events it lets in. */
export interface WriteKey {
  readonly label: string;
  readonly key: string;
}

/** What a label may look like: it is shown on the dashboard and kept in every event. */
const LABEL = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/** The label of a key given without one: `key-` and the first 8 hex digits of its SHA-256, never the key itself. */
export const hashLabel = (key: string): string => `key-${createHash("sha256").update(key).digest("hex").slice(0, 8)}`;

/**
 * A key as an operator writes it: `label=key`, or a bare key. The label ends at the first `=` that has more than
 * `=`s after it, so a base64 key with its padding (`c2VjcmV0==`) is a bare key and `ci=c2VjcmV0==` a labelled one.
 * Throws a RangeError saying what is wrong.
 */
export function parseWriteKey(spec: string): WriteKey {
  const m = /^([^=]*)=(.*[^=].*)$/s.exec(spec);
  if (!m) {
    if (spec === "") throw new RangeError("a write key must not be empty");
    return { label: hashLabel(spec), key: spec };
  }
  return writeKeyOf({ label: m[1]!, key: m[2]! });
}

/** A key from the programmatic API: a string is a bare key (labelled by its hash); a label is checked. */
export function writeKeyOf(k: string | WriteKey): WriteKey {
  if (typeof k === "string") {
    if (k === "") throw new RangeError("a write key must not be empty");
    return { label: hashLabel(k), key: k };
  }
  if (!LABEL.test(k.label)) {
    throw new RangeError(
      `write key label ${JSON.stringify(k.label.slice(0, 80))}: 1–64 letters, digits, '.', '_', ':' or '-', starting with a letter or digit`,
    );
  }
  if (k.key === "") throw new RangeError(`write key labelled ${k.label}: the key is empty`);
  return { label: k.label, key: k.key };
}

/**
 * The accepted keys, checked: a key given twice under two labels would make its label ambiguous (one label for
 * several keys is fine: a key being rotated).
 */
export function writeKeysOf(keys: readonly (string | WriteKey)[]): WriteKey[] {
  const out = keys.map(writeKeyOf);
  const seen = new Map<string, string>();
  for (const { key, label } of out) {
    const other = seen.get(key);
    if (other !== undefined && other !== label) throw new RangeError(`one write key is given twice, labelled ${other} and ${label}`);
    seen.set(key, label);
  }
  return out;
}

/** The key an Authorization header carries: the user of a Basic credential; undefined for anything else. */
export function headerKey(authorization: string): string | undefined {
  if (!/^basic /i.test(authorization)) return undefined;
  const decoded = Buffer.from(authorization.slice(6).trim(), "base64").toString("utf8");
  const user = decoded.includes(":") ? decoded.slice(0, decoded.indexOf(":")) : decoded;
  return user || undefined;
}

/** The `writeKey` of a parsed body, if it has one. */
export function bodyKey(body: Record<string, unknown>): string | undefined {
  const k = body["writeKey"];
  return typeof k === "string" && k !== "" ? k : undefined;
}

const digest = (s: string): Buffer => createHash("sha256").update(s).digest();

/**
 * The label of `key` when it is one of `allowed`, else undefined. Compares with every key in constant time (over
 * digests, so lengths do not leak either).
 */
export function labelOf(key: string, allowed: readonly WriteKey[]): string | undefined {
  const d = digest(key);
  let label: string | undefined;
  for (const a of allowed) if (timingSafeEqual(d, digest(a.key)) && label === undefined) label = a.label;
  return label;
}
