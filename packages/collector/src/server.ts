/**
 * The HTTP side: Segment's tracking routes, health, and graceful shutdown. A request is answered 200 only after
 * every event in it is durably committed.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { keyAllowed, presentedKey } from "./auth.js";
import { OverloadedError, GroupCommitter } from "./batcher.js";
import { readBody } from "./body.js";
import { parseTime, stamp, type StoredMessage } from "./stamp.js";
import type { EventStore } from "./store/types.js";
import { MAX_MESSAGE_BYTES, MESSAGE_TYPES, sizeRefusal, validateMessage, type MessageType } from "./validate.js";

/** Limits and keys of a collector. */
export interface ServerOptions {
  /** Accepted write keys; none configured accepts every request. */
  readonly writeKeys: readonly string[];
  /** Largest request body, on the wire and inflated (Segment: 500 KB). */
  readonly maxBodyBytes: number;
  /** Most events waiting for a commit before requests get 503 (bounded memory). */
  readonly maxPendingEvents: number;
  /** Extra routes (the dashboard): return true when handled. */
  readonly extraRoutes?: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean> | boolean;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

const fail = (res: ServerResponse, status: number, error: string, headers?: Record<string, string>): void =>
  send(res, status, { success: false, error }, headers);

/** Parses, authenticates, validates and stamps a tracking request's messages; answers the request itself on error. */
async function messagesOf(req: IncomingMessage, res: ServerResponse, route: string, opts: ServerOptions): Promise<StoredMessage[] | undefined> {
  const receivedAt = Date.now();
  const receivedIso = new Date(receivedAt).toISOString();
  const body = await readBody(req, opts.maxBodyBytes);
  if (!body.ok) {
    fail(res, body.status, body.reason);
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.body.toString("utf8"));
  } catch (e) {
    fail(res, 400, `body: malformed JSON (${(e as Error).message.slice(0, 100)})`);
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    fail(res, 400, "body: must be a JSON object");
    return undefined;
  }
  if (opts.writeKeys.length > 0) {
    const key = presentedKey(req.headers["authorization"], parsed);
    if (key === undefined) {
      fail(res, 401, "missing write key (Basic auth user, or writeKey in the body)");
      return undefined;
    }
    if (!keyAllowed(key, opts.writeKeys)) {
      fail(res, 401, "invalid write key");
      return undefined;
    }
  }
  const top = parsed as Record<string, unknown>;
  const sentAtRaw = top["sentAt"];
  const sentAt = parseTime(sentAtRaw);
  if (sentAtRaw !== undefined && sentAt === null) {
    fail(res, 400, "sentAt: must be an ISO-8601 date");
    return undefined;
  }
  const messages: StoredMessage[] = [];
  // Validates and stamps one message; the 32 KB limit is measured on the message as it will be stored.
  const take = (m: unknown, path: string, forced?: MessageType): boolean => {
    const v = validateMessage(m, path, forced);
    if (!v.ok) {
      fail(res, v.status, `${v.field}: ${v.reason}`);
      return false;
    }
    let stored: StoredMessage;
    try {
      stored = stamp(v.message, v.type, receivedAt, receivedIso, sentAt);
    } catch {
      // JSON.parse reads nesting that JSON.stringify cannot write back (RangeError: call stack).
      fail(res, 400, `${path || "body"}: nested too deeply`);
      return false;
    }
    // Byte length only matters when the text could be over the limit (UTF-8 is at most 3 bytes per UTF-16 unit).
    const tooLarge = stored.json.length * 3 > MAX_MESSAGE_BYTES ? sizeRefusal(path, Buffer.byteLength(stored.json)) : undefined;
    if (tooLarge) {
      fail(res, tooLarge.status, `${tooLarge.field}: ${tooLarge.reason}`);
      return false;
    }
    messages.push(stored);
    return true;
  };
  if (route === "batch") {
    const batch = top["batch"];
    if (!Array.isArray(batch)) {
      fail(res, 400, "batch: must be an array of messages");
      return undefined;
    }
    for (let i = 0; i < batch.length; i++) if (!take(batch[i], `batch[${i}]`)) return undefined;
  } else if (!take(top, "", route as MessageType)) {
    return undefined;
  }
  return messages;
}

/** A running HTTP front over a committer. */
export interface CollectorServer {
  readonly server: Server;
  readonly url: string;
  readonly committer: GroupCommitter;
  /** Stops accepting, finishes what was accepted, commits it. */
  close(): Promise<void>;
}

export async function listen(store: EventStore, host: string, port: number, opts: ServerOptions): Promise<CollectorServer> {
  const committer = new GroupCommitter(store, opts.maxPendingEvents);
  const sockets = new Set<Socket>();
  let closing = false;
  const routes = new Set<string>(["batch", ...MESSAGE_TYPES]);

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://collector");
      if (closing) return fail(res, 503, "shutting down", { "retry-after": "5", connection: "close" });
      if (url.pathname === "/health" && req.method === "GET") {
        return send(res, 200, { ok: true });
      }
      const m = /^\/v1\/([a-z]+)\/?$/.exec(url.pathname);
      if (m && routes.has(m[1]!)) {
        if (req.method !== "POST") return fail(res, 405, `use POST for ${url.pathname}`, { allow: "POST" });
        const messages = await messagesOf(req, res, m[1]!, opts);
        if (!messages) return;
        try {
          await committer.add(messages);
          send(res, 200, { success: true });
        } catch (e) {
          if (e instanceof OverloadedError) fail(res, 503, "overloaded: retry later", { "retry-after": "1" });
          else fail(res, 503, "storage unavailable: retry later", { "retry-after": "5" });
        }
        return;
      }
      if (opts.extraRoutes && (await opts.extraRoutes(req, res, url))) return;
      fail(res, 404, `no route ${req.method} ${url.pathname}`);
    })().catch(() => fail(res, 500, "internal error"));
  });
  server.keepAliveTimeout = 5000;
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("clientError", (_e, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return {
    server,
    url: `http://${shownHost}:${addr.port}`,
    committer,
    async close() {
      closing = true;
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      await committer.drain();
      // Requests still reading bodies finish; give them a bounded moment, then cut what is left.
      const timer = setTimeout(() => {
        for (const s of sockets) s.destroy();
      }, 5000);
      await closed;
      clearTimeout(timer);
      await committer.drain();
    },
  };
}
