// The dashboard's page, started by index.html as a module. Two views: the overview (every API with the current
// filter, drawn, polled every 10 s) and the live events (polled every 2 s). The state lives in the address
// (state.ts); this module holds the current one, wires the controls and runs the one timer.
import { forgetToken, rowsOf, setup, type Setup } from "./api.js";
import { Charts } from "./charts.js";
import { $, $$, ensureOption } from "./dom.js";
import { LiveView } from "./live.js";
import { drawOverview, fillOptions, loadOverview } from "./overview.js";
import { showSetup } from "./setup.js";
import { addressOf, CONTROLS, filterParams, isFiltered, liveParams, readState, timeWindow, type PageState } from "./state.js";

const OVERVIEW_POLL_MS = 10_000;
const LIVE_POLL_MS = 2_000;

class Dashboard {
  private state = readState(location.href);
  /** No event at all: the empty state shows instead of the overview. */
  private empty = false;
  /** Bumped by every refresh: an answer to an older one (the filters have changed since) is not drawn. */
  private generation = 0;
  /** Refreshes under way: the timer starts none while one runs (a store slower than the interval would pile them up). */
  private refreshing = 0;
  private setup: Setup | undefined;
  private readonly charts = new Charts();
  private readonly live = new LiveView();

  start(): void {
    $("#controls").addEventListener("change", () => {
      const values = CONTROLS.map((k) => [k, $<HTMLInputElement | HTMLSelectElement>(`#${k}`).value]);
      this.setFilter(Object.fromEntries(values) as Pick<PageState, (typeof CONTROLS)[number]>);
    });
    for (const a of $$("[data-view]")) {
      a.addEventListener("click", (e) => {
        e.preventDefault();
        this.setFilter({ view: a.dataset["view"] === "live" ? "live" : "overview" });
      });
    }
    $("#live-older").addEventListener("click", () => this.live.loadOlder(this.state).catch((e: unknown) => this.status(messageOf(e))));
    this.showState();
    void this.refresh();
    // One timer: the live view every tick, everything (the overview, the empty state) every few ticks.
    let ticks = 0;
    setInterval(() => {
      // A refresh still under way (PostgreSQL takes seconds over months of events): no second one on top of it; a
      // filter the user changes still refreshes at once, and the older answers are dropped (generation).
      if (document.hidden || this.refreshing > 0) return;
      ticks++;
      // An empty collector is polled as often as the live view: its first event should show at once.
      if (this.empty || ticks % (OVERVIEW_POLL_MS / LIVE_POLL_MS) === 0) void this.refresh();
      else if (this.state.view === "live") this.live.poll(this.state).catch((e: unknown) => this.status(messageOf(e)));
    }, LIVE_POLL_MS);
  }

  private setFilter(changes: Partial<PageState>): void {
    this.state = { ...this.state, ...changes };
    history.replaceState(history.state, "", addressOf(this.state, location.href));
    this.showState();
    void this.refresh();
  }

  /** The controls, the view and its panels as the state says. */
  private showState(): void {
    for (const k of CONTROLS) {
      const el = $<HTMLInputElement | HTMLSelectElement>(`#${k}`);
      if (el instanceof HTMLSelectElement) ensureOption(el, this.state[k]);
      el.value = this.state[k];
    }
    $("#controls").classList.toggle("custom", this.state.range === "custom");
    for (const a of $$("nav a")) a.setAttribute("aria-current", a.dataset["view"] === this.state.view ? "page" : "false");
    for (const panel of $$("[data-view-panel]"))
      panel.hidden = panel.dataset["viewPanel"] !== this.state.view || (panel.id === "overview" && this.empty);
    document.body.dataset["view"] = this.state.view;
  }

  private setEmpty(empty: boolean): void {
    this.empty = empty;
    $("#setup").hidden = !empty;
    document.body.dataset["empty"] = String(empty);
    this.showState();
  }

  private status(text: string): void {
    $("#updated").textContent = text;
  }

  private async refresh(): Promise<void> {
    this.refreshing++;
    document.body.dataset["refreshes"] = String(Number(document.body.dataset["refreshes"] ?? 0) + 1);
    try {
      await this.refreshOverview();
      if (this.state.view === "live") await this.live.poll(this.state);
      this.status(`updated ${new Date().toLocaleTimeString("en-GB")}`);
    } catch (e) {
      this.status(messageOf(e));
    } finally {
      this.refreshing--;
    }
  }

  private async refreshOverview(): Promise<void> {
    const gen = ++this.generation;
    const s = this.state;
    const [extent] = await rowsOf("extent", filterParams(s));
    forgetToken();
    const noneAtAll = Number(extent?.["n"] ?? 0) === 0 && !isFiltered(s);
    if (noneAtAll) showSetup((this.setup ??= await setup()));
    if (gen !== this.generation) return;
    this.setEmpty(noneAtAll);
    if (noneAtAll) return;
    if (s.view !== "overview") {
      // The live view needs the filters' choices only: every event name, version and OS received.
      const p = liveParams(s);
      const [names, values] = await Promise.all([rowsOf("event_names", p), rowsOf("filter_values", p)]);
      if (gen === this.generation) fillOptions(values, names);
      return;
    }
    const time = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
    const w = timeWindow(s, time(extent?.["first"]), Date.now(), time(extent?.["last"]));
    const data = await loadOverview(s, w);
    if (gen !== this.generation) return;
    drawOverview(s, w, data, this.charts, (changes) => this.setFilter(changes));
  }
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

new Dashboard().start();
