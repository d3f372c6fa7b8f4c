/**
 * The dashboard, served by the collector: `GET /` (page), `/assets/*` (bundled: uPlot and the page's script, no
 * CDN), `/api/<plot>` (JSON computed with SQL). When write keys are configured the dashboard needs a read token —
 * not a write key, because write keys ship inside every client that sends events and so cannot guard reading them.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { IncomingMessage, ServerResponse } from "node:http";
import { timingSafeEqual, createHash } from "node:crypto";
import type { EventStore } from "../store/types.js";
import { QUERIES, type Filter } from "./queries.js";

const require = createRequire(import.meta.url);
const PUBLIC = new URL("../../../public/", import.meta.url);

function asset(name: string): { body: Buffer; type: string } {
  switch (name) {
    case "uplot.js":
      return { body: readFileSync(require.resolve("uplot/dist/uPlot.iife.min.js")), type: "text/javascript; charset=utf-8" };
    case "uplot.css":
      return { body: readFileSync(require.resolve("uplot/dist/uPlot.min.css")), type: "text/css; charset=utf-8" };
    case "app.js":
      return { body: readFileSync(new URL("app.js", PUBLIC)), type: "text/javascript; charset=utf-8" };
    case "app.css":
      return { body: readFileSync(new URL("app.css", PUBLIC)), type: "text/css; charset=utf-8" };
    default:
      throw new Error("no such asset");
  }
}

const digest = (s: string): Buffer => createHash("sha256").update(s).digest();
const same = (a: string, b: string): boolean => timingSafeEqual(digest(a), digest(b));

function tokenOf(req: IncomingMessage, url: URL): string | undefined {
  const q = url.searchParams.get("token");
  if (q) return q;
  const auth = req.headers["authorization"];
  if (auth?.startsWith("Bearer ")) return auth.slice(7);
  const m = /(?:^|;\s*)dlt_dashboard=([^;]+)/.exec(req.headers["cookie"] ?? "");
  return m ? decodeURIComponent(m[1]!) : undefined;
}

function parseTime(v: string | null, fallback: number): number {
  if (v === null || v === "") return fallback;
  const n = Number(v);
  if (Number.isFinite(n)) return n;
  const d = Date.parse(v);
  if (Number.isNaN(d)) throw new RangeError(`not a time: ${v}`);
  return d;
}

/** The dashboard's routes for `startCollector({ extraRoutes })`. `readToken` undefined: open to all. */
export function dashboardRoutes(store: EventStore, readToken: string | undefined) {
  const json = (res: ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(text);
  };
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    const path = url.pathname;
    const isPage = path === "/" || path === "/index.html";
    const isApi = path.startsWith("/api/");
    const isAsset = path.startsWith("/assets/");
    if (!isPage && !isApi && !isAsset) return false;
    if (req.method !== "GET") {
      json(res, 405, { error: "use GET" });
      return true;
    }
    if (isAsset) {
      try {
        const a = asset(path.slice("/assets/".length));
        res.writeHead(200, { "content-type": a.type, "cache-control": "max-age=300" });
        res.end(a.body);
      } catch {
        json(res, 404, { error: "no such asset" });
      }
      return true;
    }
    if (readToken !== undefined) {
      const t = tokenOf(req, url);
      if (t === undefined || !same(t, readToken)) {
        if (isPage) {
          res.writeHead(401, { "content-type": "text/html; charset=utf-8" });
          res.end("<!doctype html><title>dlt-ts telemetry</title><p>This dashboard needs its read token: open <code>/?token=…</code> (printed by <code>dlt-collector</code> at start-up).</p>");
        } else json(res, 401, { error: "missing or wrong read token" });
        return true;
      }
    }
    if (isPage) {
      const headers: Record<string, string> = { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" };
      if (readToken !== undefined) headers["set-cookie"] = `dlt_dashboard=${encodeURIComponent(readToken)}; HttpOnly; SameSite=Strict; Path=/`;
      res.writeHead(200, headers);
      res.end(readFileSync(new URL("index.html", PUBLIC)));
      return true;
    }
    const name = path.slice("/api/".length).replaceAll("-", "_");
    const q = QUERIES[name];
    if (!q) {
      json(res, 404, { error: `no API ${path}; have ${Object.keys(QUERIES).join(", ")}` });
      return true;
    }
    let filter: Filter;
    try {
      const now = Date.now();
      const bucket = url.searchParams.get("bucket") ?? "day";
      if (bucket !== "hour" && bucket !== "day") throw new RangeError("bucket must be hour or day");
      filter = {
        from: parseTime(url.searchParams.get("from"), now - 30 * 86_400_000),
        to: parseTime(url.searchParams.get("to"), now + 60_000),
        event: url.searchParams.get("event") || undefined,
        bucket,
      };
    } catch (e) {
      json(res, 400, { error: (e as Error).message });
      return true;
    }
    const started = performance.now();
    const rows = await q(store, filter);
    json(res, 200, { rows, ms: Math.round(performance.now() - started) });
    return true;
  };
}
