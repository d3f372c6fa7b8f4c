/**
 * One POST of one body, on node:http(s). The socket is unref'd so an in-flight request never keeps the host
 * alive, and every outcome (status, network error, timeout) is a value, never an exception.
 */
import type http from "node:http";
import { createRequire } from "node:module";
import { proxyAuthorization, proxyFor } from "./proxy.js";
import { requestHeaders } from "./request.js";

// node:http and node:https (which pulls in TLS) load on the first send only, never at a host's start-up.
const requireBuiltin = createRequire(import.meta.url);
const client = (protocol: string): typeof import("node:http") =>
  requireBuiltin(protocol === "https:" ? "node:https" : "node:http") as typeof import("node:http");

/** How a POST ended. */
export type PostOutcome =
  | { readonly kind: "status"; readonly status: number; readonly retryAfterMs?: number }
  | { readonly kind: "network"; readonly code: string };

export interface PostOptions {
  readonly url: string;
  readonly body: string;
  readonly writeKey?: string | undefined;
  readonly timeoutMs: number;
  /** Keep the socket ref'd (the detached sender wants its requests to finish). */
  readonly ref?: boolean;
  /** Where proxy settings are read (default `process.env`). */
  readonly env?: NodeJS.ProcessEnv;
}

function parseRetryAfter(v: string | string[] | undefined): number | undefined {
  if (typeof v !== "string") return undefined;
  const s = Number(v);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const d = Date.parse(v);
  return Number.isFinite(d) ? Math.max(0, d - Date.now()) : undefined;
}

export function post(opts: PostOptions): Promise<PostOutcome> {
  return new Promise<PostOutcome>((resolve) => {
    let done = false;
    let current: http.ClientRequest | undefined;
    const finish = (o: PostOutcome): void => {
      if (!done) {
        done = true;
        clearTimeout(timer);
        current?.destroy();
        resolve(o);
      }
    };
    const timer = setTimeout(() => finish({ kind: "network", code: "ETIMEDOUT" }), opts.timeoutMs);
    if (!opts.ref) timer.unref();
    const watch = (req: http.ClientRequest): http.ClientRequest => {
      current = req;
      req.on("socket", (s) => {
        if (!opts.ref) s.unref();
      });
      req.on("error", (e: NodeJS.ErrnoException) => finish({ kind: "network", code: e.code ?? "ERROR" }));
      return req;
    };
    const onResponse = (res: http.IncomingMessage): void => {
      res.resume(); // drain and discard the answer
      res.on("error", () => undefined);
      current = undefined; // answered: nothing to destroy
      finish({ kind: "status", status: res.statusCode ?? 0, ...retryAfter(res.headers["retry-after"]) });
    };
    try {
      const u = new URL(opts.url);
      const headers: http.OutgoingHttpHeaders = requestHeaders(opts.body, opts.writeKey);
      const proxy = proxyFor(u, opts.env ?? process.env);
      if (!proxy) {
        watch(client(u.protocol).request(u, { method: "POST", headers, agent: false }, onResponse)).end(opts.body);
      } else if (u.protocol === "http:") {
        // Plain HTTP through a proxy: the absolute-form request line.
        const req = client(proxy.protocol).request(
          {
            host: proxy.hostname,
            port: proxy.port || (proxy.protocol === "https:" ? 443 : 80),
            method: "POST",
            path: u.href,
            headers: { ...headers, host: u.host, ...proxyAuthorization(proxy) },
            agent: false,
          },
          onResponse,
        );
        watch(req).end(opts.body);
      } else {
        // HTTPS through a proxy: a CONNECT tunnel, then TLS to the endpoint inside it.
        const target = `${u.hostname}:${u.port || 443}`;
        const connect = client(proxy.protocol).request({
          host: proxy.hostname,
          port: proxy.port || (proxy.protocol === "https:" ? 443 : 80),
          method: "CONNECT",
          path: target,
          headers: { host: target, ...proxyAuthorization(proxy) },
          agent: false,
        });
        connect.on("connect", (res, socket) => {
          if (res.statusCode !== 200) {
            socket.destroy();
            finish({ kind: "network", code: `EPROXY${res.statusCode ?? ""}` });
            return;
          }
          if (!opts.ref) socket.unref();
          const tls = requireBuiltin("node:tls") as typeof import("node:tls");
          const req = client("https:").request(
            u,
            {
              method: "POST",
              headers,
              agent: false,
              createConnection: () => tls.connect({ socket, servername: u.hostname }),
            },
            onResponse,
          );
          watch(req).end(opts.body);
        });
        watch(connect).end();
      }
    } catch {
      finish({ kind: "network", code: "EINVAL" });
    }
  });
}

function retryAfter(v: string | string[] | undefined): { retryAfterMs?: number } {
  const ms = parseRetryAfter(v);
  return ms === undefined ? {} : { retryAfterMs: ms };
}

/**
 * Network errors, 408, 429, 5xx and redirects are worth another try; any other answer is final. A redirect is never
 * followed (it could send the events to a host the user did not choose): the events are kept for later, as for a
 * server that is down, since a proxy or a moved endpoint answering 3xx is a fault of the path, not of the events.
 */
export function isRetryable(o: PostOutcome): boolean {
  return o.kind === "network" || o.status === 408 || o.status === 429 || (o.status >= 300 && o.status < 400) || o.status >= 500;
}

/** Whether the endpoint took the body. */
export function isDelivered(o: PostOutcome): boolean {
  return o.kind === "status" && o.status >= 200 && o.status < 300;
}
