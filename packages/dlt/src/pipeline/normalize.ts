/**
 * Normalize: extracted items → one CSV file per table, streaming line by line, as dlt's relational normalizer
 * (`dlt/common/normalizers/json/relational.py`) shapes them:
 * - nested objects flatten into `a__b` columns (an object's own values first, then its nested objects, last first:
 *   dlt walks them with a stack, and the column order follows);
 * - a list becomes the nested table `<table>__<field>`: objects as rows, scalars as rows with a `value` column, a list
 *   in a list as a row whose `list` field is again a nested table (`…__list`); an empty list adds no row; every
 *   nested row has `_dlt_parent_id`, `_dlt_list_idx` and `_dlt_id`, and `_dlt_root_id` when its root table needs it
 *   (merge: see `requiresRootKey`);
 * - root rows get `_dlt_id` (kept when the item has one) and `_dlt_load_id` (a constant the loader adds);
 * - beyond `max_nesting` levels (objects and lists both count) a value stays whole in a `json` column;
 * - types are inferred and coerced as dlt does (`coerce.ts`); a value that cannot be coerced goes to a variant
 *   column `<name>__v_<type>`. New columns are appended; a table's columns keep dlt's order.
 *
 * Why CSV: DuckDB parses it natively (in parallel, with the types given), faster than NDJSON, and writing it from
 * JS is cheaper than `JSON.stringify` of a row object. A file's fields follow its own column list (columns only
 * ever get appended), so rows written before a column appeared are shorter: the loader reads with `null_padding`.
 */
import { join } from "node:path";
import { field, inferType, preview, unmark, valueType } from "./coerce.js";
import { forEachLine, LineWriter } from "./files.js";
import { nestedRowId, newRowId } from "./ids.js";
import { NESTING, normalizePath } from "./naming.js";
import type { TableFile } from "./package.js";
import type { Progress } from "./progress.js";
import { isPlainObject } from "./resource.js";
import { C, dltColumn, maxNesting, primaryKey, requiresRootKey, type DataType, type StoredSchema, type TableSchema } from "./schema.js";

type Obj = Record<string, unknown>;

/** The identity of a row: its id (and its CSV field), whether it is random, and its root row's id field. */
interface RowIds {
  readonly id: string;
  readonly field: string;
  /** The id is given by the data or derived from one that is: its nested rows get dlt's derived ids too. */
  readonly fixed: boolean;
  readonly rootField: string;
}

// Generated ids are base64: safe unquoted in CSV. One given by the data is quoted like any text.
const SAFE_ID = /^[A-Za-z0-9+/]+$/;
const idField = (id: string): string => (SAFE_ID.test(id) ? id : `"${id.replaceAll('"', '""')}"`);
const DLT_COLUMNS = new Set<string>(Object.values(C));

/** One table's output file while normalizing. */
class TableOut {
  readonly index = new Map<string, number>();
  readonly types: (DataType | undefined)[] = [];
  readonly columns: string[] = [];
  readonly writer: LineWriter;
  /** Fields of the `_dlt_*` columns (-1 until the table's first row adds them). */
  fId = -1;
  fParent = -1;
  fIdx = -1;
  fRoot = -1;
  private started = false;
  /** Column names by (prefix, key): built once, not concatenated per row. */
  private readonly names = new Map<string, Map<string, string>>();

  /** Primary key columns (root tables): every row must have a value for them. */
  readonly pk: readonly string[];

  constructor(
    readonly table: TableSchema,
    readonly path: string,
    readonly nested: boolean,
    /** Nested rows carry `_dlt_root_id`. */
    readonly withRootId: boolean,
  ) {
    this.writer = new LineWriter(path);
    this.pk = nested ? [] : primaryKey(table);
    // Columns known from earlier runs keep their types (and so their variants). `_dlt_load_id` is the loader's.
    for (const c of Object.values(table.columns)) if (c.name !== C.loadId && c.data_type !== undefined) this.addField(c.name, c.data_type);
  }

  private addField(c: string, t: DataType): number {
    const i = this.columns.length;
    this.index.set(c, i);
    this.columns.push(c);
    this.types.push(t);
    if (c === C.id) this.fId = i;
    else if (c === C.parentId) this.fParent = i;
    else if (c === C.listIdx) this.fIdx = i;
    else if (c === C.rootId) this.fRoot = i;
    return i;
  }

  name(prefix: string, key: string): string {
    let m = this.names.get(prefix);
    if (!m) this.names.set(prefix, (m = new Map()));
    let n = m.get(key);
    if (n === undefined) {
      n = prefix === "" ? normalizePath(key) : `${prefix}${NESTING}${normalizePath(key)}`;
      m.set(key, n);
    }
    return n;
  }

