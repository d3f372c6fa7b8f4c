/**
 * A schema as a file people read and write: dlt's `.schema.json` / `.schema.yaml` (`dlt schema <file>`), and the
 * export `dlt schema` and `dlt pipeline <name> schema` print (dlt's `to_pretty_json` / `to_pretty_yaml` with
 * `remove_defaults`: table and column names, which are their keys already, left out).
 */
import { extname } from "node:path";
import { readBounded } from "@dlt-ts/telemetry";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { asStoredSchema, type StoredSchema } from "./schema.js";

/** The formats a schema is printed in. */
export type SchemaExportFormat = "json" | "yaml";

/** A schema file is a few KB to a few MB; one larger than this is not read. */
const MAX_SCHEMA_BYTES = 64 << 20;

/**
 * Reads and checks a schema file: JSON when its name ends in `.json`, else YAML (as dlt decides). Bounded: a FIFO, a
 * device or a file over 64 MB is refused at once, and YAML aliases are capped (no "billion laughs").
 * @throws an error naming the file (and the line, or the field that is wrong).
 */
export function readSchemaFile(path: string): StoredSchema {
  const read = readBounded(path, { maxBytes: MAX_SCHEMA_BYTES, followSymlinks: true });
  if (read.kind === "absent") throw new Error(`schema file ${path} does not exist`);
  if (read.kind === "unreadable") throw new Error(`schema file ${path} ${read.reason}`);
  let value: unknown;
  if (extname(path).toLowerCase() === ".json") {
    try {
      value = JSON.parse(read.text) as unknown;
    } catch (e) {
      throw new Error(`schema file ${path} is not valid JSON: ${(e as Error).message}`);
    }
  } else {
    try {
      // yaml's own limit on alias expansion (maxAliasCount) keeps a hostile file's size bounded.
      value = parseYaml(read.text, { maxAliasCount: 100, prettyErrors: true }) as unknown;
    } catch (e) {
      throw new Error(`schema file ${path} is not valid YAML: ${(e as Error).message.split("\n")[0]!.replace(/:$/, "")}`);
    }
  }
  return asStoredSchema(value, `schema file ${path}`);
}

/** The schema as dlt prints it: its stored form without the names of tables and columns (their keys say them). */
export function exportSchema(schema: StoredSchema, format: SchemaExportFormat): string {
  const out = structuredClone(schema);
  for (const t of Object.values(out.tables) as Record<string, unknown>[]) {
    delete t["name"];
    for (const c of Object.values(t["columns"] as Record<string, Record<string, unknown>>)) delete c["name"];
  }
  delete out["imported_version_hash"];
  if (format === "json") return JSON.stringify(out, null, 2) + "\n";
  // PyYAML's block style as dlt dumps it: sequences not indented under their key, keys in their order.
  return stringifyYaml(out, { indentSeq: false, lineWidth: 0 });
}
