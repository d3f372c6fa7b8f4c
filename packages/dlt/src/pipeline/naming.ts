const cache = new Map<string, string>();

/** dlt's snake_case naming of tables and columns: `userName` → `user_name`, `Full Name!` → `full_name`. */
export function snakeCase(name: string): string {
  let s = cache.get(name);
  if (s === undefined) {
    s = convert(name);
    // Keys repeat across millions of rows; a bounded cache keeps the regexes off the hot path.
    if (cache.size < 10_000) cache.set(name, s);
  }
  return s;
}

function convert(name: string): string {
  let s = name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, "_")
    .replace(/_+/g, "_")
    .replace(/^_+|_+$/g, "");
  if (s === "") s = "_";
  if (/^[0-9]/.test(s)) s = "_" + s;
  return s;
}

/** Separator of nested names, as in dlt: `address__city`, `players__games`. */
export const NESTING = "__";

/** Quotes an identifier for SQL. */
export const q = (id: string): string => `"${id.replaceAll('"', '""')}"`;
