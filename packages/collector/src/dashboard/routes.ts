/**
 * The dashboard, served by the collector under its base path `P`: `GET P/` (page), `P/assets/*` (bundled: uPlot and
 * the page's script, no CDN), `P/api/<plot>` (JSON computed with SQL). When write keys are configured the dashboard
 * needs a read token — not a write key, because write keys ship inside every client that sends events and so cannot
 * guard reading them. Asset and API names are own entries of Maps: `/api/constructor` is a 404 like any unknown name.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { IncomingMessage, ServerResponse } from "node:http";
import { timingSafeEqual, createHash } from "node:crypto";
import type { EventStore } from "../store/types.js";
import { QUERIES, type Filter } from "./queries.js";

/** What the page says about the collector beside the data. */
export interface DashboardInfo {
  /** `--retain-days`: events are kept this many days; undefined: forever. */
  readonly retainDays?: number | undefined;
}

const require = createRequire(import.meta.url);
const PUBLIC = new URL("../../../public/", import.meta.url);

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";
const ASSETS = new Map<string, () => { body: Buffer; type: string }>([
  ["uplot.js", () => ({ body: readFileSync(require.resolve("uplot/dist/uPlot.iife.min.js")), type: JS })],
  ["uplot.css", () => ({ body: readFileSync(require.resolve("uplot/dist/uPlot.min.css")), type: CSS })],
  ["app.js", () => ({ body: readFileSync(new URL("app.js", PUBLIC)), type: JS })],
  ["app.css", () => ({ body: readFileSync(new URL("app.css", PUBLIC)), type: CSS })],
]);

const digest = (s: string): Buffer => createHash("sha256").update(s).digest();
const same = (a: string, b: string): boolean => timingSafeEqual(digest(a), digest(b));

/** The token a request presents (query, Bearer, or the page's cookie), or why the cookie cannot be read. */
function tokenOf(req: IncomingMessage, url: URL): { token: string | undefined } | { error: string } {
  const q = url.searchParams.get("token");
  if (q) return { token: q };
  const auth = req.headers["authorization"];
  if (auth?.startsWith("Bearer ")) return { token: auth.slice(7) };
  const m = /(?:^|;\s*)dlt_dashboard=([^;]*)/.exec(req.headers["cookie"] ?? "");
  if (!m) return { token: undefined };
  try {
    return { token: decodeURIComponent(m[1]!) };
  } catch {
    return { error: "cookie dlt_dashboard: not a URI-encoded token" };
  }
}

/** JavaScript's own range of dates (±8.64e15 ms), which DuckDB's timestamps hold too. */
const MAX_TIME_MS = 8.64e15;

function parseTime(name: string, v: string | null, fallback: number): number {
  if (v === null || v === "") return fallback;
  const n = v.trim() !== "" && Number.isFinite(Number(v)) ? Number(v) : Date.parse(v);
  if (Number.isNaN(n)) throw new RangeError(`${name}: not a time: ${v.slice(0, 100)}`);
  if (Math.abs(n) > MAX_TIME_MS) throw new RangeError(`${name}: out of range: ${v.slice(0, 100)} (epoch ms within ±8.64e15, or an ISO date)`);
  return n;
}

/**
 * The dashboard's routes for `listen({ extraRoutes })`. `readToken` undefined: open to all. `prefix` is the base path
 * without its trailing slash (`` for `/`): the page is given `<base href="P/">` so its relative URLs resolve under it.
 */
export function dashboardRoutes(store: EventStore, readToken: string | undefined, prefix = "", info: DashboardInfo = {}) {
  const json = (res: ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(text);
  };
  const page = readFileSync(new URL("index.html", PUBLIC), "utf8").replace("<head>", `<head>\n<base href="${prefix}/">`);
  return async (req: IncomingMessage, res: ServerResponse, url: URL, path: string): Promise<boolean> => {
    const isPage = path === "/" || path === "/index.html";
    const isApi = path.startsWith("/api/");
    const isAsset = path.startsWith("/assets/");
    if (!isPage && !isApi && !isAsset) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      json(res, 405, { error: "use GET" });
      return true;
    }
    if (isAsset) {
      const a = ASSETS.get(path.slice("/assets/".length))?.();
      if (!a) json(res, 404, { error: "no such asset" });
      else {
        res.writeHead(200, { "content-type": a.type, "cache-control": "max-age=300" });
        res.end(a.body);
      }
      return true;
    }
    if (readToken !== undefined) {
      const t = tokenOf(req, url);
      if ("error" in t) {
        json(res, 400, { error: t.error });
        return true;
      }
      if (t.token === undefined || !same(t.token, readToken)) {
        if (isPage) {
          res.writeHead(401, { "content-type": "text/html; charset=utf-8" });
          res.end("<!doctype html><title>dlt-ts telemetry</title><p>This dashboard needs its read token: open <code>?token=…</code> (printed by <code>dlt-collector</code> at start-up).</p>");
        } else json(res, 401, { error: "missing or wrong read token" });
        return true;
      }
    }
    if (isPage) {
      const headers: Record<string, string> = { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" };
      if (readToken !== undefined) headers["set-cookie"] = `dlt_dashboard=${encodeURIComponent(readToken)}; HttpOnly; SameSite=Strict; Path=${prefix}/`;
      res.writeHead(200, headers);
      res.end(page);
      return true;
    }
    const name = path.slice("/api/".length).replaceAll("-", "_");
    const api = QUERIES.get(name);
    if (!api) {
      json(res, 404, { error: `no API ${url.pathname}; have ${[...QUERIES.keys()].join(", ")}` });
      return true;
    }
    let filter: Filter;
    try {
      const now = Date.now();
      const bucket = url.searchParams.get("bucket") ?? "day";
      if (bucket !== "hour" && bucket !== "day") throw new RangeError("bucket: must be hour or day");
      filter = {
        from: parseTime("from", url.searchParams.get("from"), now - 30 * 86_400_000),
        to: parseTime("to", url.searchParams.get("to"), now + 60_000),
        event: url.searchParams.get("event") || undefined,
        bucket,
      };
    } catch (e) {
      json(res, 400, { error: (e as Error).message });
      return true;
    }
    const started = performance.now();
    const rows = await store.dashboard(api, filter);
    const ms = Math.round(performance.now() - started);
    // The summary carries the retention, for the page's header line ("events are kept 90 days").
    json(res, 200, api === "summary" ? { rows, ms, retain_days: info.retainDays ?? null } : { rows, ms });
    return true;
  };
}
