/**
 * dlt's `snake_case` naming convention (`dlt/common/normalizers/naming/snake_case.py`), for tables and columns:
 * `userName` → `user_name`, `Full Name` → `full_name`, `Name!` → `namex` (a trailing `_` becomes `x`), `+1` → `x1`,
 * `-1` → `_1`, `1st` → `_1st`; leading underscores are kept (`_dlt_id`). A key is a path: `a__b` keeps its `__`
 * separator and each part is normalized. An empty or blank key is named `_empty`.
 */

/** Separator of nested names, as in dlt: `address__city`, `players__games`. */
export const NESTING = "__";

/** The name dlt gives an empty or blank key. */
export const EMPTY_KEY = "_empty";

// dlt's character translation before anything else: + - * @ | → x _ x a l.
const REDUCE: Record<string, string> = { "+": "x", "-": "_", "*": "x", "@": "a", "|": "l" };
// Python's `\d` in a str pattern matches any Unicode decimal digit, hence \p{Nd}.
const NON_ALPHANUMERIC = /[^a-zA-Z\p{Nd}_]+/gu;
const LEADING_DIGITS = /^\p{Nd}/u;
const BREAK_1 = /([^_])([A-Z][a-z]+)/g;
const BREAK_2 = /([a-z0-9])([A-Z])/g;

function identifier(name: string): string {
  let s = name.trim();
  if (s === "") return EMPTY_KEY;
  s = s.replace(/[+\-*@|]/g, (c) => REDUCE[c]!).replace(NON_ALPHANUMERIC, "_");
  s = s.replace(BREAK_1, "$1_$2").replace(BREAK_2, "$1_$2").toLowerCase();
  if (LEADING_DIGITS.test(s)) s = "_" + s;
  // Trailing underscores become `x` (so a name never ends in the path separator), then runs of `_` shrink to one.
  const stripped = s.replace(/_+$/, "");
  s = stripped + "x".repeat(s.length - stripped.length);
  return s.replace(/__+/g, "_");
}

const cache = new Map<string, string>();

/**
 * A source key or table name as dlt names it (`normalize_path`): broken on `__`, each part normalized, joined again.
 * Cached: keys repeat across millions of rows.
 */
export function normalizePath(name: string): string {
  let s = cache.get(name);
  if (s === undefined) {
    const parts = name.split(NESTING).filter((p) => p.trim() !== "");
    s = parts.length === 0 ? EMPTY_KEY : parts.map(identifier).join(NESTING);
    if (cache.size < 10_000) cache.set(name, s);
  }
  return s;
}

/** One identifier as dlt normalizes it (`normalize_identifier`): `__` inside collapses to `_`. Schema and dataset names. */
export function normalizeIdentifier(name: string): string {
  return identifier(name);
}

/** Quotes an identifier for SQL. */
export const q = (id: string): string => `"${id.replaceAll('"', '""')}"`;
