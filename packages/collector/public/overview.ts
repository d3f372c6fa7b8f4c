// The overview: every API the collector lists (bar the live view's, `extent` and `platforms`) asked at once with the
// current filters, and each card drawn from its answer; the number cards compare with the previous period.
import { DASHBOARD_APIS, type DashboardApi } from "./apis.js";
import { answer, rowsOf, type Answer, type Row } from "./api.js";
import { bars, type Charts, MAX_SERIES, table, topSeries, type Column, type Series } from "./charts.js";
import { $, ensureOption, fmt, h, percent } from "./dom.js";
import { DAY, HOUR, isFiltered, windowParams, type PageState, type TimeWindow } from "./state.js";

/**
 * APIs the overview does not draw: `extent` is asked first (it decides the window), `events` is the live view's,
 * `platforms` is drawn in full by `runtimes` and `os_versions`.
 */
type NotDrawn = "extent" | "events" | "platforms";
type OverviewApi = Exclude<DashboardApi, NotDrawn>;
const NOT_DRAWN: ReadonlySet<DashboardApi> = new Set<NotDrawn>(["extent", "events", "platforms"]);
const OVERVIEW_APIS = DASHBOARD_APIS.filter((name): name is OverviewApi => !NOT_DRAWN.has(name));

/** The overview's answers: each API's rows, and the previous period's summary (none for "all time"). */
export interface OverviewData {
  readonly rows: Readonly<Record<OverviewApi, readonly Row[]>>;
  readonly summary: Answer;
  readonly previous: Row | null;
  /** The APIs whose rows the collector cut at its cap, with how many rows there were. */
  readonly truncated: ReadonlyMap<OverviewApi, number>;
}

/** Asks every API of the overview for the window `w`, and the summary of the period before it, at once. */
export async function loadOverview(s: PageState, w: TimeWindow): Promise<OverviewData> {
  const p = windowParams(s, w);
  const prevParams = new URLSearchParams(p);
  prevParams.set("from", String(w.from - (w.to - w.from)));
  prevParams.set("to", String(w.from));
  const [answers, previous] = await Promise.all([
    Promise.all(OVERVIEW_APIS.map((n) => answer(n, p))),
    s.range === "all" ? null : rowsOf("summary", prevParams),
  ]);
  const rows = Object.fromEntries(OVERVIEW_APIS.map((n, i) => [n, answers[i]!.rows])) as Record<OverviewApi, readonly Row[]>;
  const truncated = new Map<OverviewApi, number>();
  OVERVIEW_APIS.forEach((n, i) => {
    const t = answers[i]!.truncated;
    if (t !== undefined) truncated.set(n, t);
  });
  return { rows, summary: answers[OVERVIEW_APIS.indexOf("summary")]!, previous: previous?.[0] ?? null, truncated };
}