  /** A new data column (or the type of an incomplete one, e.g. a primary key named before any value). */
  addColumn(name: string, t: DataType, variant: boolean): number {
    const existing = this.table.columns[name];
    if (existing) existing.data_type = t;
    else this.table.columns[name] = variant ? { name, data_type: t, nullable: true, variant: true } : { name, data_type: t, nullable: true };
    return this.addField(name, t);
  }

  /**
   * Writes one row. The first row of a table adds the `_dlt_*` columns after its data columns, in dlt's order
   * (root: `_dlt_load_id`, `_dlt_id`; nested: `_dlt_root_id`, `_dlt_parent_id`, `_dlt_list_idx`, `_dlt_id`).
   */
  write(cells: string[], idField: string, parent: RowIds | undefined, listIdx: number): void {
    if (!this.started) this.start();
    cells[this.fId] = idField;
    if (parent) {
      cells[this.fParent] = parent.field;
      cells[this.fIdx] = String(listIdx);
      if (this.fRoot >= 0) cells[this.fRoot] = parent.rootField;
    }
    this.writer.write(cells.join(","));
  }

  private start(): void {
    this.started = true;
    const dlt = this.nested ? [...(this.withRootId ? [C.rootId] : []), C.parentId, C.listIdx, C.id] : [C.loadId, C.id];
    for (const c of dlt) this.dltColumn(c);
    this.table["x-normalizer"] = { ...this.table["x-normalizer"], "seen-data": true };
  }

  /** Adds a `_dlt_*` column to the table where it is missing (and its field, except `_dlt_load_id`: the loader's). */
  dltColumn(c: (typeof C)[keyof typeof C]): void {
    const column = (this.table.columns[c] ??= dltColumn(c));
    if (c !== C.loadId && !this.index.has(c)) this.addField(c, column.data_type ?? "text");
  }

  file(): TableFile {
    return { path: this.path, columns: [...this.columns] };
  }
}

/** What flattening one object finds besides its values: its lists, and its own `_dlt_id`. Reused row after row. */
interface Found {
  lists: [string, unknown[]][] | undefined;
  given: string | undefined;
}

/** Normalizes the extracted files of one package against (and evolving) `schema`. */
export class Normalizer {
  private readonly outs = new Map<string, TableOut>();
  private readonly found: Found = { lists: undefined, given: undefined };

  constructor(
    private readonly schema: StoredSchema,
    private readonly outDir: string,
    private readonly progress: Progress,
  ) {}

  private out(table: TableSchema, nested: boolean, withRootId: boolean): TableOut {
    let o = this.outs.get(table.name);
    if (!o) {
      this.schema.tables[table.name] ??= table;
      o = new TableOut(this.schema.tables[table.name]!, join(this.outDir, `${table.name}.csv`), nested, withRootId);
      this.outs.set(table.name, o);
    }
    return o;
  }

  private child(parent: TableOut, col: string): TableOut {
    const name = `${parent.table.name}${NESTING}${col}`;
    return this.out(this.schema.tables[name] ?? { name, columns: {}, parent: parent.table.name }, true, parent.withRootId);
  }

  /** Puts value `v` of column `col` into `cells`: into its column, a new one, or a variant column. */
  private put(out: TableOut, cells: string[], col: string, value: unknown): void {
    const v = unmark(value);
    const vt = valueType(v);
    const i = out.index.get(col);
    if (i === undefined) {
      const t = inferType(v, vt);
      const f = field(t, vt, v);
      // Only an integer beyond 64 bits fits no column of its own type (dlt fails such a load at the destination).
      if (f === undefined) throw new Error(`table ${out.table.name}: column ${col} (${t}) cannot hold ${vt} value ${preview(v)}`);
      cells[out.addColumn(col, t, false)] = f;
      return;
    }
    const f = field(out.types[i], vt, v);
    if (f !== undefined) {
      cells[i] = f;
      return;
    }
    const variant = `${col}${NESTING}v_${vt}`;
    let j = out.index.get(variant);
    if (j === undefined) j = out.addColumn(variant, inferType(v, vt), true);
    const g = field(out.types[j], vt, v);
    // dlt's CannotCoerceColumnException: a variant column's own type does not take the value either.
    if (g === undefined) throw new Error(`table ${out.table.name}: column ${variant} (${out.types[j]}) cannot hold ${vt} value ${preview(v)}`);
    cells[j] = g;
  }

