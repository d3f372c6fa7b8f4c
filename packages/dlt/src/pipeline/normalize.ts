/**
 * Normalize: extracted items → one CSV file per table, streaming line by line. Nested objects flatten into
 * `a__b` columns; lists of objects become child tables `<table>__<field>` linked by `_dlt_parent_id` /
 * `_dlt_list_idx` (and `_dlt_root_id`, which merge uses); every row gets a `_dlt_id` (`_dlt_load_id` is added by
 * the loader: it is one constant per package). Types are inferred and the schema evolves: a new field adds a
 * column, a value whose type clashes with its column goes to a variant column `<name>__v_<type>`.
 *
 * Why CSV: DuckDB parses it natively (in parallel, with the types given), faster than NDJSON, and writing it from
 * JS is cheaper than `JSON.stringify` of a row object. A file's fields follow its own column list (columns only
 * ever get appended), so rows written before a column appeared are shorter: the loader reads with `null_padding`.
 */
import { join } from "node:path";
import { forEachLine, LineWriter } from "./files.js";
import { newRowId } from "./ids.js";
import { NESTING, snakeCase } from "./naming.js";
import type { TableFile } from "./package.js";
import type { Progress } from "./progress.js";
import { isPlainObject } from "./resource.js";
import { fits, typeOf, type ColumnType, type Schema, type TableSchema, type WriteDisposition } from "./schema.js";

/** The `_dlt_*` fields at the start of every row of a root / child table file. */
const ROOT_FIELDS = ["_dlt_id"] as const;
const CHILD_FIELDS = ["_dlt_id", "_dlt_parent_id", "_dlt_list_idx", "_dlt_root_id"] as const;
const DLT_COLUMNS: Record<string, ColumnType> = { _dlt_id: "text", _dlt_parent_id: "text", _dlt_list_idx: "bigint", _dlt_root_id: "text", _dlt_load_id: "text" };

type Obj = Record<string, unknown>;

function allObjects(list: readonly unknown[]): boolean {
  for (const v of list) if (!isPlainObject(v)) return false;
  return true;
}

/** A CSV field: strings always quoted (so `""` is an empty string and an empty field is NULL). */
function quote(s: string): string {
  return s.includes('"') ? `"${s.replaceAll('"', '""')}"` : `"${s}"`;
}

function encode(ct: ColumnType, v: unknown): string {
  switch (ct) {
    case "json":
      return quote(JSON.stringify(v));
    case "text":
    case "timestamp":
      return quote(v as string);
    case "bool":
      return v ? "true" : "false";
    default:
      return String(v);
  }
}

/** One table's output file while normalizing. */
class TableOut {
  readonly index = new Map<string, number>();
  readonly types: ColumnType[] = [];
  readonly columns: string[] = [];
  readonly writer: LineWriter;
  /** Column names by (prefix, key): built once, not concatenated per row. */
  private readonly names = new Map<string, Map<string, string>>();

  constructor(
    readonly table: TableSchema,
    readonly path: string,
    readonly fixed: readonly string[],
  ) {
    this.writer = new LineWriter(path);
    for (const c of fixed) this.addField(c, DLT_COLUMNS[c]!);
    // Columns known from earlier runs keep their types (and so their variants).
    for (const [c, t] of Object.entries(table.columns)) if (!this.index.has(c) && c !== "_dlt_load_id") this.addField(c, t);
  }

  private addField(c: string, t: ColumnType): number {
    const i = this.columns.length;
    this.index.set(c, i);
    this.columns.push(c);
    this.types.push(t);
    return i;
  }

  name(prefix: string, key: string): string {
    let m = this.names.get(prefix);
    if (!m) this.names.set(prefix, (m = new Map()));
    let n = m.get(key);
    if (n === undefined) {
      n = prefix === "" ? snakeCase(key) : `${prefix}${NESTING}${snakeCase(key)}`;
      m.set(key, n);
    }
    return n;
  }