/** Draws every card. `choose` sets filters (a click on a failing command drills down). */
export function drawOverview(s: PageState, w: TimeWindow, data: OverviewData, charts: Charts, choose: (changes: Partial<PageState>) => void): void {
  const r = data.rows;
  const filtered = isFiltered(s);
  document.body.dataset["window"] = JSON.stringify(w);
  showRetention(data.summary.retain_days ?? null, data.summary.raw_days ?? null);
  showTruncated(data.truncated);
  summary(r.summary[0] ?? {}, data.previous, w);
  charts.timeSeries(
    "events_over_time",
    w,
    topSeries(r.events_over_time, "event", "n"),
    "bars",
    (x) => ({ value: x.total, text: fmt(x.total) }),
    filtered,
  );

  const failing = { name: "all commands and steps", values: new Map<number, number>(), n: 0, failed: 0 };
  for (const x of r.failure_rate) {
    failing.values.set(Number(x["t"]), Number(x["failed"]) / Number(x["n"]));
    failing.n += Number(x["n"]);
    failing.failed += Number(x["failed"]);
  }
  charts.timeSeries(
    "failure_rate",
    w,
    r.failure_rate.length ? [failing] : [],
    "lines",
    (x) => ({
      value: (x.failed / x.n).toFixed(4),
      text: `${percent(x.failed / x.n)} failed (${fmt(x.failed)} of ${fmt(x.n)})`,
    }),
    filtered,
  );
  drawFailures(s, r.failures, choose);

  const rates = new Map<string, Series & { ok: number; n: number }>();
  for (const x of r.success_rate) {
    const event = String(x["event"]);
    let rate = rates.get(event);
    if (!rate) rates.set(event, (rate = { name: event, values: new Map(), ok: 0, n: 0 }));
    rate.values.set(Number(x["t"]), Number(x["rate"]));
    rate.ok += Number(x["rate"]) * Number(x["n"]);
    rate.n += Number(x["n"]);
  }
  charts.timeSeries(
    "success_rate",
    w,
    [...rates.values()].sort((a, b) => a.name.localeCompare(b.name)).slice(0, MAX_SERIES),
    "lines",
    (x) => ({
      value: ((100 * x.ok) / x.n).toFixed(1),
      text: `${((100 * x.ok) / x.n).toFixed(1)} % of ${fmt(x.n)}`,
    }),
    filtered,
  );

  // Each version's share of the events of each bucket.
  const perBucket = new Map<number, number>();
  for (const x of r.version_share) perBucket.set(Number(x["t"]), (perBucket.get(Number(x["t"])) ?? 0) + Number(x["n"]));
  const shares = topSeries(r.version_share, "version", "n");
  const allEvents = [...perBucket.values()].reduce((a, b) => a + b, 0);
  for (const x of shares) for (const [t, n] of x.values) x.values.set(t, n / perBucket.get(t)!);
  charts.timeSeries(
    "version_share",
    w,
    shares,
    "lines",
    (x) => ({ value: (x.total / allEvents).toFixed(4), text: `${percent(x.total / allEvents)} of the events` }),
    filtered,
  );

  // New installs: the first run of each version on a machine (`first_run_of_version`), stacked per version.
  charts.timeSeries(
    "installs",
    w,
    topSeries(r.installs, "version", "n"),
    "bars",
    (x) => ({ value: x.total, text: `${fmt(x.total)} ${x.total === 1 ? "install" : "installs"}` }),
    filtered,
    filtered
      ? "no first runs match these filters in this range"
      : "no first runs in this range: installs are counted from events that carry first_run_of_version (dlt-ts sends it; Python dlt does not)",
  );

  bars("versions", r.versions, { key: "version", value: "n", filtered });
  bars("runtimes", r.runtimes, { key: "runtime", value: "n", filtered });
  bars("os_versions", r.os_versions, { key: "os", value: "n", filtered });
  const ciTotal = r.ci.reduce((a, x) => a + Number(x["n"]), 0);
  bars("ci", r.ci, { key: "ci", value: "n", label: (x) => `${x["ci"]} (${((100 * Number(x["n"])) / ciTotal).toFixed(0)} %)`, filtered });
  bars("exec_info", r.exec_info, { key: "env", value: "n", filtered });
  bars("commands", r.commands, { key: "command", value: "n", filtered });

  const inits: Column[] = [
    ["source", "source"],
    ["destination", "destination"],
    ["n", "inits", fmt],
    ["failed", "failed", failedCell],
  ];
  table($('[data-plot="inits"] table'), inits, r.inits, (x) => `${x["source"]} → ${x["destination"]}`, { filtered });
  bars("sources", r.sources, { key: "source", value: "n", filtered });
  const initDestinations = r.destinations.filter((x) => Number(x["inits"]) > 0).sort((a, b) => Number(b["inits"]) - Number(a["inits"]));
  bars("init_destinations", initDestinations, { key: "destination", value: "inits", filtered });
  bars(
    "destinations",
    r.destinations.filter((x) => Number(x["runs"]) > 0),
    { key: "destination", value: "runs", filtered },
  );
  drawStepsByDestination(r.steps_by_destination, filtered);
  table(
    $('[data-plot="elapsed"] table'),
    [
      ["event", "event"],
      ["n", "n", fmt],
      ["p50", "median"],
      ["p95", "p95"],
    ],
    r.elapsed,
    (x) => String(x["event"]),
    { filtered },
  );
  const reasons: Column[] = [
    ["reason", "reason", (v) => REFUSAL_TEXT[String(v)] ?? String(v)],
    ["event", "event"],
    ["n", "refused", fmt],
  ];
  table($('[data-plot="refused"] table'), reasons, r.refused, (x) => `${x["reason"]} ${x["event"] ?? ""}`, {
    filtered: false,
    empty: "nothing refused in this range",
  });

  fillOptions(r.filter_values, r.event_names);
  document.body.dataset["loaded"] = String(Number(document.body.dataset["loaded"] ?? 0) + 1);
}

/** The reasons of `refused` (the collector's `REFUSAL_REASONS`), as the page says them. */
const REFUSAL_TEXT: Readonly<Record<string, string>> = {
  unknown_event: "event not in the plan",
  not_track: "not a track message",
  bad_anonymous_id: "anonymousId missing or not an id",
};

