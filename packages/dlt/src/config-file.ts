/**
 * Edits of the user's config.toml: one key set, every other key, comment and blank line kept
 * (@decimalturn/toml-patch), written atomically (temp file + rename) so a concurrent reader or writer only ever
 * sees a whole file.
 */
import { mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { randomBytes } from "node:crypto";
import { parse, patch } from "@decimalturn/toml-patch";

/** A config file that cannot be edited, with where and why. */
export class ConfigFileError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(`${file}${line !== undefined ? `:${line}${column !== undefined ? `:${column}` : ""}` : ""}: ${reason}`);
    this.name = "ConfigFileError";
  }
}

function errorPosition(e: unknown): { line?: number; column?: number } {
  const loc = e as { line?: unknown; column?: unknown };
  if (typeof loc.line === "number") return { line: loc.line, ...(typeof loc.column === "number" ? { column: loc.column + 1 } : {}) };
  const m = /line (\d+)(?:, column (\d+))?/i.exec(String((e as Error).message));
  return m ? { line: Number(m[1]), ...(m[2] ? { column: Number(m[2]) } : {}) } : {};
}

/** Sets `[section] key = value` in a TOML file, creating the file (and its folder) if needed. */
export function setTomlValue(file: string, section: string, key: string, value: boolean | string): void {
  let text = "";
  let mode = 0o644;
  try {
    text = readFileSync(file, "utf8");
    mode = statSync(file).mode & 0o777;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new ConfigFileError(file, `cannot read (${(e as NodeJS.ErrnoException).code ?? "error"})`);
    }
  }
  let doc: Record<string, unknown>;
  try {
    doc = (text.trim() === "" ? {} : parse(text)) as Record<string, unknown>;
  } catch (e) {
    const first = String((e as Error).message).split("\n")[0] ?? "invalid TOML";
    const pos = errorPosition(e);
    throw new ConfigFileError(file, first, pos.line, pos.column);
  }
  const existing = doc[section];
  if (existing !== undefined && (typeof existing !== "object" || existing === null || Array.isArray(existing))) {
    throw new ConfigFileError(file, `[${section}] is not a table`);
  }
  doc[section] = { ...(existing as Record<string, unknown> | undefined), [key]: value };
  let out = text.trim() === "" ? patch("", doc) : patch(text, doc);
  if (!out.endsWith("\n")) out += "\n";
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    writeFileSync(tmp, out, { mode });
    renameSync(tmp, file);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* not created */
    }
    throw new ConfigFileError(file, `cannot write (${(e as NodeJS.ErrnoException).code ?? "error"})`);
  }
}
