/**
 * `--config FILE`: the collector's settings in TOML, under the flags' own names (`port = 8080`,
 * `write-key = ["ci=KEY"]`, `dashboard = false` for `--no-dashboard`), for an operator to keep in version control.
 * A flag on the command line wins over its env variable, which wins over the file, which wins over the default.
 *
 * A file that cannot be used is an error naming it and, where the fault is in its text, the line: a syntax error, a
 * setting no flag has, a value its flag refuses. Nothing of it is half-applied: the collector does not start.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import type { Command, Option } from "commander";
import { parse, TomlError } from "smol-toml";

/** The largest config file read (it is a few lines). */
const MAX_BYTES = 1 << 20;

/** A config file that cannot be used: the message names the file, and the line when there is one. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Reads a regular file of at most 1 MB (a FIFO or a device would block or never end). */
function readSmall(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new ConfigError(`${file}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ConfigError(`${file}: not a regular file`);
    if (st.size > MAX_BYTES) throw new ConfigError(`${file}: ${st.size} bytes, over the ${MAX_BYTES}-byte limit for a config file`);
    const buf = Buffer.alloc(st.size);
    let n = 0;
    while (n < st.size) {
      const got = readSync(fd, buf, n, st.size - n, n);
      if (got === 0) break;
      n += got;
    }
    return buf.subarray(0, n).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/** The line `key = …` starts on (1-based), for messages about its value. */
function lineOf(text: string, key: string): number | undefined {
  const at = text.split("\n").findIndex((l) => new RegExp(`^\\s*["']?${key.replace(/[-]/g, "\\-")}["']?\\s*=`).test(l));
  return at < 0 ? undefined : at + 1;
}

/** The file's settings by flag name, each as the strings its flag would be given on the command line. */
function settingsOf(file: string, text: string): Map<string, { values: string[]; line: number | undefined }> {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text);
  } catch (e) {
    if (e instanceof TomlError) throw new ConfigError(`${file}:${e.line}:${e.column}: not valid TOML (${e.message.split("\n")[0]})`);
    throw e;
  }
  const out = new Map<string, { values: string[]; line: number | undefined }>();
  for (const [key, value] of Object.entries(doc)) {
    const line = lineOf(text, key);
    const where = line === undefined ? file : `${file}:${line}`;
    const scalar = (v: unknown): string => {
      if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return String(v);
      throw new ConfigError(`${where}: ${key} must be a string, a number or a boolean${Array.isArray(value) ? " (or an array of them)" : ""}`);
    };
    out.set(key, { values: Array.isArray(value) ? value.map(scalar) : [scalar(value)], line });
  }
  return out;
}

/**
 * Applies the file's settings to `program`'s options wherever neither a flag nor an env variable set them.
 * Returns the names of the settings it applied.
 */
export function applyConfigFile(program: Command, file: string): string[] {
  const text = readSmall(file);
  const settings = settingsOf(file, text);
  const byName = new Map<string, Option>();
  for (const o of program.options) {
    const long = o.long?.replace(/^--(no-)?/, "");
    if (long && long !== "config" && long !== "version" && long !== "help") byName.set(long, o);
  }
  const applied: string[] = [];
  for (const [key, { values, line }] of settings) {
    const where = line === undefined ? file : `${file}:${line}`;
    const option = byName.get(key);
    if (!option) throw new ConfigError(`${where}: unknown setting "${key}" (the settings are the flags' names: ${[...byName.keys()].join(", ")})`);
    const attribute = option.attributeName();
    const source = program.getOptionValueSource(attribute);
    if (source === "cli" || source === "env") continue;
    let value: unknown;
    if (option.negate || option.isBoolean()) {
      if (values.length !== 1 || (values[0] !== "true" && values[0] !== "false")) throw new ConfigError(`${where}: ${key} must be true or false`);
      value = values[0] === "true";
    } else {
      if (values.length > 1 && !option.variadic && !/repeatable/.test(option.description))
        throw new ConfigError(`${where}: ${key} takes one value, not an array`);
      try {
        for (const v of values) value = option.parseArg ? option.parseArg(v, value as never) : v;
      } catch (e) {
        throw new ConfigError(`${where}: ${key}: ${(e as Error).message}`);
      }
    }
    program.setOptionValueWithSource(attribute, value, "config");
    applied.push(key);
  }
  return applied;
}
