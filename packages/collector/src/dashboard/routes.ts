/**
 * The dashboard, served by the collector under its base path `P`: `GET P/` (page), `P/assets/*` (bundled: uPlot,
 * the page's modules, style and icon, no CDN), `P/api/<plot>` (JSON computed with SQL; `P/api/events` pages through
 * the stored events), `P/api/setup` (what the page needs to tell a client how to send). When write keys are configured
 * the dashboard needs a read token — not a write key, because write keys ship inside every client that sends events
 * and so cannot guard reading them. `?token=` is read by the page only, which turns it into a cookie: the APIs take
 * that cookie or `Authorization: Bearer`, so a token does not end up in access logs with every API call. Every answer
 * carries the security headers below. Asset and API names are own entries of Maps: `/api/constructor` is a 404 like
 * any unknown name.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { timingSafeEqual, createHash } from "node:crypto";
import type { EventStore } from "../store/types.js";
import { DASHBOARD_APIS, MAX_EVENTS_LIMIT, pageSize, QUERIES, type EventCursor, type Filter, type Rows } from "./apis.js";

const require = createRequire(import.meta.url);
const PUBLIC = new URL("../../../public/", import.meta.url);
/** The page's modules, compiled by `tsc -b` from `public/*.ts` (`public/tsconfig.json`). */
const PAGE_MODULES = new URL("../../public/", import.meta.url);

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";
type Asset = () => { body: Buffer; type: string };
const file =
  (path: string | URL, type: string): Asset =>
  () => ({ body: readFileSync(path), type });
const ASSETS = new Map<string, Asset>([
  ["uplot.js", file(require.resolve("uplot/dist/uPlot.iife.min.js"), JS)],
  ["uplot.css", file(require.resolve("uplot/dist/uPlot.min.css"), CSS)],
  ["app.css", file(new URL("app.css", PUBLIC), CSS)],
  ["favicon.svg", file(new URL("favicon.svg", PUBLIC), "image/svg+xml")],
  // The page imports the API names from here, so it never repeats DASHBOARD_APIS (public/apis.d.ts types it).
  ["apis.js", () => ({ body: Buffer.from(`export const DASHBOARD_APIS = ${JSON.stringify(DASHBOARD_APIS)};\n`), type: JS })],
  ...readdirSync(PAGE_MODULES)
    .filter((name) => name.endsWith(".js"))
    .map((name): [string, Asset] => [name, file(new URL(name, PAGE_MODULES), JS)]),
]);

/**
 * The page's Content-Security-Policy: its own scripts, styles, images and API only. No inline script or handler (the
 * page has none: index.html loads `assets/main.js`), and no `style` attribute in markup: the page and uPlot set
 * styles through the CSSOM (`el.style.x = …`), which CSP allows. `form-action 'self'`: the filters' form submits to
 * the page itself (Enter in a date field). Nothing may frame it (clickjacking), and `<base>` may only name this origin.
 */
const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** On every answer of the dashboard: no MIME sniffing, no framing, no address (it may hold the token) sent onward. */
const SECURITY_HEADERS: OutgoingHttpHeaders = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
};
/** The page's, and its read-token page's: the CSP too, and never cached (the page sets the token's cookie). */
const PAGE_HEADERS: OutgoingHttpHeaders = {
  ...SECURITY_HEADERS,
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "content-security-policy": PAGE_CSP,
};

const digest = (s: string): Buffer => createHash("sha256").update(s).digest();
const same = (a: string, b: string): boolean => timingSafeEqual(digest(a), digest(b));

/**
 * The token a request presents (Bearer, or the page's cookie; `?token=` on the page only), or why the cookie cannot
 * be read.
 */
function tokenOf(req: IncomingMessage, url: URL, isPage: boolean): { token: string | undefined } | { error: string } {
  const q = isPage ? url.searchParams.get("token") : null;
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

/** `limit` of the live view: a whole number from 1 to MAX_EVENTS_LIMIT. */
function parseLimit(v: string | null): number | undefined {
  if (v === null || v === "") return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n < 1 || n > MAX_EVENTS_LIMIT)
    throw new RangeError(`limit: must be a whole number from 1 to ${MAX_EVENTS_LIMIT}: ${v.slice(0, 100)}`);
  return n;
}

/** `before` of the live view: a row's `cursor`, `<µs since the epoch>.<message id>`. */
function parseCursor(v: string | null): EventCursor | undefined {
  if (v === null || v === "") return undefined;
  const m = /^(\d{1,16})\.(.{1,256})$/s.exec(v);
  if (!m || !Number.isSafeInteger(Number(m[1]))) throw new RangeError(`before: not a cursor of /api/events (a row's "cursor"): ${v.slice(0, 100)}`);
  return { receivedUs: Number(m[1]), messageId: m[2]! };
}

function parseCi(v: string | null): boolean | undefined {
  if (v === null || v === "") return undefined;
  if (v === "true" || v === "false") return v === "true";
  throw new RangeError(`ci: must be true or false: ${v.slice(0, 100)}`);
}

/** A text filter (`event`, `version`, `os`): as given, within the length a stored column can have. */
function parseText(name: string, v: string | null): string | undefined {
  if (v === null || v === "") return undefined;
  if (v.length > 500) throw new RangeError(`${name}: longer than 500 characters`);
  return v;
}

/** What the dashboard is told about the collector beyond its data. */
export interface DashboardInfo {
  /** Labels of the accepted write keys (never the keys); empty when the collector takes events from anyone. */
  readonly writeKeyLabels?: readonly string[];
  /** `--retain-days`: events are kept this many days; undefined: forever. */
  readonly retainDays?: number | undefined;
  /** How long raw events are kept (`--raw-days`), when shorter than the aggregates. */
  readonly rawDays?: number | undefined;
}

