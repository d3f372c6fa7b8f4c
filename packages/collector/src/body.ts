/**
 * Reading a request body with hard limits: at most `maxBytes` on the wire and, for `Content-Encoding: gzip`, at most
 * `maxBytes` once inflated (a gzip bomb is refused, not buffered).
 */
import type { IncomingMessage } from "node:http";
import { gunzip } from "node:zlib";

export type BodyResult = { readonly ok: true; readonly body: Buffer } | { readonly ok: false; readonly status: 400 | 413 | 415; readonly reason: string };

export function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > maxBytes) {
      req.resume();
      resolve({ ok: false, status: 413, reason: `request body is ${declared} bytes, over the ${maxBytes}-byte limit` });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on("data", (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > maxBytes) {
        done = true;
        req.resume();
        resolve({ ok: false, status: 413, reason: `request body is over the ${maxBytes}-byte limit` });
        return;
      }
      chunks.push(c);
    });
    req.on("error", () => {
      if (!done) {
        done = true;
        resolve({ ok: false, status: 400, reason: "request body could not be read" });
      }
    });
    req.on("end", () => {
      if (done) return;
      done = true;
      const raw = Buffer.concat(chunks, size);
      const enc = (req.headers["content-encoding"] ?? "identity").toLowerCase();
      if (enc === "identity") return resolve({ ok: true, body: raw });
      if (enc !== "gzip") return resolve({ ok: false, status: 415, reason: `Content-Encoding ${enc} is not supported (gzip is)` });
      gunzip(raw, { maxOutputLength: maxBytes }, (err, out) => {
        if (!err) return resolve({ ok: true, body: out });
        const tooBig = (err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE" || /maxOutputLength|buffer/i.test(err.message);
        resolve(tooBig
          ? { ok: false, status: 413, reason: `inflated body is over the ${maxBytes}-byte limit` }
          : { ok: false, status: 400, reason: "body is not valid gzip" });
      });
    });
  });
}
