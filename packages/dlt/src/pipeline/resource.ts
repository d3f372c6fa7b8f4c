/**
 * Named resources: data plus the table it goes to, its write disposition, primary key and nesting level; and how the
 * data of a call becomes resources (`resourcesOf`: data that is not a named resource takes its `RunOptions`).
 */

import type { WriteDisposition } from "./schema.js";

export type { WriteDisposition };

/** An item: a JSON-like object. */
export type Item = Record<string, unknown>;

/** Whether a value is an item: a JSON object (not null, not an array). */
export const isPlainObject = (v: unknown): v is Item => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * What a run accepts: items from an array, iterable, async iterable or generator (or a function returning one).
 * As in dlt, an array yielded is a batch of items, and a value that is not an object is loaded as `{ value: … }`.
 */
export type Data = Iterable<unknown> | AsyncIterable<unknown> | (() => Iterable<unknown> | AsyncIterable<unknown>);

/** How a resource is loaded. */
export interface ResourceOptions {
  /** Table name (default: the function's name). */
  readonly name?: string;
  readonly writeDisposition?: WriteDisposition;
  /** Column(s) identifying a row, required for `merge`. */
  readonly primaryKey?: string | readonly string[];
  /**
   * Levels of nesting turned into columns and nested tables (dlt's `max_table_nesting`); deeper values are stored
   * whole as JSON. 0 keeps every object and list of an item in a JSON column. Default: 1000 (all).
   */
  readonly maxTableNesting?: number;
}

/** How to load data that is not a named resource (a resource's own settings win). */
export interface RunOptions {
  /** Table to load into (default: the name of a named function given as data). */
  readonly tableName?: string;
  /** `append` (default), `replace` (the table and its nested tables) or `merge` (upsert on `primaryKey`). */
  readonly writeDisposition?: WriteDisposition;
  /** Column(s) identifying a row; required for `merge`. */
  readonly primaryKey?: string | readonly string[];
  /** Levels of nesting turned into columns and nested tables (dlt's `max_table_nesting`); deeper values stay JSON. */
  readonly maxTableNesting?: number;
}

const RESOURCE = Symbol.for("dlt-ts.resource");

/** A named resource. */
export interface Resource {
  readonly [RESOURCE]: true;
  readonly name: string;
  readonly writeDisposition: WriteDisposition | undefined;
  readonly primaryKey: readonly string[];
  readonly maxTableNesting: number | undefined;
  readonly data: Data;
}

/** dlt's write dispositions. */
export const WRITE_DISPOSITIONS: readonly WriteDisposition[] = ["append", "replace", "merge"];

/**
 * Refuses a write disposition dlt does not have (from JavaScript, or a cast): stored, it would show in `info` and load
 * as append. @throws naming the value and the choices.
 */
export function checkWriteDisposition(where: string, value: unknown): void {
  if (value === undefined || (WRITE_DISPOSITIONS as readonly unknown[]).includes(value)) return;
  throw new Error(`${where}: writeDisposition ${JSON.stringify(value)} is not one of ${WRITE_DISPOSITIONS.join(", ")}`);
}

/**
 * Declares a resource.
 * @example resource(async function* players() { yield { id: 1 } }, { writeDisposition: "merge", primaryKey: "id" })
 */
export function resource(data: Data, options: ResourceOptions = {}): Resource {
  const name = options.name ?? (typeof data === "function" && data.name ? data.name : undefined);
  if (!name) throw new Error("resource: give it a name (options.name) or pass a named function");
  const pk = options.primaryKey === undefined ? [] : typeof options.primaryKey === "string" ? [options.primaryKey] : [...options.primaryKey];
  checkWriteDisposition(`resource ${name}`, options.writeDisposition);
  const n = options.maxTableNesting;
  if (n !== undefined && !(Number.isInteger(n) && n >= 0))
    throw new Error(`resource ${name}: maxTableNesting must be an integer >= 0, not ${String(n)}`);
  return { [RESOURCE]: true, name, writeDisposition: options.writeDisposition, primaryKey: pk, maxTableNesting: n, data };
}

export function isResource(x: unknown): x is Resource {
  return typeof x === "object" && x !== null && (x as Record<symbol, unknown>)[RESOURCE] === true;
}

/** Iterates any accepted data shape, yielded arrays flattened into their items (dlt's batches). */
export async function* iterate(data: Data): AsyncGenerator<unknown> {
  const source = typeof data === "function" ? data() : data;
  // (Inlined, not `yield*` of a helper: a generator per item costs a third of extract's time.)
  if (Symbol.asyncIterator in (source as object)) {
    for await (const item of source as AsyncIterable<unknown>) {
      if (Array.isArray(item)) for (const x of item) yield x;
      else yield item;
    }
  } else {
    for (const item of source as Iterable<unknown>) {
      if (Array.isArray(item)) for (const x of item) yield x;
      else yield item;
    }
  }
}

/** The resources of a call: named resources as given, anything else as one resource named by `options.tableName`. */
export function resourcesOf(data: Data | Resource | readonly Resource[], options: RunOptions): Resource[] {
  checkWriteDisposition("run", options.writeDisposition);
  if (isResource(data)) return [data];
  if (Array.isArray(data) && data.length > 0 && data.every(isResource)) return [...(data as Resource[])];
  const name = options.tableName ?? (typeof data === "function" && data.name !== "" ? data.name : undefined);
  if (!name) throw new Error("give options.tableName, or pass named resources (resource(data, { name }))");
  const { writeDisposition, primaryKey, maxTableNesting } = options;
  return [
    resource(data as Data, {
      name,
      ...(writeDisposition ? { writeDisposition } : {}),
      ...(primaryKey ? { primaryKey } : {}),
      ...(maxTableNesting !== undefined ? { maxTableNesting } : {}),
    }),
  ];
}
