/** Content hashes as dlt computes them: SHA3-256 over compact JSON with sorted keys (orjson's `OPT_SORT_KEYS`). */
import { createHash, type Hash } from "node:crypto";

function sortedKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedKeys);
  if (v === null || typeof v !== "object") return v;
  const o = v as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(o)
      .sort()
      .map((k) => [k, sortedKeys(o[k])]),
  );
}

/** A SHA3-256 hash started with `value` as sorted-key compact JSON (more may be fed before `digest`). */
export function contentHash(value: unknown): Hash {
  return createHash("sha3-256").update(JSON.stringify(sortedKeys(value)));
}
