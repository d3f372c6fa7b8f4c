// The page's state: the view and the filters, kept in the address (shareable, reloadable), and the time window and
// query parameters they make. Pure functions of the state; the page holds the current one (main.ts).

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** What the address holds; every value a string, as the address and the form controls have them. */
export interface PageState {
  readonly view: "overview" | "live";
  /** "auto" (fit to the data), "all", "custom" (`from`/`to`), or a number of days. */
  readonly range: string;
  /** `YYYY-MM-DD` of a custom range. */
  readonly from: string;
  readonly to: string;
  /** "auto", "hour" or "day". */
  readonly bucket: string;
  readonly event: string;
  readonly version: string;
  readonly os: string;
  /** "", "true" or "false". */
  readonly ci: string;
}

export const DEFAULTS: PageState = { view: "overview", range: "auto", from: "", to: "", bucket: "auto", event: "", version: "", os: "", ci: "" };
const KEYS = Object.keys(DEFAULTS) as (keyof PageState)[];
/** The form's controls: each has the id of its key. */
export const CONTROLS = ["range", "from", "to", "bucket", "event", "version", "os", "ci"] as const satisfies readonly (keyof PageState)[];
/** The filters every API takes besides the time range. */
const FILTERS = ["event", "version", "os", "ci"] as const satisfies readonly (keyof PageState)[];

/** The state an address says (unknown views are the overview). */
export function readState(href: string): PageState {
  const p = new URL(href).searchParams;
  const s = Object.fromEntries(KEYS.map((k) => [k, p.get(k) ?? DEFAULTS[k]])) as Record<keyof PageState, string>;
  return { ...s, view: s.view === "live" ? "live" : "overview" };
}

/** The address for a state: only what differs from the defaults; other parameters (the read token) are kept. */
export function addressOf(s: PageState, href: string): string {
  const url = new URL(href);
  for (const k of KEYS) {
    if (s[k] === DEFAULTS[k] || s[k] === "" || ((k === "from" || k === "to") && s.range !== "custom")) url.searchParams.delete(k);
    else url.searchParams.set(k, s[k]);
  }
  return url.pathname + url.search + url.hash;
}

export function filterParams(s: PageState): URLSearchParams {
  const p = new URLSearchParams();
  for (const k of FILTERS) if (s[k]) p.set(k, s[k]);
  return p;
}
export const isFiltered = (s: PageState): boolean => FILTERS.some((k) => s[k]);

/** The overview's time window: epoch ms, `to` exclusive. */
export interface TimeWindow {
  readonly from: number;
  readonly to: number;
  readonly bucket: "hour" | "day";
  /** The range starts at the data's first bucket, not at a chosen time. */
  readonly fitted: boolean;
}

/** Start of the bucket holding `t` (UTC, as the database's date_trunc on UTC timestamps). */
export function floorTo(t: number, bucket: "hour" | "day"): number {
  const size = bucket === "hour" ? HOUR : DAY;
  return t - (((t % size) + size) % size);
}

/**
 * The time window of the overview. "fit to the data": the last 30 days, or from the first event when the data is
 * younger than that (fresh data then fills the chart instead of being a spike at its right edge). An "auto"
 * bucket is an hour for up to 3 days, else a day. `first`, `last`: the first and last event's times (epoch ms), null
 * when none. "All time" ends after the last event, even one dated in the future (a client whose clock runs fast).
 */
export function timeWindow(s: PageState, first: number | null, now = Date.now(), last: number | null = null): TimeWindow {
  let from: number;
  let to = now + 60_000;
  let fitted = false;
  if (s.range === "custom") {
    from = s.from ? Date.parse(s.from) : (first ?? now - 30 * DAY);
    if (s.to) to = Date.parse(s.to) + DAY;
  } else if (s.range === "all") {
    from = first ?? now - 30 * DAY;
    if (last !== null && last >= to) to = last + 1;
    fitted = true;
  } else if (s.range === "auto") {
    from = now - 30 * DAY;
    if (first !== null && first > from) {
      from = first;
      fitted = true;
    }
  } else from = now - Number(s.range) * DAY;
  const bucket = s.bucket === "hour" || s.bucket === "day" ? s.bucket : to - from <= 3 * DAY + 60_000 ? "hour" : "day";
  if (fitted) from = floorTo(from, bucket);
  return { from, to, bucket, fitted };
}

/** The parameters of the overview's APIs: the filters and the window. */
export function windowParams(s: PageState, w: TimeWindow): URLSearchParams {
  const p = filterParams(s);
  p.set("from", String(w.from));
  p.set("to", String(w.to));
  p.set("bucket", w.bucket);
  return p;
}

/** The parameters of the live view: the range applies to the time received; "fit to the data" shows everything. */
export function liveParams(s: PageState): URLSearchParams {
  const p = filterParams(s);
  if (s.range !== "auto") {
    const w = timeWindow(s, null);
    p.set("from", String(w.from));
    p.set("to", String(w.to));
  } else p.set("from", "0");
  return p;
}