  /**
   * Flattens `obj` into `cells` (dlt's `_flatten`): its own values first, then its nested objects (the last one
   * first), each one level deeper. Lists and values beyond the nesting level are collected / kept whole.
   */
  private flatten(obj: Obj, prefix: string, cells: string[], out: TableOut, lvl: number, found: Found): void {
    let nested: [Obj, string][] | undefined;
    for (const key in obj) {
      const v = obj[key];
      if (v === null || v === undefined) continue;
      const col = out.name(prefix, key);
      if (typeof v === "object" && lvl > 0 && out.table.columns[col]?.data_type !== "json") {
        if (Array.isArray(v)) (found.lists ??= []).push([col, v]);
        else (nested ??= []).push([v as Obj, col]);
        continue;
      }
      if (prefix === "" && col.charCodeAt(0) === 95 && DLT_COLUMNS.has(col)) {
        // dlt keeps a row's own `_dlt_id` (its column then stands where the item has it) and sets the others itself.
        if (col === C.id && (typeof v === "string" || typeof v === "number") && v !== "") {
          found.given = String(v);
          out.dltColumn(C.id);
        }
        continue;
      }
      this.put(out, cells, col, v);
    }
    if (nested) for (let k = nested.length - 1; k >= 0; k--) this.flatten(nested[k]![0], nested[k]![1], cells, out, lvl - 1, found);
  }

  /** One object as a row of `out` at nesting level `lvl`, then its lists as nested rows one level deeper. */
  private row(out: TableOut, obj: Obj, lvl: number, parent: RowIds | undefined, listIdx: number, itemNo: number): void {
    const cells: string[] = [];
    const found = this.found;
    found.lists = found.given = undefined;
    this.flatten(obj, "", cells, out, lvl, found);
    const { lists, given } = found as Found; // read out before the nested rows reuse `found`
    let id: string;
    let idCell: string;
    if (given !== undefined) idCell = idField((id = given));
    else idCell = id = parent?.fixed ? nestedRowId(parent.id, out.table.name, listIdx) : newRowId();
    for (const k of out.pk) {
      const i = out.index.get(k);
      if (i === undefined || cells[i] === undefined) {
        throw new Error(`item ${itemNo} of table ${out.table.name} has no value for its primary key column ${k}`);
      }
    }
    out.write(cells, idCell, parent, listIdx);
    if (!lists) return;
    const ids: RowIds = { id, field: idCell, fixed: given !== undefined || parent?.fixed === true, rootField: parent ? parent.rootField : idCell };
    for (const [col, seq] of lists) if (seq.length > 0) this.list(this.child(out, col), seq, lvl - 1, ids, itemNo);
  }

  /** The elements of a list as rows of the nested table `out` (dlt's `_normalize_list`). */
  private list(out: TableOut, seq: unknown[], lvl: number, parent: RowIds, itemNo: number): void {
    for (let i = 0; i < seq.length; i++) {
      const v = seq[i];
      if (isPlainObject(v)) this.row(out, v, lvl, parent, i, itemNo);
      // A list in a list: a row of this table whose `list` field is a list again.
      else if (Array.isArray(v)) this.row(out, { list: v }, lvl - 1, parent, i, itemNo);
      else {
        const cells: string[] = [];
        if (v !== null && v !== undefined) this.put(out, cells, "value", v);
        out.write(cells, parent.fixed ? nestedRowId(parent.id, out.table.name, i) : newRowId(), parent, i);
      }
    }
  }

  /**
   * Normalizes one extracted file into `root` (and its nested tables). An item that is not an object is wrapped
   * as `{ value: item }`, as dlt does.
   * @throws on a line that is not JSON, a row without a value for a primary key column, or a value no column takes.
   */
  root(root: TableSchema, extracted: string): void {
    const out = this.out(root, false, requiresRootKey(this.schema, root));
    const lvl = maxNesting(this.schema, root);
    forEachLine(extracted, (line, n) => {
      let item: unknown;
      try {
        item = JSON.parse(line);
      } catch (e) {
        throw new Error(`${extracted} line ${n} is not JSON (${(e as Error).message})`);
      }
      this.row(out, isPlainObject(item) ? item : { value: item }, lvl, undefined, 0, n);
      this.progress.tick();
    });
  }

  /** Closes every file; returns each table's file and row count. */
  close(): { files: Record<string, TableFile>; rows: Record<string, number> } {
    const files: Record<string, TableFile> = {};
    const rows: Record<string, number> = {};
    for (const [name, o] of this.outs) {
      o.writer.close();
      if (o.writer.lines === 0) continue;
      files[name] = o.file();
      rows[name] = o.writer.lines;
    }
    this.progress.done();
    return { files, rows };
  }
}
