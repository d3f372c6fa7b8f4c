/**
 * Row ids and load ids as dlt makes them. A `_dlt_id` is 10 random bytes in base64 without padding (14 characters,
 * dlt's `generate_dlt_id`), cut from a pooled buffer (millions are made per run).
 */
import { createHash, randomFillSync } from "node:crypto";

const ID_BYTES = 10;
let pool = Buffer.alloc(0);
let pos = 0;

export function newRowId(): string {
  if (pos + ID_BYTES > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(ID_BYTES * 4096));
    pos = 0;
  }
  const id = pool.toString("base64", pos, pos + ID_BYTES).slice(0, -2);
  pos += ID_BYTES;
  return id;
}

/**
 * dlt's `get_nested_row_hash`: the `_dlt_id` of a nested row derived from its parent's id, table and list index
 * (SHAKE-128, 10 bytes, base64 without padding). Used where the parent's id is itself not random (given by the data):
 * it costs ~2 µs a row, and for children of a random id a random id is just as unique and unpredictable.
 */
export function nestedRowId(parentId: string, table: string, listIdx: number): string {
  return createHash("shake128", { outputLength: ID_BYTES }).update(`${parentId}_${table}_${listIdx}`).digest("base64").slice(0, -2);
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
