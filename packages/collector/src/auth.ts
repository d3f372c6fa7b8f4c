/** Write keys: Basic auth with the key as user (Segment's way) or `writeKey` in the body. */
import { timingSafeEqual, createHash } from "node:crypto";

/** The key the request presents, from the Authorization header or the body. */
export function presentedKey(authorization: string | undefined, body: unknown): string | undefined {
  if (authorization && /^basic /i.test(authorization)) {
    const decoded = Buffer.from(authorization.slice(6).trim(), "base64").toString("utf8");
    const user = decoded.includes(":") ? decoded.slice(0, decoded.indexOf(":")) : decoded;
    if (user) return user;
  }
  if (typeof body === "object" && body !== null && typeof (body as { writeKey?: unknown }).writeKey === "string") {
    return (body as { writeKey: string }).writeKey;
  }
  return undefined;
}

const digest = (s: string): Buffer => createHash("sha256").update(s).digest();

/** Compares in constant time (over digests, so lengths do not leak either). */
export function keyAllowed(key: string, allowed: readonly string[]): boolean {
  const d = digest(key);
  let ok = false;
  for (const a of allowed) ok = timingSafeEqual(d, digest(a)) || ok;
  return ok;
}
