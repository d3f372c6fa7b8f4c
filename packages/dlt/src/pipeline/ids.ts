/** `_dlt_id`s: 16 random base64url characters (96 bits), cut from a pooled buffer (millions are made per run). */
import { randomFillSync } from "node:crypto";

let pool = Buffer.alloc(0);
let pos = 0;

export function newRowId(): string {
  if (pos + 12 > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(12 * 4096));
    pos = 0;
  }
  const id = pool.toString("base64url", pos, pos + 12);
  pos += 12;
  return id;
}

/** A load id as dlt makes them: seconds since the epoch with a fraction, as text. */
export function newLoadId(): string {
  return (Date.now() / 1000).toFixed(6);
}
