/**
 * The HTTP side: the tracking routes (under a base path), health, the limits on clients, and the graceful stop. A
 * request is answered 200 only after every event in it is durably committed.
 *
 * Routes are own entries of a Map, relative to the base path `P` (default `/`):
 * `P` (POST: dlt's own requests; GET: the dashboard's page when it is on), `P/v1/batch`, `P/v1/<type>`,
 * `P/health` (and `/health`); anything else goes to `extraRoutes` (the dashboard), then 404.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { Server as NetServer, type AddressInfo, type Socket } from "node:net";
import { OverloadedError, GroupCommitter } from "./batcher.js";
import { Connections } from "./connections.js";
import { publicCause, StoreHealth } from "./health.js";
import { ingest, type Route } from "./ingest.js";
import { InflightBytes, RequestSlots, type ClientLimits } from "./limits.js";
import type { Refusal } from "./refusal.js";
import type { EventStore } from "./store/types.js";
import { MESSAGE_TYPES } from "./validate.js";
import { headerKey, labelOf, type WriteKey } from "./auth.js";
import type { Log } from "./log.js";
import { NO_METRICS, type CollectorMetrics, type MetricsGauges } from "./metrics.js";
import type { Plan } from "./plan/plan.js";

/** Extra routes (the dashboard): `path` is relative to the base path; return true when handled. */
export type ExtraRoutes = (req: IncomingMessage, res: ServerResponse, url: URL, path: string) => Promise<boolean> | boolean;

/** Limits and keys of a collector. */
/**
 * How long an idle keep-alive connection is kept (Node sends it as `Keep-Alive: timeout=5`). Clients plan their reuse
 * on it: undici reuses a connection until this minus its threshold (1–2 s), so a server that closes an idle connection
 * sooner can close it just as the client sends on it ("other side closed"). The drain's idle grace is no shorter.
 */
export const KEEP_ALIVE_MS = 5000;

export interface ServerOptions extends ClientLimits {
  /** Accepted write keys and their labels; none configured accepts every request. */
  readonly writeKeys: readonly WriteKey[];
  /** Most events waiting for a commit before requests get 503 (bounded memory). */
  readonly maxPendingEvents: number;
  /** The path everything is served under, e.g. `/telemetry` behind a proxy; `/` by default. */
  readonly basePath: string;
  /** How long a connection may stay idle during a graceful stop before it is closed (ms). */
  readonly drainIdleMs: number;
  /** At the connection cap, how long a connection must have been idle to give its place to a new one (ms). */
  readonly evictIdleMs: number;
  /** How long a graceful stop waits for requests under way before it cuts their connections (ms). */
  readonly drainTimeoutMs: number;
  /** A store write under way longer than this (ms) makes `/health` 503: the store is stalled. */
  readonly writeTimeoutMs: number;
  /** Where storage failures are logged (one line each, no newline). */
  readonly log: Log;
  /** The plan messages must fit (published at `P/v1/plan`); undefined stores them as sent. */
  readonly plan?: Plan | undefined;
  readonly extraRoutes?: ExtraRoutes;
  /** Where the request path reports (default: nowhere). */
  readonly metrics?: CollectorMetrics;
}

