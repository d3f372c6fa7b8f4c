/** The exact request a batch travels in: URL, headers and body. Shared by the sender and the dry run. */
import { isSingleUrl, redactUrl } from "./url.js";
import { batchBody, groupIntoBatches, singleBody } from "./message.js";

/** The Basic auth header Segment expects: the write key as user, empty password. */
export function basicAuth(writeKey: string): string {
  return "Basic " + Buffer.from(`${writeKey}:`).toString("base64");
}

/** Headers of a POST of `body`. */
export function requestHeaders(body: string, writeKey: string | undefined): Record<string, string | number> {
  const headers: Record<string, string | number> = {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    "user-agent": "dlt-ts-telemetry",
  };
  if (writeKey) headers["authorization"] = basicAuth(writeKey);
  return headers;
}

/** The request bodies for these messages: batches under 500 KB, or one message each for a `/v1/track` URL. */
export function requestBodies(url: string, messages: readonly string[], sentAt = new Date()): string[] {
  return isSingleUrl(url) ? messages.map((m) => singleBody(m, sentAt)) : groupIntoBatches(messages).map((b) => batchBody(b, sentAt));
}

/** A request as text, the write key and any credentials in the URL redacted: what `<PREFIX>_TELEMETRY_DRY_RUN=1` prints. */
export function describeRequest(url: string, body: string, writeKey: string | undefined): string {
  const headers = requestHeaders(body, writeKey);
  if (headers["authorization"]) headers["authorization"] = "Basic <redacted>";
  const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}`);
  return [`POST ${redactUrl(url)}`, ...head, "", body, ""].join("\n");
}
