/**
 * Values → CSV fields, with dlt's type inference and coercion (`dlt/common/data_types/type_helpers.py`,
 * `dlt/normalize/items_normalizers/jsonl.py`). A value's own type is its JSON type (`text`, `bigint`, `double`,
 * `bool`, `json`); a new column takes that type, except that an ISO 8601 date-time string makes a `timestamp` column
 * (dlt's `iso_timestamp` detection). A value going to an existing column of another type is coerced where dlt
 * coerces it (`"42"` into a `bigint` column, `7` into a `text` column as `"7"`, `1714557600` into a `timestamp`
 * column); where dlt cannot, it goes to the variant column `<column>__v_<its own type>`.
 */
import type { DataType } from "./schema.js";

/** The JSON type of a value (dlt's `py_type_to_sc_type` of the parsed value); never null. */
export type ValueType = "text" | "bigint" | "double" | "bool" | "json";

/**
 * How extract writes a `BigInt` item value to JSON, and normalize reads it back: a string of its digits after a
 * private-use character, as dlt marks big integers in its typed JSON. So an id beyond 2^53 loads exact, as bigint.
 */
export const BIGINT_MARK = "\uf02c";
const BIGINT_TEXT = /^-?\d+$/;

/** The value a line of extracted JSON holds: a marked big integer as a `BigInt`, anything else as it is. */
export function unmark(v: unknown): unknown {
  if (typeof v === "string" && v.charCodeAt(0) === 0xf02c && BIGINT_TEXT.test(v.slice(1))) return BigInt(v.slice(1));
  return v;
}

export function valueType(v: unknown): ValueType {
  switch (typeof v) {
    case "string":
      return "text";
    case "number":
      // JSON does not keep 1.0 apart from 1: an integral number is a bigint (where it is exact), as dlt sees `1`.
      return Number.isSafeInteger(v) ? "bigint" : "double";
    case "boolean":
      return "bool";
    case "bigint":
      return "bigint";
    default:
      return "json";
  }
}

const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Whether a string is an ISO 8601 date-time (a cheap shape check first: most strings are not dates). */
export function isIsoTimestamp(s: string): boolean {
  return s.length >= 16 && s.charCodeAt(4) === 45 && ISO_DATETIME.test(s) && !Number.isNaN(Date.parse(s));
}

/** The type of a new column for `v` (dlt's `_infer_column_type` with the `iso_timestamp` detection). */
export function inferType(v: unknown, vt: ValueType): DataType {
  return vt === "text" && isIsoTimestamp(v as string) ? "timestamp" : vt;
}

/** A CSV field: strings always quoted (so `""` is an empty string and an empty field is NULL). */
export function quote(s: string): string {
  return s.includes('"') ? `"${s.replaceAll('"', '""')}"` : `"${s}"`;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const DECIMAL_INT = /^[+-]?\d+(_\d+)*$/;
const DECIMAL_FLOAT = /^[+-]?(\d+(_\d+)*(\.(\d+(_\d+)*)?)?|\.\d+(_\d+)*)([eE][+-]?\d+(_\d+)*)?$/;
const TRUE = new Set(["yes", "true", "t", "y", "1"]);
const FALSE = new Set(["no", "false", "f", "n", "0"]);

function int64(n: bigint): string | undefined {
  return n >= INT64_MIN && n <= INT64_MAX ? n.toString() : undefined;
}

/** dlt's `_text_to_bigint`: trimmed decimal digits (Python's `int()`, underscores allowed) or `0x` hex. */
function textToBigint(s: string): string | undefined {
  const t = s.trim();
  if (t.startsWith("0x")) return /^0x[0-9a-fA-F]+$/.test(t) ? int64(BigInt(t)) : undefined;
  return DECIMAL_INT.test(t) ? int64(BigInt(t.replaceAll("_", ""))) : undefined;
}

/** dlt's `_text_to_double`: a trimmed decimal float or `0x` hex (not inf/nan, which we do not store). */
function textToDouble(s: string): string | undefined {
  const t = s.trim();
  if (t.startsWith("0x")) return /^0x[0-9a-fA-F]+$/.test(t) ? String(Number(BigInt(t))) : undefined;
  return DECIMAL_FLOAT.test(t) ? String(Number(t.replaceAll("_", ""))) : undefined;
}

/** Seconds since the epoch as an ISO string with microseconds (pendulum's `from_timestamp`), or undefined out of range. */
function epochToIso(seconds: number): string | undefined {
  const whole = Math.floor(seconds);
  const micros = Math.round((seconds - whole) * 1e6);
  const d = new Date(whole * 1000);
  if (Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1 || d.getUTCFullYear() > 9999) return undefined;
  return `${d.toISOString().slice(0, 19)}.${String(micros).padStart(6, "0")}Z`;
}

/**
 * dlt's `ensure_pendulum_datetime_non_utc` on a string: an ISO date-time or date as it is (DuckDB casts it; a naive
 * one is UTC, as the loader's session time zone), or a number of seconds since the epoch.
 */
function textToTimestamp(s: string): string | undefined {
  if (isIsoTimestamp(s) || (ISO_DATE.test(s) && !Number.isNaN(Date.parse(s)))) return quote(s);
  const t = s.trim();
  if (!DECIMAL_FLOAT.test(t)) return undefined;
  const iso = epochToIso(Number(t.replaceAll("_", "")));
  return iso === undefined ? undefined : quote(iso);
}

/**
 * The CSV field of `v` (of type `vt`) in a column of type `to`, coerced as dlt coerces it; `undefined` where dlt
 * cannot (the value then goes to a variant column). Read by DuckDB with the column's type.
 */
export function field(to: DataType | undefined, vt: ValueType, v: unknown): string | undefined {
  switch (to) {
    case "text":
      if (vt === "text") return quote(v as string);
      if (vt === "json") return quote(JSON.stringify(v));
      if (vt === "bool") return v ? '"True"' : '"False"'; // Python's str(True)
      return quote(String(v));
    case "bigint":
      if (vt === "bigint") return typeof v === "bigint" ? int64(v) : String(v);
      if (vt === "text") return textToBigint(v as string);
      if (vt === "double") return Number.isInteger(v) ? int64(BigInt(v as number)) : undefined;
      return undefined;
    case "double":
      if (vt === "double" || vt === "bigint") return String(v);
      if (vt === "text") return textToDouble(v as string);
      return undefined;
    case "bool":
      if (vt === "bool") return v ? "true" : "false";
      if (vt === "bigint" || vt === "double") return Number(v) !== 0 ? "true" : "false";
      if (vt === "text") {
        const s = (v as string).toLowerCase();
        return TRUE.has(s) ? "true" : FALSE.has(s) ? "false" : undefined;
      }
      return undefined;
    case "timestamp":
      if (vt === "text") return textToTimestamp(v as string);
      if (vt === "bigint" || vt === "double") {
        const iso = epochToIso(Number(v));
        return iso === undefined ? undefined : quote(iso);
      }
      return undefined;
    case "json":
      if (vt === "json") return quote(JSON.stringify(v));
      if (vt === "text") {
        try {
          return quote(JSON.stringify(JSON.parse(v as string)));
        } catch {
          return undefined;
        }
      }
      return undefined;
    default:
      // A type we do not write (a date, decimal … column of a schema restored from dlt): the value takes a variant.
      return undefined;
  }
}

/** A short, safe rendering of a value for an error message. */
export function preview(v: unknown): string {
  const s = typeof v === "bigint" ? v.toString() : (JSON.stringify(v) ?? String(v));
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
