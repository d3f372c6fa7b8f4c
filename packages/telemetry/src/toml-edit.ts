/**
 * Edits of a user's TOML settings file: one key set, every other key, comment and blank line kept (by
 * `@decimalturn/toml-patch`, which the caller loads), written atomically (temp file + rename) so a concurrent reader
 * or writer only ever sees a whole file. A file that cannot be read (not a regular file, over 1 MB, no permission) or
 * parsed is never rewritten: the edit fails with the file, line and column. A symlinked file is edited where it
 * points (the link, e.g. into a dotfiles repository, is kept).
 */
import { mkdirSync, realpathSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { randomBytes } from "node:crypto";
import { MAX_CONFIG_BYTES, readBounded } from "./index.js";

/** The two functions of `@decimalturn/toml-patch` an edit uses. */
export interface TomlPatch {
  parse(text: string): unknown;
  patch(text: string, doc: unknown): string;
}

/** A settings file that cannot be edited, with where and why. */
export class ConfigFileError extends Error {
  constructor(
    readonly file: string,
    /** A phrase that follows the file's name: "cannot be read (EACCES)", "is not valid TOML (invalid value)". */
    readonly reason: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(`${file}${line !== undefined ? `:${line}${column !== undefined ? `:${column}` : ""}` : ""} ${reason}`);
    this.name = "ConfigFileError";
  }
}

/** An edit computed but not yet written: all edits of a switch are computed first, so a bad file stops them all. */
export interface PlannedEdit {
  /** The file as named by the user. */
  readonly file: string;
  /** Where it is written: the file itself, or the target of a symlink. */
  readonly target: string;
  readonly text: string;
  readonly mode: number;
}

/** The line of toml-patch's error that says what is wrong (its first line is only "Error parsing TOML (2, 1):"). */
function patchErrorReason(e: unknown): string {
  const lines = String((e as Error).message)
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  return lines.length > 1 ? (lines[lines.length - 1] ?? "") : (lines[0] ?? "invalid TOML").replace(/:$/, "");
}

/**
 * Computes `[section] key = value` in a TOML file (a missing file starts empty).
 * @throws ConfigFileError when the file cannot be read or parsed, or `[section]` is not a table.
 */
export function planTomlValue(toml: TomlPatch, file: string, section: string, key: string, value: boolean | string): PlannedEdit {
  const read = readBounded(file, { maxBytes: MAX_CONFIG_BYTES, followSymlinks: true });
  if (read.kind === "unreadable") throw new ConfigFileError(file, read.reason);
  const text = read.kind === "text" ? read.text : "";
  let target = file;
  let mode = 0o644;
  if (read.kind === "text") {
    try {
      target = realpathSync(file);
      mode = statSync(target).mode & 0o777;
    } catch (e) {
      throw new ConfigFileError(file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? "error"})`);
    }
  }
  let doc: Record<string, unknown>;
  try {
    doc = (text.trim() === "" ? {} : toml.parse(text)) as Record<string, unknown>;
  } catch (e) {
    const loc = e as { line?: unknown; column?: unknown };
    const line = typeof loc.line === "number" ? loc.line : undefined;
    const column = typeof loc.column === "number" ? loc.column + 1 : undefined;
    throw new ConfigFileError(file, `is not valid TOML (${patchErrorReason(e)})`, line, column);
  }
  const existing = doc[section];
  if (existing !== undefined && (typeof existing !== "object" || existing === null || Array.isArray(existing))) {
    throw new ConfigFileError(file, `has a [${section}] that is not a table`);
  }
  doc[section] = { ...(existing as Record<string, unknown> | undefined), [key]: value };
  let out = toml.patch(text.trim() === "" ? "" : text, doc);
  if (!out.endsWith("\n")) out += "\n";
  return { file, target, text: out, mode };
}

/**
 * Writes a planned edit atomically: a temp file beside the target, then a rename over it.
 * @throws ConfigFileError when it cannot be written (the file is then left as it was).
 */
export function writePlanned(edit: PlannedEdit): void {
  const tmp = `${edit.target}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    mkdirSync(dirname(edit.target), { recursive: true });
    writeFileSync(tmp, edit.text, { mode: edit.mode, flag: "wx" });
    renameSync(tmp, edit.target);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* not created */
    }
    throw new ConfigFileError(edit.file, `cannot be written (${(e as NodeJS.ErrnoException).code ?? "error"})`);
  }
}