  /** The field a value of type `vt` goes to: its column, a new column, or a variant column. */
  field(col: string, vt: ColumnType): number {
    const i = this.index.get(col);
    if (i === undefined) {
      this.table.columns[col] = vt;
      return this.addField(col, vt);
    }
    if (fits(this.types[i]!, vt)) return i;
    const variant = `${col}${NESTING}v_${vt}`;
    const j = this.index.get(variant);
    if (j !== undefined) return j;
    this.table.columns[variant] = vt;
    return this.addField(variant, vt);
  }

  file(): TableFile {
    return { path: this.path, columns: [...this.columns] };
  }
}

/** Normalizes the extracted files of one package against (and evolving) `schema`. */
export class Normalizer {
  private readonly outs = new Map<string, TableOut>();

  constructor(
    private readonly schema: Schema,
    private readonly outDir: string,
    private readonly progress: Progress,
  ) {}

  private out(name: string, make: () => TableSchema, fixed: readonly string[]): TableOut {
    let o = this.outs.get(name);
    if (!o) {
      const t = (this.schema.tables[name] ??= make());
      o = new TableOut(t, join(this.outDir, `${name}.csv`), fixed);
      this.outs.set(name, o);
    }
    return o;
  }

  private child(parent: TableOut, col: string, disposition: WriteDisposition): TableOut {
    const name = `${parent.table.name}${NESTING}${col}`;
    return this.out(name, () => ({ name, columns: {}, writeDisposition: disposition, primaryKey: [], parent: parent.table.name }), CHILD_FIELDS);
  }

  private flatten(obj: Obj, prefix: string, cells: string[], out: TableOut, rowId: string, rootId: string, wd: WriteDisposition): void {
    for (const key in obj) {
      const v = obj[key];
      if (v === null || v === undefined) continue;
      const col = out.name(prefix, key);
      if (typeof v === "object") {
        if (!Array.isArray(v)) {
          this.flatten(v as Obj, col, cells, out, rowId, rootId, wd);
          continue;
        }
        if (v.length === 0) continue; // nothing to store, and no type to infer
        if (allObjects(v)) {
          const child = this.child(out, col, wd);
          for (let i = 0; i < v.length; i++) {
            const id = newRowId();
            // Ids are base64url: safe unquoted.
            const c: string[] = [id, rowId, String(i), rootId];
            this.flatten(v[i] as Obj, "", c, child, id, rootId, wd);
            child.writer.write(c.join(","));
          }
          continue;
        }
      }
      const vt = typeOf(v);
      const i = out.field(col, vt);
      cells[i] = encode(out.types[i]!, v);
    }
  }

  /**
   * Normalizes one extracted file into `root` (and its child tables).
   * @throws on a line that is not a JSON object, or a row without a value for a primary key column.
   */
  root(root: TableSchema, extracted: string): void {
    const out = this.out(root.name, () => root, ROOT_FIELDS);
    const wd = root.writeDisposition;
    const pk = root.primaryKey;
    forEachLine(extracted, (line, n) => {
      let item: unknown;
      try {
        item = JSON.parse(line);
      } catch (e) {
        throw new Error(`normalize: ${extracted} line ${n} is not JSON (${(e as Error).message})`);
      }
      if (!isPlainObject(item)) throw new Error(`normalize: item ${n} of table ${root.name} is not an object`);
      const id = newRowId();
      const cells: string[] = [id];
      this.flatten(item, "", cells, out, id, id, wd);
      for (const k of pk) {
        const i = out.index.get(k);
        if (i === undefined || cells[i] === undefined) {
          throw new Error(`normalize: item ${n} of table ${root.name} has no value for its primary key column ${k}`);
        }
      }
      out.writer.write(cells.join(","));
      this.progress.tick();
    });
  }

  /** Closes every file; returns each table's file and row count. The `_dlt_*` columns go last in the schema. */
  close(): { files: Record<string, TableFile>; rows: Record<string, number> } {
    const files: Record<string, TableFile> = {};
    const rows: Record<string, number> = {};
    for (const [name, o] of this.outs) {
      o.writer.close();
      const cols = o.table.columns;
      for (const c of [...o.fixed, "_dlt_load_id"]) cols[c] ??= DLT_COLUMNS[c]!;
      files[name] = o.file();
      rows[name] = o.writer.lines;
    }
    this.progress.done();
    return { files, rows };
  }
}
