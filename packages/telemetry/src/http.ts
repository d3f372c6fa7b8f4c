/**
 * One POST of one body, on node:http(s). The socket is unref'd so an in-flight request never keeps the host
 * alive, and every outcome (status, network error, timeout) is a value, never an exception.
 */
import type http from "node:http";
import { createRequire } from "node:module";
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
    const finish = (o: PostOutcome): void => {
      if (!done) {
        done = true;
        clearTimeout(timer);
        resolve(o);
      }
    };
    let req: http.ClientRequest;
    try {
      const u = new URL(opts.url);
      const mod = client(u.protocol);
      const headers: http.OutgoingHttpHeaders = requestHeaders(opts.body, opts.writeKey);
      req = mod.request(u, { method: "POST", headers, agent: false }, (res) => {
        res.resume(); // drain and discard the answer
        res.on("error", () => undefined);
        finish({ kind: "status", status: res.statusCode ?? 0, ...retryAfter(res.headers["retry-after"]) });
      });
    } catch {
      finish({ kind: "network", code: "EINVAL" });
      return;
    }
    const timer = setTimeout(() => {
      finish({ kind: "network", code: "ETIMEDOUT" });
      req.destroy();
    }, opts.timeoutMs);
    if (!opts.ref) timer.unref();
    req.on("socket", (s) => {
      if (!opts.ref) s.unref();
    });
    req.on("error", (e: NodeJS.ErrnoException) => finish({ kind: "network", code: e.code ?? "ERROR" }));
    req.end(opts.body);
  });
}

function retryAfter(v: string | string[] | undefined): { retryAfterMs?: number } {
  const ms = parseRetryAfter(v);
  return ms === undefined ? {} : { retryAfterMs: ms };
}

/** Network errors, 429 and 5xx are worth another try; any other answer is final. */
export function isRetryable(o: PostOutcome): boolean {
  return o.kind === "network" || o.status === 429 || o.status >= 500;
}

/** Whether the endpoint took the body. */
export function isDelivered(o: PostOutcome): boolean {
  return o.kind === "status" && o.status >= 200 && o.status < 300;
}