/**
 * Most rows an API answers (the live view pages instead); past it the answer says `truncated: <rows there were>`.
 * Time series hold a row per bucket and series (a week by the hour of ten events is 1,680); the others list
 * categories, most first, and a page of more than 500 bars or rows is not read anyway.
 */
export const MAX_ROWS = 2000;
export const MAX_CATEGORY_ROWS = 500;
const SERIES_APIS: ReadonlySet<string> = new Set(["events_over_time", "failure_rate", "installs"]);

/**
 * The dashboard's routes for `listen({ extraRoutes })`. `readToken` undefined: open to all. `prefix` is the base path
 * without its trailing slash (`` for `/`): the page is given `<base href="P/">` so its relative URLs resolve under it.
 */
export function dashboardRoutes(store: EventStore, readToken: string | undefined, prefix = "", info: DashboardInfo = {}) {
  const json = (res: ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { ...SECURITY_HEADERS, "content-type": "application/json", "cache-control": "no-store" });
    res.end(text);
  };
  const page = readFileSync(new URL("index.html", PUBLIC), "utf8").replace("<head>", `<head>\n<base href="${prefix}/">`);
  // Without the token: the page's head (its title, icon and style), and what to do.
  const askToken = `${page.slice(0, page.indexOf("<body>"))}<body>
<header><h1><img src="assets/favicon.svg" alt="" width="20" height="20"> dlt-ts telemetry</h1></header>
<section class="setup"><p>This dashboard needs its read token, printed by <code>dlt-collector</code> at start-up (a generated one is kept beside its database, so it stays the same across restarts).</p>
<form method="get" action="./"><label>Read token <input name="token" type="password" autocomplete="current-password" required></label> <button type="submit">Open the dashboard</button></form></section>
</body>
</html>
`;
  const setup = { basePath: `${prefix}/`, writeKeyLabels: info.writeKeyLabels ?? [] };
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
        res.writeHead(200, { ...SECURITY_HEADERS, "content-type": a.type, "cache-control": "max-age=300" });
        res.end(a.body);
      }
      return true;
    }
    if (readToken !== undefined) {
      const t = tokenOf(req, url, isPage);
      if ("error" in t) {
        json(res, 400, { error: t.error });
        return true;
      }
      if (t.token === undefined || !same(t.token, readToken)) {
        if (isPage) {
          res.writeHead(401, PAGE_HEADERS);
          res.end(askToken);
        } else if (url.searchParams.has("token")) {
          json(res, 401, {
            error: "missing or wrong read token: ?token= opens the page only; an API takes the page's cookie or Authorization: Bearer",
          });
        } else json(res, 401, { error: "missing or wrong read token" });
        return true;
      }
    }
    if (isPage) {
      const headers: OutgoingHttpHeaders = { ...PAGE_HEADERS };
      if (readToken !== undefined)
        headers["set-cookie"] = `dlt_dashboard=${encodeURIComponent(readToken)}; HttpOnly; SameSite=Strict; Path=${prefix}/`;
      res.writeHead(200, headers);
      res.end(page);
      return true;
    }
    const name = path.slice("/api/".length).replaceAll("-", "_");
    if (name === "setup") {
      json(res, 200, setup);
      return true;
    }
    const api = QUERIES.get(name);
    if (!api) {
      json(res, 404, { error: `no API ${url.pathname}; have ${[...QUERIES.keys(), "setup"].join(", ")}` });
      return true;
    }
    let filter: Filter;
    try {
      const now = Date.now();
      const bucket = url.searchParams.get("bucket") ?? "day";
      if (bucket !== "hour" && bucket !== "day") throw new RangeError("bucket: must be hour or day");
      const p = url.searchParams;
      filter = {
        from: parseTime("from", p.get("from"), now - 30 * 86_400_000),
        to: parseTime("to", p.get("to"), now + 60_000),
        event: parseText("event", p.get("event")),
        bucket,
        version: parseText("version", p.get("version")),
        os: parseText("os", p.get("os")),
        ci: parseCi(p.get("ci")),
        limit: parseLimit(p.get("limit")),
        before: parseCursor(p.get("before")),
      };
    } catch (e) {
      json(res, 400, { error: (e as Error).message });
      return true;
    }
    const started = performance.now();
    let rows: Rows;
    try {
      rows = await store.dashboard(api, filter);
    } catch (e) {
      // A store that is down or too slow for this view: say so (the page shows it), not a bare 500.
      json(res, 503, { error: `the store did not answer: ${(e as Error).message}` });
      return true;
    }
    const ms = Math.round(performance.now() - started);
    // Bounded answers: a collector with `--plan none` can hold any number of event names (20,000 made `failures` 60,001
    // rows, 9.5 MB, and the page 560k DOM nodes). Past the cap the rows are cut and `truncated` says how many there were.
    let truncated: number | undefined;
    const cap = SERIES_APIS.has(api) ? MAX_ROWS : MAX_CATEGORY_ROWS;
    if (api !== "events" && rows.length > cap) {
      truncated = rows.length;
      rows = rows.slice(0, cap);
    }
    const cut = truncated === undefined ? {} : { truncated };
    if (api === "events") {
      // The next page starts after the last row, when this page is full.
      const next = rows.length === pageSize(filter) ? (rows[rows.length - 1]?.["cursor"] ?? null) : null;
      json(res, 200, { rows, next, ms });
    } else if (api === "summary") {
      // The summary carries the retention, for the page's line under the numbers ("events are kept 90 days").
      json(res, 200, { rows, ms, retain_days: info.retainDays ?? null, raw_days: info.rawDays ?? null, ...cut });
    } else json(res, 200, { rows, ms, ...cut });
    return true;
  };
}
