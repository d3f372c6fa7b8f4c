/**
 * The collector's log: one line per event, as text for a terminal (`dlt-collector: …`, the default) or as one JSON
 * object per line for log shippers (`--log-format json`: `time`, `level`, `message`, and fields such as `cause`,
 * `status`, `duration_s`). No line holds a write key, a token or a message body: callers pass only causes, counts
 * and labels, and the store's causes are one line each (`causeOf`).
 */

/** How a line is written. */
export type LogFormat = "text" | "json";
export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

export type LogLevel = "info" | "warn" | "error";

/** What a line carries besides its message (JSON only; the text line says it in words). */
export interface LogFields {
  readonly level?: LogLevel;
  readonly [field: string]: string | number | boolean | undefined;
}

/** Where the collector logs: a message, and fields for a JSON line. A plain `(line) => void` is one too. */
export type Log = (message: string, fields?: LogFields) => void;

/** A log writing to `write` (stderr by default) in `format`. */
export function createLog(format: LogFormat, write: (text: string) => void = (t) => void process.stderr.write(t)): Log {
  if (format === "text") return (message) => write(`dlt-collector: ${message}\n`);
  return (message, fields = {}) => {
    const { level = "info", ...rest } = fields;
    write(`${JSON.stringify({ time: new Date().toISOString(), level, message, ...rest })}\n`);
  };
}
