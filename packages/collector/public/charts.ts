// The overview's drawings: time series (uPlot, from its global: see globals.d.ts), bars of categories and tables,
// plain HTML. Every number drawn is also in the DOM as data (`data-key`/`data-value`, a hidden table per chart), for
// screen readers and the tests.
import type UPlot from "uplot";
import type { Cell, Row } from "./api.js";
import { $, $$, fmt, h, percent, type Child } from "./dom.js";
import { DAY, floorTo, HOUR, type TimeWindow } from "./state.js";

const COLORS = ["#3b6fd8", "#e8743b", "#19a979", "#ed4a7b", "#945ecf", "#13a4b4", "#525df4", "#bf399e", "#6c8893", "#ee6868"];
/** More buckets than this are not zero-filled (an "all time" range of years by hour). */
const MAX_BUCKETS = 5000;
/** Series drawn per chart; the rest are summed as "other". */
export const MAX_SERIES = 8;

/** What an empty card says: whether filters are set changes the sentence; `text` replaces it (a card's own). */
const noData = (filtered: boolean, text?: string): HTMLElement =>
  h("p", { class: "empty" }, text ?? (filtered ? "no events match these filters in this range" : "no events in this range"));

/** Options of `bars`: `key` names a bar, `value` its length. */
export interface BarsOptions {
  readonly key: string;
  readonly value: string;
  readonly label?: (r: Row) => string;
  readonly filtered: boolean;
}

/** Horizontal bars of `rows` in the card `name`; each bar carries data-key and data-value. */
export function bars(name: string, rows: readonly Row[], { key, value, label = (r) => String(r[key]), filtered }: BarsOptions): void {
  const el = $(`[data-plot="${name}"] .bars`);
  el.replaceChildren();
  if (rows.length === 0) return void el.append(noData(filtered));
  const max = Math.max(...rows.map((r) => Number(r[value])));
  for (const r of rows) {
    const v = Number(r[value]);
    el.append(
      h(
        "div",
        { class: "bar", dataset: { key: String(r[key]), value: String(r[value]) } },
        h("span", { class: "label", title: label(r) }, label(r)),
        h("span", { class: "track" }, h("span", { class: "fill", style: { width: `${max ? (100 * v) / max : 0}%` } })),
        h("span", { class: "value" }, fmt(v)),
      ),
    );
  }
}

/** A column of `table`: the row's key, its heading, and how a cell shows (its raw value by default). */
export type Column = readonly [key: string, heading: string, format?: (v: Cell | undefined, r: Row) => Child];

export interface TableOptions {
  readonly filtered: boolean;
  readonly rowClass?: (r: Row) => string;
  /** A row can be clicked (or chosen with Enter). */
  readonly onclick?: (r: Row) => void;
  readonly title?: (r: Row) => string;
  /** What an empty table says (default: that no event is in the range or matches the filters). */
  readonly empty?: string;
}

/** A table: each row is `data-key` = the row's `rowKey`, each cell `data-col` = its column key with the raw value in `data-value`. */
export function table(el: HTMLElement, columns: readonly Column[], rows: readonly Row[], rowKey: (r: Row) => string, opts: TableOptions): void {
  el.replaceChildren();
  if (rows.length === 0)
    return void el.append(
      h("caption", { class: "empty" }, opts.empty ?? (opts.filtered ? "no events match these filters" : "no events in this range")),
    );
  el.append(
    h(
      "tr",
      {},
      columns.map(([, heading]) => h("th", {}, heading)),
    ),
  );
  for (const r of rows) {
    const tr = h(
      "tr",
      { dataset: { key: rowKey(r) }, class: opts.rowClass?.(r), tabindex: opts.onclick ? "0" : undefined, title: opts.title?.(r) },
      columns.map(([k, , f]) =>
        h("td", { dataset: { col: k, value: String(r[k] ?? "") } }, f ? f(r[k], r) : r[k] === null || r[k] === undefined ? "–" : String(r[k])),
      ),
    );
    const onclick = opts.onclick;
    if (onclick) {
      tr.addEventListener("click", () => onclick(r));
      tr.addEventListener("keydown", (e) => e.key === "Enter" && onclick(r));
    }
    el.append(tr);
  }
}

/** One line or stack of a time series: a value per bucket start (epoch ms). */
export interface Series {
  readonly name: string;
  readonly values: Map<number, number>;
}

/** A series of `topSeries`, with its total. */
export interface CountSeries extends Series {
  total: number;
}

/** The `limit` largest series of `rows` by total, the rest summed as "other". */
export function topSeries(rows: readonly Row[], key: string, value: string, limit = MAX_SERIES): CountSeries[] {
  const totals = new Map<Cell | undefined, number>();
  for (const r of rows) totals.set(r[key], (totals.get(r[key]) ?? 0) + Number(r[value]));
  const names = [...totals.keys()].sort((a, b) => totals.get(b)! - totals.get(a)! || String(a).localeCompare(String(b)));
  const kept = new Set(names.slice(0, names.length > limit ? limit - 1 : limit));
  const series = new Map<string, CountSeries>();
  for (const r of rows) {
    const name = kept.has(r[key]) ? String(r[key]) : "other";
    let s = series.get(name);
    if (!s) series.set(name, (s = { name, values: new Map(), total: 0 }));
    s.values.set(Number(r["t"]), (s.values.get(Number(r["t"])) ?? 0) + Number(r[value]));
    s.total += Number(r[value]);
  }
  return [...series.values()].sort((a, b) => Number(a.name === "other") - Number(b.name === "other") || a.name.localeCompare(b.name));
}

