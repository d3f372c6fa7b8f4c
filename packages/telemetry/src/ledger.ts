/**
 * The ledger: what left this machine, readable by its user. Every message the library hands to the network (in
 * the host's process or in the detached sender) is appended to `<dataDir>/telemetry/ledger.jsonl`, exactly as it
 * was sent, with the time, the URL it was posted to (credentials redacted) and what came of it: delivered, kept for
 * a later attempt, or dropped and why. A message that never reached the network (debug, dry run, a disabled client,
 * the breaker open, the queue full) is never in it.
 *
 * Bounded: the file being written takes up to 500 messages or 512 KB, then becomes `ledger.1.jsonl` (replacing the
 * one before), so the newest ~1,000 messages / ~1 MB are kept. Both files are the library's own: opened without
 * following a symlink, regular files only, created `0600`, read within a cap. Writes are best effort and never
 * throw: a ledger that cannot be written costs the host nothing but its record. Two processes appending at once keep
 * whole lines (one `O_APPEND` write each); a rotation racing another may lose the older half.
 *
 * One line per message: `{"time":…,"endpoint":…,"outcome":…,"reason":…,"message":<the message's bytes>}`.
 */
import { lstatSync, renameSync } from "node:fs";
import { privateFallbackDir, telemetryFiles } from "./datadir.js";
import { appendToOwnFile, makePrivateDir, readOwnFile } from "./files.js";
import type { PostOutcome } from "./http.js";
import { locations, type SettingsOptions } from "./settings.js";
import { redactUrl } from "./url.js";

/** What came of a message handed to the network. */
export type LedgerOutcome = "delivered" | "kept" | "dropped";

/** One message in the ledger. */
export interface LedgerEntry {
  /** When the outcome was known (ISO 8601). */
  readonly time: string;
  /** The URL the message was posted to, credentials redacted (`<redacted>@`). */
  readonly endpoint: string;
  /** `delivered`; `kept` (not delivered, waiting for a later attempt); `dropped` (given up: see `reason`). */
  readonly outcome: LedgerOutcome;
  /** Why it was not delivered: `HTTP 503`, a network error code such as `ECONNREFUSED`, `queue full`. */
  readonly reason?: string;
  /** The message exactly as sent: its JSON text, byte for byte as it was in the request body. */
  readonly text: string;
  /** The message, parsed. */
  readonly message: Readonly<Record<string, unknown>>;
  /** The ledger's line for this message, without its newline (what a host's `telemetry log --json` prints). */
  readonly line: string;
}

/** Messages the file being written takes before it becomes the previous part. */
export const LEDGER_PART_ENTRIES = 500;
/** Bytes the file being written takes before it becomes the previous part. */
export const LEDGER_PART_BYTES = 512 * 1024;
/** Most messages the ledger keeps (two parts). */
export const MAX_LEDGER_ENTRIES = 2 * LEDGER_PART_ENTRIES;

/** What happened to some messages of one request: for {@link recordInLedger}. */
export interface LedgerRecord {
  /** The serialized messages, as in the request body. */
  readonly messages: readonly string[];
  readonly outcome: LedgerOutcome;
  readonly reason?: string | undefined;
}

/** `HTTP 503`, `ECONNREFUSED`: a failed request as the ledger names it. */
export function outcomeReason(o: PostOutcome): string {
  return o.kind === "status" ? `HTTP ${o.status}` : o.code;
}

const MESSAGE_KEY = ',"message":';

function lineOf(time: string, endpoint: string, r: LedgerRecord, text: string): string {
  const head = JSON.stringify({ time, endpoint, outcome: r.outcome, ...(r.reason !== undefined ? { reason: r.reason } : {}) });
  // The message goes in as its own bytes, not re-serialized: the ledger holds exactly what was sent.
  return `${head.slice(0, -1)}${MESSAGE_KEY}${text}}\n`;
}

/** Lines in the part being written, and its size; undefined when it is not a regular file of ours. */
function currentPart(path: string): { entries: number; bytes: number } | undefined {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (st === undefined) return { entries: 0, bytes: 0 };
  if (!st.isFile()) return undefined;
  if (st.size >= LEDGER_PART_BYTES) return { entries: LEDGER_PART_ENTRIES, bytes: st.size };
  const text = readOwnFile(path, LEDGER_PART_BYTES);
  if (text === undefined) return { entries: LEDGER_PART_ENTRIES, bytes: LEDGER_PART_BYTES };
  let entries = 0;
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) entries++;
  return { entries, bytes: Buffer.byteLength(text) };
}

