// The dashboard's page script: fetches every /api/<plot> with the current filter, draws it, and polls every 5 s.
"use strict";
(() => {
  const COLORS = ["#3b6fd8", "#e8743b", "#19a979", "#ed4a7b", "#945ecf", "#13a4b4", "#525df4", "#bf399e", "#6c8893", "#ee6868"];
  const $ = (sel, el = document) => el.querySelector(sel);
  const fmt = (n) => Number(n).toLocaleString("en-US");
  const charts = {};
  const form = $("#controls");

  function filter() {
    const range = $("#range").value;
    const now = Date.now();
    let from = 0;
    let to = now + 60_000;
    if (range === "custom") {
      from = $("#from").value ? Date.parse($("#from").value) : 0;
      to = $("#to").value ? Date.parse($("#to").value) + 86_400_000 : to;
    } else if (range !== "all") {
      from = now - Number(range) * 86_400_000;
    }
    const p = new URLSearchParams({ from: String(from), to: String(to), bucket: $("#bucket").value });
    if ($("#event").value) p.set("event", $("#event").value);
    return p;
  }

  async function api(name, params) {
    // Relative to the page's <base href>: the collector may serve it under a base path.
    const r = await fetch(`api/${name}?${params}`, { credentials: "same-origin" });
    if (!r.ok) throw new Error(`${name}: HTTP ${r.status}`);
    const body = await r.json();
    if ("retain_days" in body) showRetention(body.retain_days);
    return body.rows;
  }

  function bars(name, rows, key, value, label = (r) => r[key], suffix = "") {
    const el = $(`[data-plot="${name}"] .bars`);
    if (rows.length === 0) {
      el.innerHTML = '<p class="empty">no events in this range</p>';
      return;
    }
    const max = Math.max(...rows.map((r) => Number(r[value])));
    el.innerHTML = "";
    for (const r of rows) {
      const d = document.createElement("div");
      d.className = "bar";
      d.dataset.key = String(r[key]);
      d.dataset.value = String(r[value]);
      const v = Number(r[value]);
      d.innerHTML = `<span class="label"></span><span class="track"><span class="fill" style="width:${max ? (100 * v) / max : 0}%;display:block"></span></span><span class="value">${fmt(v)}${suffix}</span>`;
      d.querySelector(".label").textContent = label(r);
      el.append(d);
    }
  }

  function series(name, rows, valueKey, opts, params) {
    const card = $(`[data-plot="${name}"]`);
    let times = [...new Set(rows.map((r) => Number(r.t)))].sort((a, b) => a - b);
    const step = params.get("bucket") === "hour" ? 3_600_000 : 86_400_000;
    const from = Number(params.get("from"));
    const to = Math.min(Number(params.get("to")), Date.now());
    // The x axis spans the chosen range (or the data's own, for "all time"): a single busy day is then a spike in
    // its place rather than a lone point on an axis uPlot pads out to years.
    const first = times.length ? times[0] : 0;
    const last = times.length ? times[times.length - 1] : 0;
    const start = from > 0 && from < first ? first - Math.floor((first - from) / step) * step : first;
    const end = Math.max(last, to > last ? last + Math.floor((to - last) / step) * step : last);
    if (opts.stacked && times.length > 0) {
      // Every bucket of the range, so a quiet day shows as zero rather than a slope.
      const all = [];
      for (let t = start; t <= end && all.length < 5000; t += step) all.push(t);
      times = [...new Set([...all, ...times])].sort((a, b) => a - b);
    }
    const xRange = [(Math.min(start, first) - step / 2) / 1000, (Math.max(end, last) + step / 2) / 1000];
    const names = [...new Set(rows.map((r) => r.event))].sort();
    const idx = new Map(times.map((t, i) => [t, i]));
    let data = names.map((n) => {
      const arr = new Array(times.length).fill(opts.stacked ? 0 : null);
      for (const r of rows) if (r.event === n) arr[idx.get(Number(r.t))] = Number(r[valueKey]);
      return arr;
    });
    if (opts.stacked) for (let s = 1; s < data.length; s++) data[s] = data[s].map((v, i) => v + data[s - 1][i]);
    const legend = $(".legend", card);
    legend.innerHTML = "";
    names.forEach((n, i) => {
      const item = document.createElement("span");
      item.dataset.key = n;
      item.dataset.value = String(opts.legendValue(n));
      item.innerHTML = `<i style="background:${COLORS[i % COLORS.length]}"></i>`;
      item.append(`${n}: ${opts.legendText(n)}`);
      legend.append(item);
    });
    const el = $(".chart", card);
    const width = Math.max(280, el.clientWidth || card.clientWidth - 32);
    const uSeries = [{}].concat(
      names.map((n, i) => ({
        label: n,
        stroke: COLORS[i % COLORS.length],
        fill: opts.stacked ? COLORS[i % COLORS.length] + "55" : undefined,
        width: 1.5,
        points: { show: !opts.stacked || times.length < 3 },
      })),
    );
    // Stacked areas: draw the top (largest cumulative) first so smaller ones stay visible.
    const order = opts.stacked ? names.map((_, i) => names.length - 1 - i) : names.map((_, i) => i);
    const u = {
      width,
      height: 220,
      legend: { show: false },
      scales: { x: { time: true, range: xRange }, ...(opts.scales ?? {}) },
      axes: [{}, { values: opts.yValues }],
      series: [uSeries[0], ...order.map((i) => uSeries[i + 1])],
      hooks: {
        // The x range drawn, in ms, on the card: for tests, and for anyone reading the page's DOM.
        setScale: [
          (chart, key) => {
            if (key !== "x") return;
            card.dataset.xMin = String(Math.round(chart.scales.x.min * 1000));
            card.dataset.xMax = String(Math.round(chart.scales.x.max * 1000));
          },
        ],
      },
    };
    const aligned = [times.map((t) => t / 1000), ...order.map((i) => data[i])];
    charts[name]?.destroy();
    el.innerHTML = times.length === 0 ? '<p class="empty">no events in this range</p>' : "";
    if (times.length > 0) charts[name] = new uPlot(u, aligned, el);
  }

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

  async function refresh() {
    const p = filter();
    try {
      const [summary, over, commands, destinations, sources, success, elapsed, versions, platforms, ci, execInfo, names] = await Promise.all(
        ["summary", "events_over_time", "commands", "destinations", "sources", "success_rate", "elapsed", "versions", "platforms", "ci", "exec_info", "event_names"].map((n) => api(n, p)),
      );
      forgetToken();
      const s = summary[0] ?? {};
      $("#summary").innerHTML = "";
      for (const [k, label, v] of [
        ["events", "events", fmt(s.events ?? 0)],
        ["pipeline_runs", "pipeline runs", fmt(s.pipeline_runs ?? 0)],
        ["commands", "commands", fmt(s.commands ?? 0)],
        ["success_rate", "succeeded", s.success_rate == null ? "–" : `${(100 * s.success_rate).toFixed(1)} %`],
      ]) {
        const d = document.createElement("div");
        d.className = "stat";
        d.dataset.key = k;
        d.dataset.value = String(s[k] ?? "");
        d.innerHTML = `<b>${v}</b><span>${label}</span>`;
        $("#summary").append(d);
      }
      const totals = new Map();
      for (const r of over) totals.set(r.event, (totals.get(r.event) ?? 0) + Number(r.n));
      series("events_over_time", over, "n", { stacked: true, legendValue: (n) => totals.get(n), legendText: (n) => fmt(totals.get(n)) }, p);
      const rate = new Map();
      for (const r of success) {
        const a = rate.get(r.event) ?? { ok: 0, n: 0 };
        a.ok += Number(r.rate) * Number(r.n);
        a.n += Number(r.n);
        rate.set(r.event, a);
      }
      const pct = (n) => (100 * rate.get(n).ok) / rate.get(n).n;
      series("success_rate", success, "rate", {
        stacked: false,
        scales: { y: { range: [0, 1] } },
        yValues: (_u, ticks) => ticks.map((t) => `${Math.round(t * 100)}%`),
        legendValue: (n) => pct(n).toFixed(1),
        legendText: (n) => `${pct(n).toFixed(1)} % of ${fmt(rate.get(n).n)}`,
      }, p);
      bars("commands", commands, "command", "n");
      bars("destinations", destinations.filter((r) => Number(r.runs) > 0), "destination", "runs");
      bars("inits", destinations.filter((r) => Number(r.inits) > 0).sort((a, b) => b.inits - a.inits), "destination", "inits");
      bars("sources", sources, "source", "n");
      bars("versions", versions, "version", "n");
      bars("platforms", platforms.map((r) => ({ ...r, key: `${r.os} / ${r.runtime}` })), "key", "n");
      const ciTotal = ci.reduce((a, r) => a + Number(r.n), 0);
      bars("ci", ci, "ci", "n", (r) => `${r.ci} (${((100 * Number(r.n)) / ciTotal).toFixed(0)} %)`);
      bars("exec_info", execInfo, "env", "n");
      const table = $('[data-plot="elapsed"] .table');
      table.innerHTML = "<tr><th>event</th><th>n</th><th>median</th><th>p95</th></tr>";
      for (const r of elapsed) {
        const tr = document.createElement("tr");
        tr.dataset.key = r.event;
        tr.dataset.p50 = String(r.p50);
        tr.dataset.p95 = String(r.p95);
        tr.innerHTML = `<td></td><td>${fmt(r.n)}</td><td>${r.p50}</td><td>${r.p95}</td>`;
        tr.firstChild.textContent = r.event;
        table.append(tr);
      }
      const sel = $("#event");
      const current = sel.value;
      const known = new Set([...sel.options].map((o) => o.value));
      for (const r of names) if (!known.has(r.event)) sel.add(new Option(r.event, r.event));
      sel.value = current;
      $("#updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
      document.body.dataset.loaded = String(Number(document.body.dataset.loaded ?? 0) + 1);
    } catch (e) {
      $("#updated").textContent = String(e.message);
    }
  }

  form.addEventListener("change", () => {
    form.classList.toggle("custom", $("#range").value === "custom");
    refresh();
  });
  refresh();
  setInterval(refresh, 5000);
})();
