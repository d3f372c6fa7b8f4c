/**
 * Reading a request body within hard limits: at most `maxBytes` on the wire and, for `Content-Encoding: gzip`, at
 * most `maxBytes` once inflated (a gzip bomb is refused, not buffered); every byte held counts against the
 * collector-wide in-flight budget (`Hold`), and a body that would go past it is refused with 503 + Retry-After.
 * A declared `Content-Length` over the limit is refused before the first byte is read; below it, the budget is charged
 * for what has arrived (the buffer grows by doubling, up to the declared size), not for what is announced: 33
 * connections announcing 500 KB each and sending a byte a second held the whole 16 MB budget before (issue 27).
 */
import type { IncomingMessage } from "node:http";
import { gunzip } from "node:zlib";
import type { Hold } from "./limits.js";
import { refuse, type Refusal } from "./refusal.js";

export type BodyResult = { readonly ok: true; readonly body: Buffer } | Refusal;

const busy = (): Refusal => refuse(503, "too many request bodies in flight: retry later", { retryAfter: 1, close: true });

/**
 * Reads the body of `req` into `hold`. `beforeRead` runs once the request may send its body (it answers
 * `Expect: 100-continue`).
 */
export function readBody(req: IncomingMessage, maxBytes: number, hold: Hold, beforeRead?: () => void): Promise<BodyResult> {
  const header = req.headers["content-length"];
  const declared = header === undefined ? undefined : Number(header);
  if (declared !== undefined && declared > maxBytes) {
    return Promise.resolve(refuse(413, `request body is ${declared} bytes, over the ${maxBytes}-byte limit`, { close: true }));
  }
  // One buffer per body, grown by doubling up to the declared size: a small body trickled a byte at a time costs one
  // allocation, not one small Buffer per read, and a large one only what has arrived (at most twice it).
  const limit = declared !== undefined && Number.isInteger(declared) ? declared : maxBytes;
  let capacity = Math.min(16 * 1024, limit);
  if (!hold.grow(capacity)) return Promise.resolve(busy());
  beforeRead?.();
  return new Promise((resolve) => {
    let buffer = Buffer.allocUnsafe(capacity);
    let size = 0;
    let done = false;
    let ended = false;
    const finish = (r: BodyResult): void => {
      if (done) return;
      done = true;
      req.off("data", onData);
      resolve(r);
    };
    const onData = (c: Buffer): void => {
      if (size + c.length > capacity) {
        if (size + c.length > maxBytes) return finish(refuse(413, `request body is over the ${maxBytes}-byte limit`, { close: true }));
        const next = Math.min(Math.max(limit, size + c.length), maxBytes, Math.max(capacity * 2, size + c.length));
        if (!hold.grow(next - capacity)) return finish(busy());
        buffer = Buffer.concat([buffer.subarray(0, size)], next);
        capacity = next;
      }
      c.copy(buffer, size);
      size += c.length;
    };
    req.on("data", onData);
    req.on("error", () => finish(refuse(400, "request body could not be read")));
    req.on("close", () => {
      if (!ended) finish(refuse(400, "request closed before its body was complete"));
    });
    req.on("end", () => {
      ended = true;
      if (done) return;
      const raw = buffer.subarray(0, size);
      const enc = (req.headers["content-encoding"] ?? "identity").toLowerCase();
      if (enc === "identity") return finish({ ok: true, body: raw });
      if (enc !== "gzip") return finish(refuse(415, `Content-Encoding ${enc} is not supported (gzip is)`));
      gunzip(raw, { maxOutputLength: maxBytes }, (err, out) => {
        if (!err) return finish(hold.grow(out.length) ? { ok: true, body: out } : busy());
        const tooBig = (err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE" || /maxOutputLength|buffer/i.test(err.message);
        finish(tooBig ? refuse(413, `inflated body is over the ${maxBytes}-byte limit`) : refuse(400, "body is not valid gzip"));
      });
    });
  });
}
