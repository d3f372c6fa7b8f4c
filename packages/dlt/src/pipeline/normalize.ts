/**
 * Normalize: extracted items → one NDJSON file per table, streaming. Nested objects flatten into `a__b` columns;
 * lists of objects become child tables `<table>__<field>` linked by `_dlt_parent_id` / `_dlt_list_idx` (and
 * `_dlt_root_id` for merges); every row gets `_dlt_id` and `_dlt_load_id`. Types are inferred and the schema evolves:
 * a new field adds a column, a clashing type goes to a variant column `<name>__v_<type>`.
 */
import { join } from "node:path";
import { LineWriter, readLines } from "./files.js";
import { newRowId } from "./ids.js";
import { NESTING, snakeCase } from "./naming.js";
import { fits, typeOf, type Schema, type TableSchema } from "./schema.js";

type Row = Record<string, unknown>;

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export class Normalizer {
  private readonly writers = new Map<string, LineWriter>();

  constructor(
    private readonly schema: Schema,
    private readonly loadId: string,
    private readonly outDir: string,
  ) {}

  private table(name: string, root: TableSchema, parent?: string): TableSchema {
    let t = this.schema.tables[name];
    if (!t) {
      t = { name, columns: {}, writeDisposition: root.writeDisposition, primaryKey: parent ? [] : root.primaryKey, ...(parent ? { parent } : {}) };
      this.schema.tables[name] = t;
    }
    return t;
  }

  private writer(table: string): LineWriter {
    let w = this.writers.get(table);
    if (!w) {
      w = new LineWriter(join(this.outDir, `${table}.ndjson`));
      this.writers.set(table, w);
    }
    return w;
  }

  /** Puts a scalar into its column, or into a variant column when the type clashes. */
  private set(t: TableSchema, row: Row, col: string, v: unknown): void {
    if (v === null || v === undefined) return;
    const vt = typeOf(v);
    const ct = t.columns[col];
    let target = col;
    if (ct === undefined) t.columns[col] = vt;
    else if (!fits(ct, vt)) {
      target = `${col}${NESTING}v_${vt}`;
      const vct = t.columns[target];
      if (vct === undefined) t.columns[target] = vt;
    }
    row[target] = vt === "json" ? JSON.stringify(v) : typeof v === "bigint" ? Number(v) : v;
  }

  private flatten(obj: Record<string, unknown>, prefix: string, row: Row, t: TableSchema, root: TableSchema, rootId: string): void {
    for (const key of Object.keys(obj)) {
      const v = obj[key];
      const col = prefix ? `${prefix}${NESTING}${snakeCase(key)}` : snakeCase(key);
      if (isPlainObject(v)) {
        this.flatten(v, col, row, t, root, rootId);
      } else if (Array.isArray(v) && v.length > 0 && v.every(isPlainObject)) {
        const childName = `${t.name}${NESTING}${col}`;
        const child = this.table(childName, root, t.name);
        const w = this.writer(childName);
        for (let i = 0; i < v.length; i++) {
          // Its own id first: grandchildren link to it while it is flattened.
          const c: Row = { _dlt_id: newRowId() };
          this.flatten(v[i] as Record<string, unknown>, "", c, child, root, rootId);
          c["_dlt_parent_id"] = row["_dlt_id"];
          c["_dlt_list_idx"] = i;
          c["_dlt_root_id"] = rootId;
          c["_dlt_load_id"] = this.loadId;
          for (const k of ["_dlt_parent_id", "_dlt_root_id", "_dlt_id", "_dlt_load_id"]) child.columns[k] ??= "text";
          child.columns["_dlt_list_idx"] ??= "bigint";
          w.write(JSON.stringify(c));
        }
      } else {
        this.set(t, row, col, v);
      }
    }
  }

  /** Normalizes one root table's extracted file; returns rows written per table (root and children). */
  async table_(root: TableSchema, extracted: string): Promise<void> {
    const w = this.writer(root.name);
    let n = 0;
    for await (const line of readLines(extracted)) {
      if (line === "") continue;
      n++;
      const item = JSON.parse(line) as unknown;
      if (!isPlainObject(item)) throw new Error(`normalize: item ${n} of table ${root.name} is not an object`);
      const id = newRowId();
      const row: Row = { _dlt_id: id, _dlt_load_id: this.loadId };
      this.flatten(item, "", row, root, root, id);
      w.write(JSON.stringify(row));
    }
    root.columns["_dlt_id"] ??= "text";
    root.columns["_dlt_load_id"] ??= "text";
    for (const k of root.primaryKey) {
      if (!(k in root.columns)) throw new Error(`normalize: primary key column ${k} of table ${root.name} never appeared in the data`);
    }
  }

  /** Closes every file; returns the rows written per table. */
  close(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, w] of this.writers) {
      w.close();
      out[name] = w.lines;
    }
    return out;
  }
}