/** Appends to the ledger of one data dir; throws when it cannot (the caller tries the fallback or gives up). */
function appendIn(dataDir: string, url: string, records: readonly LedgerRecord[]): void {
  const files = telemetryFiles(dataDir);
  makePrivateDir(files.dir);
  const time = new Date().toISOString();
  const endpoint = redactUrl(url);
  let lines = records.flatMap((r) => r.messages.map((m) => lineOf(time, endpoint, r, m)));
  // Older lines than the ledger keeps would be rotated away at once: not written at all.
  if (lines.length > MAX_LEDGER_ENTRIES) lines = lines.slice(-MAX_LEDGER_ENTRIES);
  const part = currentPart(files.ledger);
  // Something else is there (a link, a FIFO, a folder): leave it alone and write nothing.
  if (part === undefined) throw new Error(`${files.ledger} is not a regular file`);
  let { entries, bytes } = part;
  let pending = "";
  const flush = (): void => {
    if (pending !== "") appendToOwnFile(files.ledger, pending);
    pending = "";
  };
  for (const line of lines) {
    const n = Buffer.byteLength(line);
    if (entries > 0 && (entries + 1 > LEDGER_PART_ENTRIES || bytes + n > LEDGER_PART_BYTES)) {
      flush();
      // The full part becomes the previous one (the rename replaces the older part whole).
      if (lstatSync(files.ledger, { throwIfNoEntry: false })?.isFile()) renameSync(files.ledger, files.ledgerPrevious);
      entries = 0;
      bytes = 0;
    }
    pending += line;
    entries++;
    bytes += n;
  }
  flush();
}

/** Errors that mean the data dir cannot be written (a read-only home, a container), not that something was planted. */
const CANNOT_WRITE = new Set(["EACCES", "EROFS", "EPERM"]);

/**
 * Records what became of messages posted to `url`. In `dataDir`'s ledger, else in the fallback data dir's (a
 * read-only home), else nowhere. Never throws.
 */
export function recordInLedger(dataDir: string, url: string, records: readonly LedgerRecord[], fallbackDataDir?: () => string | undefined): void {
  if (!records.some((r) => r.messages.length > 0)) return;
  try {
    appendIn(dataDir, url, records);
  } catch (e) {
    // Only a data dir that cannot be written moves the ledger; a link or a FIFO planted in it stops it.
    if (!CANNOT_WRITE.has((e as NodeJS.ErrnoException).code ?? "")) return;
    try {
      const fallback = fallbackDataDir?.();
      if (fallback !== undefined && fallback !== dataDir) appendIn(fallback, url, records);
    } catch {
      /* the record is lost; the host is not affected */
    }
  }
}

/** Parses one ledger line; undefined when it is not one of ours. */
function parseLine(line: string): LedgerEntry | undefined {
  const at = line.indexOf(MESSAGE_KEY);
  if (at === -1 || !line.endsWith("}")) return undefined;
  try {
    const head = JSON.parse(`${line.slice(0, at)}}`) as Record<string, unknown>;
    const text = line.slice(at + MESSAGE_KEY.length, -1);
    const message = JSON.parse(text) as unknown;
    const { time, endpoint, outcome, reason } = head;
    if (typeof time !== "string" || typeof endpoint !== "string") return undefined;
    if (outcome !== "delivered" && outcome !== "kept" && outcome !== "dropped") return undefined;
    if (typeof message !== "object" || message === null || Array.isArray(message)) return undefined;
    return {
      time,
      endpoint,
      outcome,
      ...(typeof reason === "string" ? { reason } : {}),
      text,
      message: message as Record<string, unknown>,
      line,
    };
  } catch {
    return undefined;
  }
}

function entriesIn(dataDir: string): LedgerEntry[] {
  const files = telemetryFiles(dataDir);
  const out: LedgerEntry[] = [];
  for (const path of [files.ledgerPrevious, files.ledger]) {
    // A part is at most LEDGER_PART_BYTES plus one batch written by a concurrent process; far more is not ours.
    const text = readOwnFile(path, 2 * LEDGER_PART_BYTES) ?? "";
    for (const line of text.split("\n")) {
      const entry = line === "" ? undefined : parseLine(line);
      if (entry) out.push(entry);
    }
  }
  return out;
}

/**
 * The messages this machine handed to the network for this host, oldest first (newest last): each exactly as it
 * was sent, with the time, the URL it was posted to (credentials redacted) and what came of it (`delivered`, `kept`
 * for a later attempt, `dropped`, with a `reason`). The newest 1,000 (about 1 MB) are kept, in the data dir (and
 * in the private fallback folder used when the data dir cannot be written). Only reads; never throws: a ledger
 * that is missing, unreadable, not a regular file or too large reads as empty.
 *
 * @example
 * for (const e of readLedger(options)) console.log(e.time, e.message.event, e.outcome, e.reason ?? "");
 */
export function readLedger(options: SettingsOptions): LedgerEntry[] {
  try {
    const dataDir = locations(options, options.env ?? process.env).dataDir;
    const entries = entriesIn(dataDir);
    const fallback = privateFallbackDir(options.envPrefix, false);
    if (fallback !== undefined && fallback !== dataDir) {
      entries.push(...entriesIn(fallback));
      // Stable: lines of one file keep their order, the two data dirs interleave by time.
      entries.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
    }
    return entries.slice(-MAX_LEDGER_ENTRIES);
  } catch {
    return [];
  }
}
