/**
 * The schema a pipeline infers and keeps between runs: tables, their columns and types, in order. A new field adds
 * a column; a value whose type clashes with its column goes to a variant column `<name>__v_<type>`.
 */
export type WriteDisposition = "append" | "replace" | "merge";

export type ColumnType = "bigint" | "double" | "bool" | "text" | "timestamp" | "json";

export interface TableSchema {
  name: string;
  /** Column name → type, in the order columns appeared. */
  columns: Record<string, ColumnType>;
  writeDisposition: WriteDisposition;
  primaryKey: string[];
  /** Parent table for child tables (`<table>__<field>`). */
  parent?: string;
}

export interface Schema {
  version: 1;
  tables: Record<string, TableSchema>;
}

export const DUCKDB_TYPES: Record<ColumnType, string> = {
  bigint: "BIGINT",
  double: "DOUBLE",
  bool: "BOOLEAN",
  text: "VARCHAR",
  timestamp: "TIMESTAMPTZ",
  json: "JSON",
};

const ISO = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** The type of a scalar value (objects and arrays are handled by the normalizer). */
export function typeOf(v: unknown): ColumnType {
  switch (typeof v) {
    case "boolean":
      return "bool";
    case "number":
      return Number.isInteger(v) && Number.isSafeInteger(v) ? "bigint" : "double";
    case "bigint":
      return "bigint";
    case "string":
      // A cheap shape check first: most strings are not dates.
      return v.length >= 10 && v.charCodeAt(4) === 45 && ISO.test(v) && !Number.isNaN(Date.parse(v)) ? "timestamp" : "text";
    default:
      return "json";
  }
}

/** Whether a value of type `v` can be stored in a column of type `c` without a variant. */
export function fits(c: ColumnType, v: ColumnType): boolean {
  return c === v || (c === "double" && v === "bigint") || c === "json" || (c === "text" && v === "timestamp");
}
