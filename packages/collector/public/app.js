// The dashboard's page script. Two views: the overview (every /api/<plot> with the current filter, drawn, polled
// every 10 s) and the live events (/api/events, polled every 2 s, new events prepended, older ones paged by cursor).
// The filters and the view live in the address (shareable, reloadable). Text from events is always set as text,
// never as HTML: event names, labels and versions come from clients.
"use strict";
(() => {
  const COLORS = ["#3b6fd8", "#e8743b", "#19a979", "#ed4a7b", "#945ecf", "#13a4b4", "#525df4", "#bf399e", "#6c8893", "#ee6868"];
  const HOUR = 3_600_000;
  const DAY = 24 * HOUR;
  /** More buckets than this are not zero-filled (an "all time" range of years by hour). */
  const MAX_BUCKETS = 5000;
  /** Series drawn per chart; the rest are summed as "other". */
  const MAX_SERIES = 8;
  const OVERVIEW_POLL_MS = 10_000;
  const LIVE_POLL_MS = 2_000;
  const LIVE_PAGE = 50;
  const LIVE_MAX_ROWS = 1000;

  const $ = (sel, el = document) => el.querySelector(sel);
  const $$ = (sel, el = document) => [...el.querySelectorAll(sel)];
  const fmt = (n) => Number(n).toLocaleString("en-US");
  const percent = (x, digits = 1) => `${(100 * x).toFixed(digits)} %`;

  /** An element: `props` are attributes (`dataset` an object), children are nodes or text (never parsed as HTML). */
  function h(tag, props = {}, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "dataset") Object.assign(el.dataset, v);
      else if (k === "style") el.style.cssText = v;
      else if (k === "onclick") el.addEventListener("click", v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
    return el;
  }

  // --- state, kept in the address -------------------------------------------------------------------------------
  const DEFAULTS = { view: "overview", range: "auto", from: "", to: "", bucket: "auto", event: "", version: "", os: "", ci: "" };
  const KEYS = Object.keys(DEFAULTS);
  const CONTROLS = ["range", "from", "to", "bucket", "event", "version", "os", "ci"];

  function readState() {
    const p = new URL(location.href).searchParams;
    const s = {};
    for (const k of KEYS) s[k] = p.get(k) ?? DEFAULTS[k];
    if (s.view !== "live") s.view = "overview";
    return s;
  }
  let state = readState();

  /** The address for a state: only what differs from the defaults; other parameters (the read token) are kept. */
  function urlOf(s) {
    const url = new URL(location.href);
    for (const k of KEYS) {
      if (s[k] === DEFAULTS[k] || s[k] === "" || ((k === "from" || k === "to") && s.range !== "custom")) url.searchParams.delete(k);
      else url.searchParams.set(k, s[k]);
    }
    return url.pathname + url.search + url.hash;
  }
  const saveState = () => history.replaceState(history.state, "", urlOf(state));

  /** Makes sure a select can show `value` (a value from the address that no API listed yet). */
  function ensureOption(sel, value, label = value) {
    if (value !== "" && ![...sel.options].some((o) => o.value === value)) sel.add(new Option(label, value));
  }

  function showState() {
    for (const k of CONTROLS) {
      const el = $(`#${k}`);
      if (el.tagName === "SELECT") ensureOption(el, state[k]);
      el.value = state[k];
    }
    $("#controls").classList.toggle("custom", state.range === "custom");
    for (const a of $$("nav a")) a.setAttribute("aria-current", a.dataset.view === state.view ? "page" : "false");
    for (const panel of $$("[data-view-panel]")) panel.hidden = panel.dataset.viewPanel !== state.view || (panel.id === "overview" && empty);
    document.body.dataset.view = state.view;
  }

  // --- the API ----------------------------------------------------------------------------------------------------
  async function getJson(path, params) {
    // Relative to the page's <base href>: the collector may serve it under a base path.
    const r = await fetch(`api/${path}${params ? `?${params}` : ""}`, { credentials: "same-origin" });
    if (!r.ok) {
      let reason = `HTTP ${r.status}`;
      try {
        reason = (await r.json()).error ?? reason;
      } catch {}
      throw new Error(`${path}: ${reason}`);
    }
    const body = await r.json();
    if ("retain_days" in body) showRetention(body.retain_days);
    return body;
  }
  const api = async (name, params) => (await getJson(name, params)).rows;

  // The read token came in the address (`?token=…`); the API has just answered through the cookie the page set, so
  // the token leaves the address bar and the history.
  function forgetToken() {
    const url = new URL(location.href);
    if (!url.searchParams.has("token")) return;
    url.searchParams.delete("token");
    history.replaceState(history.state, "", url.pathname + url.search + url.hash);
  }

  /** The collector's --retain-days, as the summary API gives it (null: kept until someone removes them). */
  function showRetention(days) {
    const el = $("#retention");
    el.dataset.days = days == null ? "" : String(days);
    el.textContent =
      days == null
        ? "Events are kept until removed (the collector has no --retain-days)."
        : `Events are kept ${fmt(days)} day${days === 1 ? "" : "s"}: older days are removed daily.`;
  }

  /** The filters every API takes besides the time range. */
  function filterParams() {
    const p = new URLSearchParams();
    for (const k of ["event", "version", "os", "ci"]) if (state[k]) p.set(k, state[k]);
    return p;
  }
  const filtered = () => ["event", "version", "os", "ci"].some((k) => state[k]);

  /** Start of the bucket holding `t` (UTC, as the database's date_trunc on UTC timestamps). */
  function floorTo(t, bucket) {
    const size = bucket === "hour" ? HOUR : DAY;
    return t - (((t % size) + size) % size);
  }

  /**
   * The time window of the overview. "fit to the data": the last 30 days, or from the first event when the data is
   * younger than that (fresh data then fills the chart instead of being a spike at its right edge). An "auto"
   * bucket is an hour for up to 3 days, else a day.
   */
  function timeWindow(extent) {
    const now = Date.now();
    let from;
    let to = now + 60_000;
    let fitted = false;
    if (state.range === "custom") {
      from = state.from ? Date.parse(state.from) : (extent.first ?? now - 30 * DAY);
      if (state.to) to = Date.parse(state.to) + DAY;
    } else if (state.range === "all") {
      from = extent.first ?? now - 30 * DAY;
      fitted = true;
    } else if (state.range === "auto") {
      from = now - 30 * DAY;
      if (extent.first !== null && extent.first > from) {
        from = extent.first;
        fitted = true;
      }
    } else from = now - Number(state.range) * DAY;
    const bucket = state.bucket === "hour" || state.bucket === "day" ? state.bucket : to - from <= 3 * DAY + 60_000 ? "hour" : "day";
    if (fitted) from = floorTo(from, bucket);
    return { from, to, bucket, fitted };
  }

  function windowParams(w) {
    const p = filterParams();
    p.set("from", String(w.from));
    p.set("to", String(w.to));
    p.set("bucket", w.bucket);
    return p;
  }

  // --- drawing ----------------------------------------------------------------------------------------------------
  const noData = () => h("p", { class: "empty" }, filtered() ? "no events match these filters in this range" : "no events in this range");

  /** Horizontal bars of `rows` (`key` names a bar, `value` its length); each bar carries data-key and data-value. */
  function bars(name, rows, key, value, label = (r) => r[key], note = () => "") {
    const el = $(`[data-plot="${name}"] .bars`);
    el.replaceChildren();
    if (rows.length === 0) return el.append(noData());
    const max = Math.max(...rows.map((r) => Number(r[value])));
    for (const r of rows) {
      const v = Number(r[value]);
      el.append(
        h("div", { class: "bar", dataset: { key: String(r[key]), value: String(r[value]) } },
          h("span", { class: "label", title: label(r) }, label(r)),
          h("span", { class: "track" }, h("span", { class: "fill", style: `width:${max ? (100 * v) / max : 0}%` })),
          h("span", { class: "value" }, fmt(v), note(r))),
      );
    }
  }

  /**
   * A table: `columns` are [key, heading, format?]; each row is `data-key` = the row's `rowKey`, each cell
   * `data-col` = its column key with the raw value in `data-value`.
   */
  function table(el, columns, rows, rowKey, opts = {}) {
    el.replaceChildren();
    if (rows.length === 0) return el.append(h("caption", { class: "empty" }, filtered() ? "no events match these filters" : "no events in this range"));
    el.append(h("tr", {}, columns.map(([, heading]) => h("th", {}, heading))));
    for (const r of rows) {
      const tr = h("tr", { dataset: { key: rowKey(r) }, class: opts.rowClass?.(r), tabindex: opts.onclick ? "0" : undefined, title: opts.title?.(r) },
        columns.map(([k, , f]) => h("td", { dataset: { col: k, value: String(r[k] ?? "") } }, f ? f(r[k], r) : (r[k] ?? "–"))));
      if (opts.onclick) {
        tr.addEventListener("click", () => opts.onclick(r));
        tr.addEventListener("keydown", (e) => e.key === "Enter" && opts.onclick(r));
      }
      el.append(tr);
    }
  }

  const charts = {};

  /**
   * A time series over every bucket of the window. `series` are [{name, values: Map(t → number)}]. kind "bars":
   * counts, stacked bars, an empty bucket is 0; kind "lines": rates (0–1), lines with a point per bucket, no point
   * where the bucket has no event to make a rate of (a rate of nothing is not 0 %). The chart's data is also
   * written as a table (hidden, for screen readers and tests).
   */
  function timeSeries(name, w, series, kind, legendText) {
    const card = $(`[data-plot="${name}"]`);
    $$(".bucket-name", card).forEach((e) => (e.textContent = w.bucket));
    const step = w.bucket === "hour" ? HOUR : DAY;
    const start = floorTo(w.from, w.bucket);
    const end = floorTo(Math.min(w.to, Date.now()), w.bucket);
    const seen = new Set(series.flatMap((s) => [...s.values.keys()]));
    let times = [];
    if ((end - start) / step < MAX_BUCKETS) for (let t = start; t <= end; t += step) times.push(t);
    times = [...new Set([...times, ...seen])].sort((a, b) => a - b);
    const data = series.map((s) => times.map((t) => s.values.get(t) ?? (kind === "bars" ? 0 : null)));
    card.dataset.buckets = String(times.length);
    card.dataset.xMin = String(times[0] ?? start);
    card.dataset.xMax = String(times[times.length - 1] ?? end);

    const legend = $(".legend", card);
    legend.replaceChildren(
      ...series.map((s, i) => h("span", { dataset: { key: s.name, value: String(legendText(s).value) } }, h("i", { style: `background:${COLORS[i % COLORS.length]}` }), `${s.name}: ${legendText(s).text}`)),
    );
    // The data as a table: a row per bucket with something in it.
    const rows = times.map((t, i) => ({ t, cells: data.map((d) => d[i]) })).filter((r) => r.cells.some((v) => v !== null && v !== 0));
    const dataTable = h("table", { class: "data" },
      h("tr", {}, h("th", {}, "bucket"), series.map((s) => h("th", {}, s.name))),
      rows.map((r) => h("tr", { dataset: { t: String(r.t) } }, h("td", {}, new Date(r.t).toISOString()),
        r.cells.map((v, i) => h("td", { dataset: { key: series[i].name, value: String(v ?? "") } }, v === null ? "" : kind === "lines" ? percent(v) : fmt(v))))));

    const el = $(".chart", card);
    charts[name]?.destroy();
    delete charts[name];
    // A div holds it: a table ignores the 1px width of .sr-only.
    el.replaceChildren(h("div", { class: "sr-only" }, dataTable));
    if (series.length === 0) return el.append(noData());

    let drawn = data;
    let order = series.map((_, i) => i);
    if (kind === "bars") {
      // Stacked: each series drawn as the sum of itself and those below it, the tallest first so all stay visible.
      drawn = data.map((d, s) => d.map((_, i) => data.slice(0, s + 1).reduce((a, x) => a + x[i], 0)));
      order = order.reverse();
    }
    const width = Math.max(280, el.clientWidth || card.clientWidth - 32);
    // A bar starts where its bucket starts (align 1) and fills most of it.
    const barPaths = uPlot.paths.bars({ size: [0.8, 48], align: 1 });
    // Ticks on whole buckets: days for a daily chart, never "12pm".
    const incrs = (w.bucket === "hour" ? [1, 2, 3, 6, 12, 24, 48] : [24, 48, 96, 168, 336, 720, 2160, 8760]).map((n) => n * 3600);
    const opts = {
      width,
      height: 220,
      legend: { show: false },
      cursor: { points: { show: kind === "lines" } },
      scales: {
        x: { time: true, range: kind === "bars" ? [times[0] / 1000, (times[times.length - 1] + step) / 1000] : [(times[0] - step / 2) / 1000, (times[times.length - 1] + step / 2) / 1000] },
        y: kind === "lines" ? { range: [0, 1] } : { range: (_u, _min, max) => [0, Math.max(1, max * 1.05)] },
      },
      axes: [{ incrs, space: 50 }, kind === "lines" ? { values: (_u, ticks) => ticks.map((t) => `${Math.round(t * 100)}%`) } : { values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? fmt(t) : "")) }],
      series: [
        {},
        ...order.map((i) => {
          const color = COLORS[i % COLORS.length];
          return kind === "bars"
            ? { label: series[i].name, stroke: color, fill: color, width: 0, paths: barPaths, points: { show: false } }
            : { label: series[i].name, stroke: color, width: 1.5, spanGaps: false, points: { show: true, size: 6, fill: color } };
        }),
      ],
    };
    charts[name] = new uPlot(opts, [times.map((t) => t / 1000), ...order.map((i) => drawn[i])], el);
  }

  /** The `limit` largest series of `rows` by total, the rest summed as "other". */
  function topSeries(rows, key, value, limit = MAX_SERIES) {
    const totals = new Map();
    for (const r of rows) totals.set(r[key], (totals.get(r[key]) ?? 0) + Number(r[value]));
    const names = [...totals.keys()].sort((a, b) => totals.get(b) - totals.get(a) || String(a).localeCompare(String(b)));
    const kept = new Set(names.slice(0, names.length > limit ? limit - 1 : limit));
    const series = new Map();
    for (const r of rows) {
      const name = kept.has(r[key]) ? r[key] : "other";
      if (!series.has(name)) series.set(name, { name, values: new Map(), total: 0 });
      const s = series.get(name);
      s.values.set(Number(r.t), (s.values.get(Number(r.t)) ?? 0) + Number(r[value]));
      s.total += Number(r[value]);
    }
    return [...series.values()].sort((a, b) => (a.name === "other") - (b.name === "other") || String(a.name).localeCompare(String(b.name)));
  }

  // --- the summary and its comparison with the previous period ------------------------------------------------------
  function delta(cur, prev, kind) {
    if (prev === null || prev === undefined) return { text: "", value: "" };
    if (kind === "rate") {
      if (cur === null || prev === null) return { text: "", value: "" };
      const d = 100 * (cur - prev);
      return { text: `${d > 0 ? "▲" : d < 0 ? "▼" : "="} ${Math.abs(d).toFixed(1)} pt`, value: d.toFixed(1), dir: Math.sign(d) };
    }
    if (prev === 0) return cur > 0 ? { text: "▲ new", value: "new", dir: 1 } : { text: "= 0", value: "0", dir: 0 };
    const d = (100 * (cur - prev)) / prev;
    return { text: `${d > 0 ? "▲" : d < 0 ? "▼" : "="} ${Math.abs(d).toFixed(0)} %`, value: d.toFixed(1), dir: Math.sign(d) };
  }

  function summary(s, prev, w) {
    const el = $("#summary");
    el.replaceChildren();
    const days = (w.to - w.from) / DAY;
    const span = days >= 1.5 ? `${Math.round(days)} days` : `${Math.round((w.to - w.from) / HOUR)} hours`;
    for (const [k, label, kind] of [["events", "events", "count"], ["pipeline_runs", "pipeline runs", "count"], ["commands", "commands", "count"], ["success_rate", "succeeded", "rate"]]) {
      const cur = s[k] === null || s[k] === undefined ? null : Number(s[k]);
      const before = prev ? (prev[k] === null || prev[k] === undefined ? null : Number(prev[k])) : undefined;
      const d = delta(cur, before, kind);
      const shown = kind === "rate" ? (cur === null ? "–" : percent(cur)) : fmt(cur ?? 0);
      // For the success rate up is good; for counts the arrow only says which way.
      const tone = kind === "rate" ? (d.dir > 0 ? "good" : d.dir < 0 ? "bad" : "") : "";
      const prevText = before === undefined ? "" : kind === "rate" ? (before === null ? "–" : percent(before)) : fmt(before ?? 0);
      el.append(
        h("div", { class: "stat", dataset: { key: k, value: String(s[k] ?? ""), delta: d.value, previous: before === undefined ? "" : String(before ?? "") } },
          h("b", {}, shown), h("span", {}, label),
          prev ? h("small", { class: `delta ${tone}`, title: `previous ${span}: ${prevText}` }, d.text || "–", " vs previous ", span) : null),
      );
    }
  }

  // --- the empty state --------------------------------------------------------------------------------------------
  let setup;
  async function showSetup() {
    setup ??= await getJson("setup");
    // The collector's URL as this browser reaches it (a proxy's, when there is one), with its base path.
    const endpoint = new URL(setup.basePath, location.origin).href.replace(/\/$/, "");
    const keyed = setup.writeKeyLabels.length > 0;
    const key = keyed ? "<your write key>" : "";
    $("#endpoint").textContent = endpoint;
    $("#keys-note").textContent = keyed
      ? `It takes events only with one of its write keys (labelled ${setup.writeKeyLabels.join(", ")}): use yours where <your write key> stands.`
      : "It takes events from anyone (no write key configured), so clients need no key.";
    const env = [`export RUNTIME__DLTHUB_TELEMETRY_ENDPOINT=${endpoint}`, ...(keyed ? [`export RUNTIME__DLTHUB_TELEMETRY_SEGMENT_WRITE_KEY=${key}`] : [])];
    $("#setup-dlt-ts").textContent = [...env, "npx dlt telemetry    # prints the endpoint, and sends a command_telemetry event"].join("\n");
    $("#setup-python").textContent = [...env, "dlt telemetry        # sends a command_telemetry event"].join("\n");
    $("#setup-toml").textContent = ["[runtime]", `dlthub_telemetry_endpoint = "${endpoint}"`, ...(keyed ? [`dlthub_telemetry_segment_write_key = "${key}"`] : [])].join("\n");
    const url = new URL(setup.basePath, location.origin);
    $("#setup-segment").textContent = [
      'import { Analytics } from "@segment/analytics-node";',
      `const analytics = new Analytics({ writeKey: "${key || "any"}", host: "${url.origin}", path: "${url.pathname}v1/batch" });`,
      'analytics.track({ anonymousId: crypto.randomUUID(), event: "hello", properties: { success: true } });',
      "await analytics.closeAndFlush();",
    ].join("\n");
    $("#setup-curl").textContent = `curl ${keyed ? `-u '${key}:' ` : ""}-H 'content-type: application/json' ${endpoint}/v1/track \\\n  -d '{"event":"hello","anonymousId":"a1","properties":{"success":true}}'`;
  }

  // --- the overview -----------------------------------------------------------------------------------------------
  let empty = false;

  function setEmpty(isEmpty) {
    empty = isEmpty;
    $("#setup").hidden = !isEmpty;
    document.body.dataset.empty = String(isEmpty);
    showState();
  }

  function fillOptions(values, names) {
    const add = (sel, items) => {
      const current = sel.value;
      const keep = sel.options[0];
      sel.replaceChildren(keep, ...items.map(([v, label]) => new Option(label, v)));
      ensureOption(sel, current);
      sel.value = current;
    };
    add($("#event"), names.map((r) => [r.event, `${r.event} (${fmt(r.n)})`]));
    add($("#version"), values.filter((r) => r.kind === "version").map((r) => [r.value, `${r.value} (${fmt(r.n)})`]));
    add($("#os"), values.filter((r) => r.kind === "os").map((r) => [r.value, `${r.value} (${fmt(r.n)})`]));
  }

  const rateOf = (r) => (Number(r.n) ? Number(r.failed) / Number(r.n) : 0);
  const failedCell = (v, r) => h("span", { class: Number(v) > 0 ? "bad" : "" }, fmt(v), Number(r.n) ? ` (${percent(rateOf(r), 0)})` : "");

  function drawFailures(rows) {
    const card = $('[data-plot="failures"]');
    for (const dimension of ["event", "version", "os", "runtime"]) {
      const part = rows.filter((r) => r.dimension === dimension);
      table($(`[data-dimension="${dimension}"] table`, card), [["value", dimension === "event" ? "command / step" : dimension], ["n", "ran", fmt], ["failed", "failed", failedCell]], part, (r) => r.value, {
        rowClass: (r) => (Number(r.failed) > 0 ? "failing" : ""),
        ...(dimension === "event" && !state.event ? { onclick: (r) => setFilter({ event: r.value }), title: () => "show only this one" } : {}),
      });
    }
    const drill = $(".drill", card);
    drill.replaceChildren();
    $("#failures-title").replaceChildren(state.event ? `Failures of ${state.event}` : "Which commands and steps fail", " ", h("small", {}, state.event ? "(by version, OS and runtime)" : "(click one to drill down)"));
    if (state.event) drill.append(h("button", { type: "button", class: "chip", onclick: () => setFilter({ event: "" }) }, `× ${state.event}: back to all events`));
  }

  function drawStepsByDestination(rows) {
    const steps = ["extract", "normalize", "load"];
    const byDest = new Map();
    for (const r of rows) {
      if (!byDest.has(r.destination)) byDest.set(r.destination, { destination: r.destination });
      const d = byDest.get(r.destination);
      d[r.step] = { n: Number(r.n), failed: Number(r.failed) };
    }
    const others = [...new Set(rows.map((r) => r.step))].filter((s) => !steps.includes(s));
    const cell = (v) => (v ? h("span", {}, fmt(v.n), v.failed ? h("span", { class: "bad" }, ` (${fmt(v.failed)} failed)`) : "") : "–");
    const el = $('[data-plot="steps_by_destination"] table');
    table(el, [["destination", "destination"], ...[...steps, ...others].map((s) => [s, s, cell])], [...byDest.values()], (r) => r.destination);
    // The raw numbers on each cell, for anyone reading the page's DOM.
    for (const td of $$("td[data-col]", el)) {
      const d = td.dataset.col === "destination" ? undefined : byDest.get(td.parentElement.dataset.key)?.[td.dataset.col];
      if (d) td.dataset.value = `${d.n}/${d.failed}`;
    }
  }

  /** Bumped by every refresh: an answer to an older one (the filters have changed since) is not drawn. */
  let generation = 0;

  async function refreshOverview() {
    const gen = ++generation;
    const base = filterParams();
    const [extent] = await api("extent", base);
    forgetToken();
    const noneAtAll = Number(extent.n) === 0 && !filtered();
    if (noneAtAll) await showSetup();
    if (gen !== generation) return;
    setEmpty(noneAtAll);
    if (noneAtAll) return;
    if (state.view !== "overview") {
      // The live view needs the filters' choices only: every event name, version and OS received.
      const p = liveParams();
      const [names, values] = await Promise.all([api("event_names", p), api("filter_values", p)]);
      if (gen === generation) fillOptions(values, names);
      return;
    }
    const w = timeWindow({ first: extent.first === null ? null : Number(extent.first) });
    const p = windowParams(w);
    const prevParams = new URLSearchParams(p);
    prevParams.set("from", String(w.from - (w.to - w.from)));
    prevParams.set("to", String(w.from));
    const names = ["summary", "events_over_time", "failure_rate", "failures", "success_rate", "version_share", "versions", "runtimes", "os_versions", "ci", "exec_info", "commands", "inits", "sources", "destinations", "steps_by_destination", "elapsed", "event_names", "filter_values"];
    const [results, prevSummary] = await Promise.all([Promise.all(names.map((n) => api(n, p))), state.range === "all" ? null : api("summary", prevParams)]);
    if (gen !== generation) return;
    const r = Object.fromEntries(names.map((n, i) => [n, results[i]]));
    document.body.dataset.window = JSON.stringify(w);

    summary(r.summary[0] ?? {}, prevSummary?.[0] ?? null, w);
    timeSeries("events_over_time", w, topSeries(r.events_over_time, "event", "n"), "bars", (s) => ({ value: s.total, text: fmt(s.total) }));

    const failing = { name: "all commands and steps", values: new Map(), n: 0, failed: 0 };
    for (const x of r.failure_rate) {
      failing.values.set(Number(x.t), Number(x.failed) / Number(x.n));
      failing.n += Number(x.n);
      failing.failed += Number(x.failed);
    }
    timeSeries("failure_rate", w, r.failure_rate.length ? [failing] : [], "lines", (s) => ({
      value: (s.failed / s.n).toFixed(4),
      text: `${percent(s.failed / s.n)} failed (${fmt(s.failed)} of ${fmt(s.n)})`,
    }));
    drawFailures(r.failures);

    const rates = new Map();
    for (const x of r.success_rate) {
      if (!rates.has(x.event)) rates.set(x.event, { name: x.event, values: new Map(), ok: 0, n: 0 });
      const s = rates.get(x.event);
      s.values.set(Number(x.t), Number(x.rate));
      s.ok += Number(x.rate) * Number(x.n);
      s.n += Number(x.n);
    }
    timeSeries("success_rate", w, [...rates.values()].sort((a, b) => a.name.localeCompare(b.name)).slice(0, MAX_SERIES), "lines", (s) => ({
      value: ((100 * s.ok) / s.n).toFixed(1),
      text: `${((100 * s.ok) / s.n).toFixed(1)} % of ${fmt(s.n)}`,
    }));

    // Each version's share of the events of each bucket.
    const perBucket = new Map();
    for (const x of r.version_share) perBucket.set(Number(x.t), (perBucket.get(Number(x.t)) ?? 0) + Number(x.n));
    const shares = topSeries(r.version_share, "version", "n");
    const allEvents = [...perBucket.values()].reduce((a, b) => a + b, 0);
    for (const s of shares) for (const [t, n] of s.values) s.values.set(t, n / perBucket.get(t));
    timeSeries("version_share", w, shares, "lines", (s) => ({ value: (s.total / allEvents).toFixed(4), text: `${percent(s.total / allEvents)} of the events` }));

    bars("versions", r.versions, "version", "n");
    bars("runtimes", r.runtimes, "runtime", "n");
    bars("os_versions", r.os_versions, "os", "n");
    const ciTotal = r.ci.reduce((a, x) => a + Number(x.n), 0);
    bars("ci", r.ci, "ci", "n", (x) => `${x.ci} (${((100 * Number(x.n)) / ciTotal).toFixed(0)} %)`);
    bars("exec_info", r.exec_info, "env", "n");
    bars("commands", r.commands, "command", "n");

    table($('[data-plot="inits"] table'), [["source", "source"], ["destination", "destination"], ["n", "inits", fmt], ["failed", "failed", failedCell]], r.inits, (x) => `${x.source} → ${x.destination}`);
    bars("sources", r.sources, "source", "n");
    bars("init_destinations", r.destinations.filter((x) => Number(x.inits) > 0).sort((a, b) => b.inits - a.inits), "destination", "inits");
    bars("destinations", r.destinations.filter((x) => Number(x.runs) > 0), "destination", "runs");
    drawStepsByDestination(r.steps_by_destination);
    table($('[data-plot="elapsed"] table'), [["event", "event"], ["n", "n", fmt], ["p50", "median"], ["p95", "p95"]], r.elapsed, (x) => x.event);

    fillOptions(r.filter_values, r.event_names);
    document.body.dataset.loaded = String(Number(document.body.dataset.loaded ?? 0) + 1);
  }

  // --- the live view ----------------------------------------------------------------------------------------------
  /** The rows shown, newest first, and the cursor of the oldest (for "load older"). */
  const live = { rows: [], ids: new Set(), older: null, key: "" };
  const order = (a, b) => Number(b.received_at) - Number(a.received_at) || (a.message_id < b.message_id ? 1 : a.message_id > b.message_id ? -1 : 0);

  function liveParams() {
    const p = filterParams();
    // The range applies to the time received; "fit to the data" shows everything received.
    if (state.range !== "auto") {
      const w = timeWindow({ first: null });
      p.set("from", String(w.from));
      p.set("to", String(w.to));
    } else p.set("from", "0");
    return p;
  }

  /** What a glance at a row should tell: the client's library, and the source and destination when there are. */
  function detailOf(m) {
    const p = m.properties ?? {};
    const lib = m.context?.library;
    const destination = p.destination_name ?? (typeof p.destination_type === "string" ? p.destination_type.split(".").pop() : undefined);
    const source = p.source_name ?? (m.event === "command_init" ? p.pipeline_name : undefined);
    return [lib ? `${lib.name ?? "?"} ${lib.version ?? "?"}` : "", source ? `${source} → ${destination ?? "?"}` : (destination ?? "")].filter(Boolean).join(" · ");
  }

  function eventItem(row, fresh) {
    let m = {};
    let text = row.message;
    try {
      m = JSON.parse(row.message);
      text = JSON.stringify(m, null, 2);
    } catch {}
    const success = m.properties?.success;
    const at = new Date(Number(row.received_at));
    return h("li", { class: fresh ? "fresh" : "", dataset: { id: row.message_id, event: row.event ?? "", label: row.write_key_label ?? "", receivedAt: String(row.received_at) } },
      h("details", {},
        h("summary", {},
          h("time", { datetime: at.toISOString(), title: at.toISOString() }, at.toLocaleTimeString("en-GB"), h("small", {}, `.${String(at.getMilliseconds()).padStart(3, "0")}`)),
          h("b", { class: "event" }, row.event ?? "(no event)"),
          success === true ? h("span", { class: "ok", title: "success: true" }, "✓") : success === false ? h("span", { class: "bad", title: "success: false" }, "✗ failed") : "",
          h("span", { class: "key-label", title: "label of the write key that let it in" }, row.write_key_label ?? "no key"),
          h("span", { class: "detail" }, detailOf(m)),
          h("span", { class: "date" }, at.toLocaleDateString("en-CA"))),
        h("pre", { class: "json" }, text)));
  }

  function renderLive(freshIds = new Set()) {
    const list = $("#live-list");
    const byId = new Map($$("li", list).map((li) => [li.dataset.id, li]));
    const items = live.rows.map((r) => byId.get(r.message_id) ?? eventItem(r, freshIds.has(r.message_id)));
    list.replaceChildren(...items);
    $("#live-empty").hidden = live.rows.length > 0;
    $("#live-older").hidden = !live.older;
    $("#live-status").textContent = `${fmt(live.rows.length)} shown`;
  }

  async function pollLive() {
    const p = liveParams();
    // A new filter starts the list over (the time window itself moves with every poll).
    const key = JSON.stringify(["range", "from", "to", "event", "version", "os", "ci"].map((k) => state[k]));
    if (key !== live.key) Object.assign(live, { rows: [], ids: new Set(), older: null, key });
    p.set("limit", String(LIVE_PAGE));
    const page = await getJson("events", p);
    forgetToken();
    if (live.key !== key) return;
    const fresh = page.rows.filter((r) => !live.ids.has(r.message_id));
    // Every row of this page is new and the page is full: more arrived than a page holds, so the list starts over from
    // the newest (paging back reaches the rest) rather than showing a silent gap.
    const gap = live.rows.length > 0 && fresh.length === page.rows.length && page.next !== null && order(page.rows[page.rows.length - 1], live.rows[0]) < 0;
    const restart = live.rows.length === 0 || gap;
    if (restart) {
      Object.assign(live, { rows: page.rows, ids: new Set(page.rows.map((r) => r.message_id)), older: page.next });
      $("#live-list").replaceChildren();
    } else {
      // New rows go where they belong: a request received earlier may commit after a later one.
      for (const r of fresh) live.ids.add(r.message_id);
      live.rows = [...fresh, ...live.rows].sort(order);
      if (live.rows.length > LIVE_MAX_ROWS) {
        live.rows = live.rows.slice(0, LIVE_MAX_ROWS);
        live.ids = new Set(live.rows.map((r) => r.message_id));
        live.older = live.rows[live.rows.length - 1].cursor;
      }
    }
    renderLive(new Set(restart ? [] : fresh.map((r) => r.message_id)));
    document.body.dataset.livePolls = String(Number(document.body.dataset.livePolls ?? 0) + 1);
  }

  async function loadOlder() {
    if (!live.older) return;
    const p = liveParams();
    p.set("limit", String(LIVE_PAGE));
    p.set("before", live.older);
    const page = await getJson("events", p);
    const more = page.rows.filter((r) => !live.ids.has(r.message_id));
    for (const r of more) live.ids.add(r.message_id);
    live.rows = [...live.rows, ...more];
    live.older = page.next;
    renderLive();
  }

  // --- wiring -----------------------------------------------------------------------------------------------------
  const status = (text) => ($("#updated").textContent = text);

  /** Refreshes under way: the timer starts none while one runs (a store slower than the interval would pile them up). */
  let refreshing = 0;
  async function refresh() {
    refreshing++;
    document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes ?? 0) + 1);
    try {
      await refreshOverview();
      if (state.view === "live") await pollLive();
      status(`updated ${new Date().toLocaleTimeString("en-GB")}`);
    } catch (e) {
      status(String(e.message));
    } finally {
      refreshing--;
    }
  }

  function setFilter(changes) {
    state = { ...state, ...changes };
    saveState();
    showState();
    refresh();
  }

  $("#controls").addEventListener("change", () => {
    const changes = {};
    for (const k of CONTROLS) changes[k] = $(`#${k}`).value;
    setFilter(changes);
  });
  for (const a of $$("[data-view]")) {
    a.addEventListener("click", (e) => {
      e.preventDefault();
      setFilter({ view: a.dataset.view });
    });
  }
  $("#live-older").addEventListener("click", () => loadOlder().catch((e) => status(String(e.message))));

  showState();
  refresh();
  // One timer: the live view every tick, everything (the overview, the empty state) every few ticks.
  let ticks = 0;
  setInterval(() => {
    // A refresh still under way (PostgreSQL takes seconds over months of events): no second one on top of it; a
    // filter the user changes still refreshes at once, and the older answers are dropped (generation).
    if (document.hidden || refreshing > 0) return;
    ticks++;
    // An empty collector is polled as often as the live view: its first event should show at once.
    if (empty || ticks % (OVERVIEW_POLL_MS / LIVE_POLL_MS) === 0) refresh();
    else if (state.view === "live") pollLive().catch((e) => status(String(e.message)));
  }, LIVE_POLL_MS);
})();
