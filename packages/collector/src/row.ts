/** A validated message as the row the store keeps: typed columns for what the dashboard queries, and the JSON. */
import { randomUUID } from "node:crypto";
import type { MessageType } from "./validate.js";

/** One row of the `events` table. Times are epoch milliseconds (UTC). */
export interface EventRow {
  message_id: string;
  type: MessageType;
  event: string | null;
  anonymous_id: string | null;
  user_id: string | null;
  /** `timestamp` corrected by the client's clock skew (receivedAt − sentAt); receivedAt when absent. */
  timestamp_ms: number;
  original_timestamp_ms: number | null;
  sent_at_ms: number | null;
  received_at_ms: number;
  library_name: string | null;
  library_version: string | null;
  os_name: string | null;
  os_version: string | null;
  runtime_name: string | null;
  runtime_version: string | null;
  ci_run: boolean | null;
  cpu: number | null;
  /** Comma-joined `context.exec_info`. */
  exec_info: string | null;
  event_category: string | null;
  event_name: string | null;
  success: boolean | null;
  elapsed: number | null;
  destination_name: string | null;
  pipeline_name: string | null;
  transaction_id: string | null;
  /** The full message as received (plus messageId and receivedAt when the collector set them). */
  message: string;
}

/** Column order of the table, shared by the stores. */
export const COLUMNS: readonly (keyof EventRow)[] = [
  "message_id", "type", "event", "anonymous_id", "user_id", "timestamp_ms", "original_timestamp_ms", "sent_at_ms",
  "received_at_ms", "library_name", "library_version", "os_name", "os_version", "runtime_name", "runtime_version",
  "ci_run", "cpu", "exec_info", "event_category", "event_name", "success", "elapsed", "destination_name",
  "pipeline_name", "transaction_id", "message",
];

const obj = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
const str = (v: unknown, max = 200): string | null =>
  typeof v === "string" ? v.slice(0, max) : typeof v === "number" && Number.isFinite(v) ? String(v) : null;
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const bool = (v: unknown): boolean | null => (typeof v === "boolean" ? v : null);
const ms = (v: unknown): number | null => {
  if (typeof v !== "string") return null;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : t;
};

/**
 * Builds the row. `batchSentAt` is the request's `sentAt` (a message's own `sentAt` wins), used for Segment's
 * clock-skew correction: timestamp + (receivedAt − sentAt).
 */
export function toRow(message: Record<string, unknown>, type: MessageType, receivedAt: number, batchSentAt: number | null): EventRow {
  const messageId = str(message["messageId"], 256) ?? randomUUID();
  const full = { ...message, type, messageId, receivedAt: new Date(receivedAt).toISOString() };
  const sentAt = ms(message["sentAt"]) ?? batchSentAt;
  const ts = ms(message["timestamp"]);
  const timestamp = ts === null ? receivedAt : sentAt === null ? ts : ts + (receivedAt - sentAt);
  const ctx = obj(message["context"]) ?? {};
  const lib = obj(ctx["library"]) ?? {};
  const os = obj(ctx["os"]) ?? {};
  const rt = obj(ctx["runtime"]) ?? {};
  const props = obj(message["properties"]) ?? {};
  const exec = Array.isArray(ctx["exec_info"]) ? (ctx["exec_info"] as unknown[]).filter((x): x is string => typeof x === "string") : null;
  const cpu = num(ctx["cpu"]);
  return {
    message_id: messageId,
    type,
    event: str(message["event"]),
    anonymous_id: str(message["anonymousId"]),
    user_id: str(message["userId"]),
    timestamp_ms: timestamp,
    original_timestamp_ms: ts,
    sent_at_ms: sentAt,
    received_at_ms: receivedAt,
    library_name: str(lib["name"]),
    library_version: str(lib["version"]),
    os_name: str(os["name"]),
    os_version: str(os["version"]),
    // dlt's Python context has `python: "3.10.10"`; ours has `runtime: {name, version}`.
    runtime_name: str(rt["name"]) ?? (typeof ctx["python"] === "string" ? "python" : null),
    runtime_version: str(rt["version"]) ?? str(ctx["python"]),
    ci_run: bool(ctx["ci_run"]),
    cpu: cpu === null ? null : Math.max(-2147483648, Math.min(2147483647, Math.trunc(cpu))),
    exec_info: exec ? exec.join(",").slice(0, 500) : null,
    event_category: str(props["event_category"]),
    event_name: str(props["event_name"]),
    success: bool(props["success"]),
    elapsed: num(props["elapsed"]),
    destination_name: str(props["destination_name"]),
    pipeline_name: str(props["pipeline_name"]),
    transaction_id: str(props["transaction_id"]),
    message: JSON.stringify(full),
  };
}