/** The collector's --retain-days, as the summary API gives it (null: kept until someone removes them). */
function showRetention(days: number | null, rawDays: number | null): void {
  const el = $("#retention");
  el.dataset["days"] = days === null ? "" : String(days);
  el.dataset["rawDays"] = rawDays === null ? "" : String(rawDays);
  const plural = (n: number): string => `${fmt(n)} day${n === 1 ? "" : "s"}`;
  const kept =
    days === null
      ? "Events are kept until removed (the collector has no --retain-days)."
      : `Events are kept ${plural(days)}: older days are removed daily.`;
  // Past --raw-days only the aggregates are left: every chart still covers them, by whole hours; the live view does not.
  el.textContent =
    rawDays === null
      ? kept
      : `${kept.replace(/^Events are/, "Their aggregates are")} Raw events are kept ${plural(rawDays)}: the live events cover the last ${plural(rawDays)}, and a range older than that is counted by whole hours.`;
  const live = $("#live-raw");
  live.hidden = rawDays === null;
  live.textContent =
    rawDays === null ? "" : `Raw events are kept ${plural(rawDays)} (--raw-days): older events are counted in the overview's charts only.`;
}

/** Fills the event, version and OS filters with what the collector received (a chosen value stays). */
export function fillOptions(values: readonly Row[], names: readonly Row[]): void {
  const add = (select: HTMLSelectElement, items: readonly (readonly [string, string])[]): void => {
    const current = select.value;
    const keep = select.options[0]!;
    select.replaceChildren(keep, ...items.map(([v, label]) => new Option(label, v)));
    ensureOption(select, current);
    select.value = current;
  };
  const choices = (kind: string) =>
    values.filter((r) => r["kind"] === kind).map((r) => [String(r["value"]), `${r["value"]} (${fmt(r["n"])})`] as const);
  add(
    $<HTMLSelectElement>("#event"),
    names.map((r) => [String(r["event"]), `${r["event"]} (${fmt(r["n"])})`] as const),
  );
  add($<HTMLSelectElement>("#version"), choices("version"));
  add($<HTMLSelectElement>("#os"), choices("os"));
}

// --- the summary and its comparison with the previous period -----------------------------------------------------
interface Delta {
  readonly text: string;
  readonly value: string;
  readonly dir?: number;
}

function delta(cur: number | null, prev: number | null | undefined, kind: "count" | "rate"): Delta {
  if (prev === null || prev === undefined) return { text: "", value: "" };
  if (kind === "rate") {
    if (cur === null) return { text: "", value: "" };
    const d = 100 * (cur - prev);
    return { text: `${d > 0 ? "▲" : d < 0 ? "▼" : "="} ${Math.abs(d).toFixed(1)} pt`, value: d.toFixed(1), dir: Math.sign(d) };
  }
  const now = cur ?? 0;
  if (prev === 0) return now > 0 ? { text: "▲ new", value: "new", dir: 1 } : { text: "= 0", value: "0", dir: 0 };
  const d = (100 * (now - prev)) / prev;
  return { text: `${d > 0 ? "▲" : d < 0 ? "▼" : "="} ${Math.abs(d).toFixed(0)} %`, value: d.toFixed(1), dir: Math.sign(d) };
}

const STATS = [
  ["events", "events", "count"],
  ["pipeline_runs", "pipeline runs", "count"],
  ["commands", "commands", "count"],
  ["success_rate", "succeeded", "rate"],
] as const;

function summary(s: Row, prev: Row | null, w: TimeWindow): void {
  const el = $("#summary");
  el.replaceChildren();
  const span = spanText(w.to - w.from);
  const numberOf = (v: Row[string] | undefined): number | null => (v === null || v === undefined ? null : Number(v));
  for (const [k, label, kind] of STATS) {
    const cur = numberOf(s[k]);
    const before = prev ? numberOf(prev[k]) : undefined;
    const d = delta(cur, before, kind);
    const shown = kind === "rate" ? (cur === null ? "–" : percent(cur)) : fmt(cur ?? 0);
    // For the success rate up is good; for counts the arrow only says which way.
    const tone = kind === "rate" ? (d.dir !== undefined && d.dir > 0 ? "good" : d.dir !== undefined && d.dir < 0 ? "bad" : "") : "";
    const prevText = before === undefined ? "" : kind === "rate" ? (before === null ? "–" : percent(before)) : fmt(before ?? 0);
    el.append(
      h(
        "div",
        { class: "stat", dataset: { key: k, value: String(s[k] ?? ""), delta: d.value, previous: before === undefined ? "" : String(before ?? "") } },
        h("b", {}, shown),
        h("span", {}, label),
        prev ? h("small", { class: `delta ${tone}`, title: `previous ${span}: ${prevText}` }, d.text || "–", " vs previous ", span) : null,
      ),
    );
  }
}

