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

let lastLoadId = 0;

/**
 * A load id as dlt makes them: seconds since the epoch with six decimals, as text. Microsecond clock, and strictly
 * increasing within a process, so two quick runs never share a package folder.
 */
export function newLoadId(): string {
  let us = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  if (us <= lastLoadId) us = lastLoadId + 1;
  lastLoadId = us;
  return (us / 1e6).toFixed(6);
}
