/**
 * How the commands print for people: aligned tables, sizes, durations and times, in plain text (no colour, so the
 * output reads the same in a terminal, a log or a pipe). `--format json` prints data instead (`printJson`).
 */
import { Option } from "commander";
import type { CliIo } from "../io.js";

/** `--format text|json`: text for people (the default), JSON for scripts. */
export const formatOption = (): Option =>
  new Option("--format <format>", "output format: text for people, json for scripts").choices(["text", "json"]).default("text");

export type OutputFormat = "text" | "json";

/** Prints `value` as one JSON document (2-space indent, as dlt's pretty JSON). */
export function printJson(io: CliIo, value: unknown): void {
  io.out(JSON.stringify(value, null, 2) + "\n");
}

/** Rows aligned under their headers, two spaces apart; the last column is not padded. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n") + "\n";
}

/** `1,234` */
export const count = (n: number): string => n.toLocaleString("en-US");

/** `512 B`, `1.2 KiB`, `3.4 MiB` (binary units, as dlt's `naturalsize(binary=True)`). */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/** `0.42 seconds`, `1 minute and 2.35 seconds` (dlt's `humanize.precisedelta`). */
export function seconds(s: number): string {
  const m = Math.floor(s / 60);
  const rest = `${(s - m * 60).toFixed(2)} seconds`;
  return m === 0 ? rest : `${m} ${m === 1 ? "minute" : "minutes"} and ${rest}`;
}

/** `2024-05-01 10:00:03 UTC (5 minutes ago)` (dlt's `date_from_timestamp_with_ago`). */
export function when(iso: string, now = Date.now()): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const at = new Date(t)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, " UTC");
  const s = Math.max(0, Math.round((now - t) / 1000));
  const ago =
    s < 60
      ? "just now"
      : s < 3600
        ? plural(Math.floor(s / 60), "minute")
        : s < 86_400
          ? plural(Math.floor(s / 3600), "hour")
          : plural(Math.floor(s / 86_400), "day");
  return `${at} (${ago})`;
}

const plural = (n: number, unit: string): string => `${n} ${unit}${n === 1 ? "" : "s"} ago`;