// --- failures ------------------------------------------------------------------------------------------------------
const rateOf = (r: Row): number => (Number(r["n"]) ? Number(r["failed"]) / Number(r["n"]) : 0);
const failedCell = (v: unknown, r: Row) =>
  h("span", { class: Number(v) > 0 ? "bad" : "" }, fmt(v), Number(r["n"]) ? ` (${percent(rateOf(r), 0)})` : "");

function drawFailures(s: PageState, rows: readonly Row[], choose: (changes: Partial<PageState>) => void): void {
  const card = $('[data-plot="failures"]');
  const filtered = isFiltered(s);
  for (const dimension of ["event", "version", "os", "runtime"]) {
    const part = rows.filter((r) => r["dimension"] === dimension);
    const columns: Column[] = [
      ["value", dimension === "event" ? "command / step" : dimension],
      ["n", "ran", fmt],
      ["failed", "failed", failedCell],
    ];
    table($(`[data-dimension="${dimension}"] table`, card), columns, part, (r) => String(r["value"]), {
      filtered,
      rowClass: (r) => (Number(r["failed"]) > 0 ? "failing" : ""),
      ...(dimension === "event" && !s.event ? { onclick: (r: Row) => choose({ event: String(r["value"]) }), title: () => "show only this one" } : {}),
    });
  }
  const drill = $(".drill", card);
  drill.replaceChildren();
  $("#failures-title").replaceChildren(
    s.event ? `Failures of ${s.event}` : "Which commands and steps fail",
    " ",
    h("small", {}, s.event ? "(by version, OS and runtime)" : "(click one to drill down)"),
  );
  if (s.event) drill.append(h("button", { type: "button", class: "chip", onclick: () => choose({ event: "" }) }, `× ${s.event}: back to all events`));
}

function drawStepsByDestination(rows: readonly Row[], filtered: boolean): void {
  const steps = ["extract", "normalize", "load"];
  /** destination → step → counts */
  const counts = new Map<string, Map<string, { n: number; failed: number }>>();
  for (const r of rows) {
    const destination = String(r["destination"]);
    if (!counts.has(destination)) counts.set(destination, new Map());
    counts.get(destination)!.set(String(r["step"]), { n: Number(r["n"]), failed: Number(r["failed"]) });
  }
  const others = [...new Set(rows.map((r) => String(r["step"])))].filter((x) => !steps.includes(x));
  const cell = (destination: string, step: string) => {
    const c = counts.get(destination)?.get(step);
    return c ? h("span", {}, fmt(c.n), c.failed ? h("span", { class: "bad" }, ` (${fmt(c.failed)} failed)`) : "") : "–";
  };
  // A cell's raw value is `<n>/<failed>`, for anyone reading the page's DOM.
  const byDestination: Row[] = [...counts].map(([destination, bySteps]) => ({
    destination,
    ...Object.fromEntries([...bySteps].map(([step, c]) => [step, `${c.n}/${c.failed}`])),
  }));
  const columns: Column[] = [
    ["destination", "destination"],
    ...[...steps, ...others].map((step): Column => [step, step, (_v, r) => cell(String(r["destination"]), step)]),
  ];
  table($('[data-plot="steps_by_destination"] table'), columns, byDestination, (r) => String(r["destination"]), { filtered });
}

/** The length of a window as the number cards say it: "7 days", "1 hour" (one of a unit is singular). */
export function spanText(ms: number): string {
  const days = ms / DAY;
  const count = days >= 1.5 ? Math.round(days) : Math.round(ms / HOUR);
  return `${count} ${days >= 1.5 ? "day" : "hour"}${count === 1 ? "" : "s"}`;
}

/** Says which cards show only part of their rows (the collector cut them at its cap), and how to see the rest. */
function showTruncated(truncated: ReadonlyMap<string, number>): void {
  const el = $("#truncated");
  el.hidden = truncated.size === 0;
  el.dataset["apis"] = [...truncated.keys()].join(",");
  el.textContent =
    truncated.size === 0
      ? ""
      : `Only part of the data is shown: ${[...truncated].map(([api, n]) => `${api.replaceAll("_", " ")} (${fmt(n)} rows)`).join(", ")} ` +
        "went past the collector's cap. Pick an event or a shorter range to see all of it.";
}