/** `/telemetry/` → `/telemetry`, `/` → `` (the prefix of every route). */
export function basePrefix(basePath: string): string {
  if (!/^\/[^?#\s]*$/.test(basePath)) throw new RangeError(`base path must start with / and be a plain path: ${JSON.stringify(basePath)}`);
  return basePath.replace(/\/+$/, "");
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  // A client gone (a flood of strangers cut at once) gets no answer built for it.
  if (res.headersSent || res.destroyed || res.socket?.destroyed === true) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

const fail = (res: ServerResponse, status: number, error: string, headers?: Record<string, string>): void =>
  send(res, status, { success: false, error }, headers);

function answerRefusal(res: ServerResponse, r: Refusal): void {
  const headers: Record<string, string> = {};
  if (r.retryAfter !== undefined) headers["retry-after"] = String(r.retryAfter);
  if (r.close) headers["connection"] = "close";
  fail(res, r.status, r.reason, headers);
}

/** The request's URL, its path's repeated slashes made one (the query is left as it is). */
function requestUrl(raw: string): URL {
  if (!raw.startsWith("/")) return new URL(raw, "http://collector");
  const q = raw.indexOf("?");
  const path = (q < 0 ? raw : raw.slice(0, q)).replace(/\/{2,}/g, "/");
  return new URL(`http://collector${path}${q < 0 ? "" : raw.slice(q)}`);
}

/** What Node's parser found wrong, by its error code (a fixed set: never the request's bytes). */
const PARSER_REASONS: Readonly<Record<string, string>> = {
  ERR_HTTP_REQUEST_TIMEOUT: "request not received in time",
  HPE_HEADER_OVERFLOW: "request headers are too large",
  HPE_INVALID_METHOD: "malformed request: invalid method",
  HPE_INVALID_URL: "malformed request: invalid URL",
  HPE_INVALID_VERSION: "malformed request: invalid HTTP version",
  HPE_INVALID_HEADER_TOKEN: "malformed request: invalid header",
  HPE_INVALID_CONTENT_LENGTH: "malformed request: invalid Content-Length",
  HPE_UNEXPECTED_CONTENT_LENGTH: "malformed request: both Content-Length and Transfer-Encoding",
  HPE_INVALID_TRANSFER_ENCODING: "malformed request: invalid Transfer-Encoding",
  HPE_INVALID_CHUNK_SIZE: "malformed request: invalid chunk size",
  HPE_INVALID_CONSTANT: "malformed request",
  HPE_LF_EXPECTED: "malformed request: a line does not end with CRLF",
  HPE_CR_EXPECTED: "malformed request: a line does not end with CRLF",
  HPE_INVALID_EOF_STATE: "request ended before it was complete",
};

/** The raw answer to a request Node's parser refused: 400 (408 for a timeout, 431 for huge headers), with a JSON reason. */
function parserRefusal(code: string | undefined): string {
  const status =
    code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? "408 Request Timeout"
      : code === "HPE_HEADER_OVERFLOW"
        ? "431 Request Header Fields Too Large"
        : "400 Bad Request";
  const body = JSON.stringify({ success: false, error: PARSER_REASONS[code ?? ""] ?? "malformed request" });
  return `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** A running HTTP front over a committer. */
export interface CollectorServer {
  readonly server: Server;
  readonly url: string;
  readonly committer: GroupCommitter;
  readonly health: StoreHealth;
  /** What the metrics' gauges read at a scrape. */
  readonly gauges: MetricsGauges;
  /** Stops accepting, serves what arrives on open connections, commits it, closes them. */
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL, path: string, expectsContinue: boolean) => Promise<void>;

export async function listen(store: EventStore, host: string, port: number, opts: ServerOptions): Promise<CollectorServer> {
  const prefix = basePrefix(opts.basePath);
  const metrics = opts.metrics ?? NO_METRICS;
  const committer = new GroupCommitter(store, opts.maxPendingEvents, metrics.commit);
  const health = new StoreHealth((padBytes) => store.probe(padBytes), opts.log, {
    writeTimeoutMs: opts.writeTimeoutMs,
    writingSince: () => committer.writingSince,
  });
  health.start();
  // Strangers (no valid key in the header) share what is left once the reserve for keyed requests is set aside; with
  // no write key configured every request is alike, and nothing is reserved.
  const reserving = opts.writeKeys.length > 0;
  const strangersShare = reserving ? Math.max(0, 1 - opts.reservedConnections / opts.maxConnections) : 1;
  const inflight = new InflightBytes(opts.maxInflightBytes, Math.floor(opts.maxInflightBytes * strangersShare));
  const strangers = new RequestSlots(reserving ? Math.max(0, opts.maxConnections - opts.reservedConnections) : Infinity);
  const connections = new Connections(opts.maxConnections, opts.drainIdleMs, opts.evictIdleMs, (text) => metrics.refused(503, text));
  const refused = (res: ServerResponse, status: number, error: string, headers?: Record<string, string>): void => {
    metrics.refused(status, error);
    fail(res, status, error, headers);
  };
  const keyedByHeader = (req: IncomingMessage): boolean => {
    const authorization = req.headers["authorization"];
    const key = reserving && authorization !== undefined ? headerKey(authorization) : undefined;
    return key !== undefined && labelOf(key, opts.writeKeys) !== undefined;
  };

  /** POSTs without a valid key in their header, holding a strangers' slot until they are answered. */
  const strangerRequests = new WeakSet<IncomingMessage>();

  const tracking =
    (route: Route): Handler =>
    async (req, res, _url, _path, expectsContinue) => {
      if (req.method !== "POST") return refused(res, 405, `use POST for ${req.url ?? "/"}`, { allow: "POST" });
      const stranger = strangerRequests.has(req);
      // A body must arrive within its deadline, however slowly its bytes trickle: then 408, and the connection closes.
      const deadline = setTimeout(() => {
        if (!req.complete) refused(res, 408, `request body not received within ${opts.bodyTimeoutMs} ms`, { connection: "close" });
      }, opts.bodyTimeoutMs);
      req.once("end", () => clearTimeout(deadline));
      res.once("close", () => clearTimeout(deadline));
      const hold = inflight.hold(stranger);
      try {
        const got = await ingest(req, route, {
          writeKeys: opts.writeKeys,
          maxBodyBytes: opts.maxBodyBytes,
          hold,
          plan: opts.plan,
          ...(expectsContinue ? { beforeBody: () => res.writeContinue() } : {}),
        });
        if (!got.ok) {
          metrics.refused(got.status, got.reason);
          return answerRefusal(res, got);
        }
        // Its size tells health whether it proves anything: a full disk still takes a write smaller than what failed.
        let bytes = 0;
        for (const m of got.messages) bytes += m.json.length + 1;
        try {
          await committer.add(got.messages, got.refusedCounts);
          health.succeeded(bytes);
          metrics.accepted(got.messages.length);
          for (const c of got.refusedCounts) metrics.planRefused(c.reason, c.n);
          // Messages the plan refused are answered 200 too (see DESIGN, "What this server keeps"): retrying cannot
          // change the answer, and every Segment client retries a 5xx (and some a 4xx) until it gives up.
          send(
            res,
            200,
            got.refusedTotal === 0
              ? { success: true }
              : { success: true, stored: got.messages.length, refused: got.refusedTotal, refusals: got.refused },
          );
        } catch (e) {
          if (e instanceof OverloadedError) return refused(res, 503, "overloaded: retry later", { "retry-after": "1" });
          health.failed(e, bytes);
          refused(res, 503, "storage unavailable: retry later", { "retry-after": "5" });
        }
      } finally {
        hold.release();
      }
    };
  const healthRoute: Handler = async (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return fail(res, 405, "use GET for /health", { allow: "GET" });
    const cause = await health.check();
    if (cause === undefined) send(res, 200, { ok: true });
    else send(res, 503, { ok: false, store: publicCause(cause) }, { "cache-control": "no-store" });
  };
  /** What this collector keeps, for anyone to read (no token): the plan file itself, as `--plan FILE` takes it. */
  const planRoute: Handler = async (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return fail(res, 405, "use GET for /v1/plan", { allow: "GET" });
    if (!opts.plan) return fail(res, 404, "no plan: this collector runs with --plan none and stores every message as sent");
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(opts.plan.text), "cache-control": "max-age=60" });
    res.end(req.method === "HEAD" ? undefined : opts.plan.text);
  };
  const base = tracking("base");
  const routes = new Map<string, Handler>([
    // The base URL: dlt posts here; a browser GETs the dashboard's page.
    [
      "/",
      async (req, res, url, path, expectsContinue) => {
        if (req.method === "POST") return base(req, res, url, path, expectsContinue);
        if (opts.extraRoutes && (await opts.extraRoutes(req, res, url, path))) return;
        fail(res, 405, "use POST to send events here", { allow: "POST" });
      },
    ],
    ["/v1/batch", tracking("batch")],
    ["/v1/plan", planRoute],
    ...MESSAGE_TYPES.map((t) => [`/v1/${t}`, tracking(t)] as const),
    ["/health", healthRoute],
  ]);

  const handle = (req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void => {
    if (!connections.admit(req, res)) return;
    const t0 = performance.now();
    // Only a POST has a body to trickle (the dashboard and /health take none): a stranger's takes a strangers' slot.
    if (req.method === "POST" && !keyedByHeader(req)) {
      if (!strangers.enter()) return connections.refuseStranger(req.socket);
      strangerRequests.add(req);
      res.once("close", () => strangers.leave());
    }
    void (async () => {
      // Repeated slashes are one (`//v1/batch`, an endpoint configured with a trailing slash), as nginx merges them;
      // `new URL("//v1/batch", base)` would also read "v1" as a host.
      const url = requestUrl(req.url ?? "/");
      const path = relative(url.pathname);
      const handler = path === undefined ? (url.pathname === "/health" ? healthRoute : undefined) : routes.get(path);
      if (opts.metrics) {
        const ingesting = handler !== undefined && handler !== healthRoute && (path !== "/" || req.method === "POST");
        const kind = handler === healthRoute ? "health" : ingesting ? "ingest" : path !== undefined && opts.extraRoutes ? "dashboard" : "other";
        res.once("finish", () => metrics.request(kind, (performance.now() - t0) / 1000));
      }
      if (handler) return handler(req, res, url, path ?? url.pathname, expectsContinue);
      if (path !== undefined && opts.extraRoutes && (await opts.extraRoutes(req, res, url, path))) return;
      fail(res, 404, `no route ${req.method} ${url.pathname}`);
    })().catch(() => fail(res, 500, "internal error"));
  };
  /** The path under the base path (one trailing slash dropped), or undefined when outside it. */
  const relative = (pathname: string): string | undefined => {
    let rest: string;
    if (prefix === "") rest = pathname;
    else if (pathname === prefix || pathname.startsWith(prefix + "/")) rest = pathname.slice(prefix.length) || "/";
    else return undefined;
    return rest.length > 1 && rest.endsWith("/") ? rest.slice(0, -1) : rest;
  };

  const server = createServer(
    {
      headersTimeout: opts.headersTimeoutMs,
      requestTimeout: opts.requestTimeoutMs,
      // Node checks both timeouts only this often (default 30 s): a slow client would hold its socket that much longer.
      connectionsCheckingInterval: Math.max(100, Math.min(1000, opts.headersTimeoutMs / 4)),
      keepAliveTimeout: KEEP_ALIVE_MS,
    },
    (req, res) => handle(req, res, false),
  );
  // `Expect: 100-continue`: the key in the header is checked before the client is told to send its body.
  server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => handle(req, res, true));
  server.on("connection", (s: Socket) => connections.accept(s));
  server.on("clientError", (e: NodeJS.ErrnoException, socket: Socket) => {
    // Node's own timeouts arrive here too (headers or whole request too slow): answered as such, unless an answer
    // has begun on this connection.
    const answering = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage?.headersSent === true;
    if (!socket.writable || answering) return void socket.destroy();
    socket.end(parserRefusal(e.code), () => socket.destroy());
  });
  // `Expect:` other than 100-continue: Node's own 417 has no body.
  server.on("checkExpectation", (req: IncomingMessage, res: ServerResponse) => {
    if (!connections.admit(req, res)) return;
    fail(res, 417, `Expect: ${String(req.headers["expect"]).slice(0, 50)} is not supported (only 100-continue)`, { connection: "close" });
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
  let closing: Promise<void> | undefined;
  return {
    server,
    url: `http://${shownHost}:${addr.port}${prefix}`,
    committer,
    health,
    gauges: {
      queuedEvents: () => committer.queued,
      openConnections: () => connections.size,
      inflightBytes: () => inflight.held,
      storeUp: () => (health.failing === undefined ? 1 : 0),
    },
    close() {
      closing ??= (async () => {
        // Stop accepting without http.Server#close, which also closes idle keep-alive connections at once.
        const stopped = new Promise<void>((resolve) => NetServer.prototype.close.call(server, () => resolve()));
        await connections.drain(opts.drainTimeoutMs);
        await stopped;
        // Now http.Server#close only clears its timeout checker (the listener is closed already).
        server.close(() => undefined);
        await committer.drain();
        health.stop();
      })();
      return closing;
    },
  };
}
