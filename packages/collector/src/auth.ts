/**
 * Write keys, as Segment takes them: the key as the Basic-auth user (`base64(key + ":")`), or `writeKey` in the body
 * of a request that has no Authorization header. The header is checked before any byte of the body is read.
 */
import { timingSafeEqual, createHash } from "node:crypto";

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

/** Compares in constant time (over digests, so lengths do not leak either). */
export function keyAllowed(key: string, allowed: readonly string[]): boolean {
  const d = digest(key);
  let ok = false;
  for (const a of allowed) ok = timingSafeEqual(d, digest(a)) || ok;
  return ok;
}
