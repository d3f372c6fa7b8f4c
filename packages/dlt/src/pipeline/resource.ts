/** Named resources: data plus the table it goes to, its write disposition and primary key. */

import type { WriteDisposition } from "./schema.js";

export type { WriteDisposition };

/** Items a run accepts: JSON-like objects, from arrays, iterables, async iterables or generators. */
export type Item = Record<string, unknown>;

/** Whether a value is an item: a JSON object (not null, not an array). */
export const isPlainObject = (v: unknown): v is Item => typeof v === "object" && v !== null && !Array.isArray(v);
export type Data = Iterable<Item> | AsyncIterable<Item> | (() => Iterable<Item> | AsyncIterable<Item>);

/** How a resource is loaded. */
export interface ResourceOptions {
  /** Table name (default: the function's name). */
  readonly name?: string;
  readonly writeDisposition?: WriteDisposition;
  /** Column(s) identifying a row, required for `merge`. */
  readonly primaryKey?: string | readonly string[];
}

const RESOURCE = Symbol.for("dlt-ts.resource");

/** A named resource. */
export interface Resource {
  readonly [RESOURCE]: true;
  readonly name: string;
  readonly writeDisposition: WriteDisposition | undefined;
  readonly primaryKey: readonly string[];
  readonly data: Data;
}

/**
 * Declares a resource.
 * @example resource(async function* players() { yield { id: 1 } }, { writeDisposition: "merge", primaryKey: "id" })
 */
export function resource(data: Data, options: ResourceOptions = {}): Resource {
  const name = options.name ?? (typeof data === "function" && data.name ? data.name : undefined);
  if (!name) throw new Error("resource: give it a name (options.name) or pass a named function");
  const pk = options.primaryKey === undefined ? [] : typeof options.primaryKey === "string" ? [options.primaryKey] : [...options.primaryKey];
  return { [RESOURCE]: true, name, writeDisposition: options.writeDisposition, primaryKey: pk, data };
}

export function isResource(x: unknown): x is Resource {
  return typeof x === "object" && x !== null && (x as Record<symbol, unknown>)[RESOURCE] === true;
}

/** Iterates any accepted data shape. */
export async function* iterate(data: Data): AsyncGenerator<Item> {
  const source = typeof data === "function" ? data() : data;
  if (Symbol.asyncIterator in (source as object)) {
    for await (const item of source as AsyncIterable<Item>) yield item;
  } else {
    for (const item of source as Iterable<Item>) yield item;
  }
}