/** A legend entry: its text, and the raw number in its `data-value`. */
export interface LegendText {
  readonly value: string | number;
  readonly text: string;
}

/** The uPlot charts on the page, by card: each is destroyed before its card is drawn again. */
export class Charts {
  private readonly drawn = new Map<string, UPlot>();

  /**
   * A time series over every bucket of the window. kind "bars": counts, stacked bars, an empty bucket is 0; kind
   * "lines": rates (0–1), lines with a point per bucket, no point where the bucket has no event to make a rate of (a
   * rate of nothing is not 0 %). The chart's data is also written as a table (hidden, for screen readers and tests).
   * `empty`: what the card says when there is nothing to draw (by default, that no event is in the range or matches).
   */
  timeSeries<S extends Series>(
    name: string,
    w: TimeWindow,
    series: readonly S[],
    kind: "bars" | "lines",
    legendText: (s: S) => LegendText,
    filtered: boolean,
    empty?: string,
  ): void {
    const card = $(`[data-plot="${name}"]`);
    for (const e of $$(".bucket-name", card)) e.textContent = w.bucket;
    const step = w.bucket === "hour" ? HOUR : DAY;
    const start = floorTo(w.from, w.bucket);
    const end = floorTo(Math.min(w.to, Date.now()), w.bucket);
    const seen = new Set(series.flatMap((s) => [...s.values.keys()]));
    let times: number[] = [];
    if ((end - start) / step < MAX_BUCKETS) for (let t = start; t <= end; t += step) times.push(t);
    times = [...new Set([...times, ...seen])].sort((a, b) => a - b);
    const data = series.map((s) => times.map((t) => s.values.get(t) ?? (kind === "bars" ? 0 : null)));
    card.dataset["buckets"] = String(times.length);
    card.dataset["xMin"] = String(times[0] ?? start);
    card.dataset["xMax"] = String(times[times.length - 1] ?? end);

    $(".legend", card).replaceChildren(
      ...series.map((s, i) =>
        h(
          "span",
          { dataset: { key: s.name, value: String(legendText(s).value) } },
          h("i", { style: { background: COLORS[i % COLORS.length]! } }),
          `${s.name}: ${legendText(s).text}`,
        ),
      ),
    );
    // The data as a table: a row per bucket with something in it.
    const rows = times.map((t, i) => ({ t, cells: data.map((d) => d[i] ?? null) })).filter((r) => r.cells.some((v) => v !== null && v !== 0));
    const dataTable = h(
      "table",
      { class: "data" },
      h(
        "tr",
        {},
        h("th", {}, "bucket"),
        series.map((s) => h("th", {}, s.name)),
      ),
      rows.map((r) =>
        h(
          "tr",
          { dataset: { t: String(r.t) } },
          h("td", {}, new Date(r.t).toISOString()),
          r.cells.map((v, i) =>
            h("td", { dataset: { key: series[i]!.name, value: String(v ?? "") } }, v === null ? "" : kind === "lines" ? percent(v) : fmt(v)),
          ),
        ),
      ),
    );

    const el = $(".chart", card);
    this.drawn.get(name)?.destroy();
    this.drawn.delete(name);
    // A div holds it: a table ignores the 1px width of .sr-only.
    el.replaceChildren(h("div", { class: "sr-only" }, dataTable));
    if (series.length === 0) return void el.append(noData(filtered, empty));

    let drawn = data;
    let order = series.map((_, i) => i);
    if (kind === "bars") {
      // Stacked: each series drawn as the sum of itself and those below it, the tallest first so all stay visible.
      drawn = data.map((d, s) => d.map((_, i) => data.slice(0, s + 1).reduce<number>((a, x) => a + (x[i] ?? 0), 0)));
      order = order.reverse();
    }
    const first = times[0]!;
    const last = times[times.length - 1]!;
    const width = Math.max(280, el.clientWidth || card.clientWidth - 32);
    // A bar stands on its bucket's time (centered, align 0), as a line's point does: with one bucket both sit in the
    // middle, not the bars at the left edge and the points in the middle.
    const barPaths = uPlot.paths.bars!({ size: [0.8, 48], align: 0 });
    // Ticks on whole buckets: days for a daily chart, never "12pm".
    const incrs = (w.bucket === "hour" ? [1, 2, 3, 6, 12, 24, 48] : [24, 48, 96, 168, 336, 720, 2160, 8760]).map((n) => n * 3600);
    const opts: UPlot.Options = {
      width,
      height: 220,
      legend: { show: false },
      cursor: { points: { show: kind === "lines" } },
      scales: {
        x: { time: true, range: [(first - step / 2) / 1000, (last + step / 2) / 1000] },
        y: kind === "lines" ? { range: [0, 1] } : { range: (_u, _min, max) => [0, Math.max(1, max * 1.05)] },
      },
      axes: [
        { incrs, space: 50 },
        kind === "lines"
          ? { values: (_u, ticks) => ticks.map((t) => `${Math.round(t * 100)}%`) }
          : { values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? fmt(t) : "")) },
      ],
      series: [
        {},
        ...order.map((i): UPlot.Series => {
          const color = COLORS[i % COLORS.length]!;
          const label = series[i]!.name;
          return kind === "bars"
            ? { label, stroke: color, fill: color, width: 0, paths: barPaths, points: { show: false } }
            : { label, stroke: color, width: 1.5, spanGaps: false, points: { show: true, size: 6, fill: color } };
        }),
      ],
    };
    this.drawn.set(name, new uPlot(opts, [times.map((t) => t / 1000), ...order.map((i) => drawn[i]!)], el));
  }
}
