// The live view: the stored events newest first (`api/events`), polled, new ones put where they belong, older ones
// paged by cursor; each row opens to the JSON stored.
import { events, forgetToken, type EventRow } from "./api.js";
import { $, $$, fmt, h } from "./dom.js";
import { liveParams, type PageState } from "./state.js";

/** Rows asked per poll and per "Load older". */
const LIVE_PAGE = 50;
/** Rows kept on the page; past it the oldest go (and "Load older" brings them back). */
const LIVE_MAX_ROWS = 1000;

/** A stored message as far as a row's summary reads it (clients send anything: every field is checked). */
interface Message {
  readonly event?: unknown;
  readonly properties?: Readonly<Record<string, unknown>>;
  readonly context?: { readonly library?: { readonly name?: unknown; readonly version?: unknown } };
}

/** Newest received first, then by message id (descending), as the API pages. */
const order = (a: EventRow, b: EventRow): number =>
  Number(b.received_at) - Number(a.received_at) || (a.message_id < b.message_id ? 1 : a.message_id > b.message_id ? -1 : 0);

/** The client's own time of a row (its `timestamp`, as stored), epoch ms; 0 when it has none. */
function clientTime(r: EventRow): number {
  const m = /"timestamp":\s*"([^"]+)"/.exec(r.message);
  const t = m ? Date.parse(m[1]!) : NaN;
  return Number.isNaN(t) ? 0 : t;
}

/**
 * The rows in the order shown: as the API pages (newest received first), and within one request, which gives its
 * events one receivedAt, by the client's own times: a run's extract, normalize and load read in the order they
 * happened, not in the order of their random ids. Each row's time is read from its message once, not per comparison.
 */
function inShownOrder(rows: readonly EventRow[]): EventRow[] {
  const at = new Map(rows.map((r) => [r, clientTime(r)]));
  return [...rows].sort((a, b) => Number(b.received_at) - Number(a.received_at) || at.get(b)! - at.get(a)! || order(a, b));
}

/** What a glance at a row should tell: the client's library, and the source and destination when there are. */
function detailOf(m: Message): string {
  const p = m.properties ?? {};
  const lib = m.context?.library;
  const destination = p["destination_name"] ?? (typeof p["destination_type"] === "string" ? p["destination_type"].split(".").pop() : undefined);
  const source = p["source_name"] ?? (m.event === "command_init" ? p["pipeline_name"] : undefined);
  const library = lib ? `${lib.name ?? "?"} ${lib.version ?? "?"}` : "";
  return [library, source ? `${source} → ${destination ?? "?"}` : String(destination ?? "")].filter(Boolean).join(" · ");
}

function eventItem(row: EventRow, fresh: boolean): HTMLLIElement {
  let m: Message = {};
  let text = row.message;
  try {
    const parsed: unknown = JSON.parse(row.message);
    if (typeof parsed === "object" && parsed !== null) m = parsed;
    text = JSON.stringify(parsed, null, 2);
  } catch {
    // shown as stored
  }
  const success = m.properties?.["success"];
  const at = new Date(Number(row.received_at));
  return h(
    "li",
    {
      class: fresh ? "fresh" : "",
      dataset: { id: row.message_id, event: row.event ?? "", label: row.write_key_label ?? "", receivedAt: String(row.received_at) },
    },
    h(
      "details",
      {},
      h(
        "summary",
        {},
        h(
          "time",
          { datetime: at.toISOString(), title: at.toISOString() },
          at.toLocaleTimeString("en-GB"),
          h("small", {}, `.${String(at.getMilliseconds()).padStart(3, "0")}`),
        ),
        h("b", { class: "event" }, row.event ?? "(no event)"),
        success === true
          ? h("span", { class: "ok", title: "success: true" }, "✓")
          : success === false
            ? h("span", { class: "bad", title: "success: false" }, "✗ failed")
            : "",
        h("span", { class: "key-label", title: "label of the write key that let it in" }, row.write_key_label ?? "no key"),
        h("span", { class: "detail" }, detailOf(m)),
        h("span", { class: "date" }, at.toLocaleDateString("en-CA")),
      ),
      h("pre", { class: "json" }, text),
    ),
  );
}

/** The rows shown, newest first, and the cursor of the oldest (for "load older"). */
export class LiveView {
  private rows: EventRow[] = [];
  private ids = new Set<string>();
  private older: string | null = null;
  /** The filters the rows were asked with: a new filter starts the list over. */
  private key = "";

  /** Asks for the newest page and puts the rows not yet shown where they belong. */
  async poll(s: PageState): Promise<void> {
    const p = liveParams(s);
    // The time window itself moves with every poll: only the filters make the key.
    const key = JSON.stringify([s.range, s.from, s.to, s.event, s.version, s.os, s.ci]);
    if (key !== this.key) {
      this.rows = [];
      this.ids = new Set();
      this.older = null;
      this.key = key;
    }
    p.set("limit", String(LIVE_PAGE));
    const page = await events(p);
    forgetToken();
    if (this.key !== key) return;
    const fresh = page.rows.filter((r) => !this.ids.has(r.message_id));
    // Every row of this page is new and the page is full: more arrived than a page holds, so the list starts over from
    // the newest (paging back reaches the rest) rather than showing a silent gap.
    const oldestOfPage = page.rows[page.rows.length - 1];
    const gap =
      this.rows[0] !== undefined &&
      oldestOfPage !== undefined &&
      fresh.length === page.rows.length &&
      page.next !== null &&
      order(oldestOfPage, this.rows[0]) < 0;
    const restart = this.rows.length === 0 || gap;
    if (restart) {
      this.rows = [...page.rows];
      this.ids = new Set(page.rows.map((r) => r.message_id));
      this.older = page.next;
      $("#live-list").replaceChildren();
    } else {
      // New rows go where they belong: a request received earlier may commit after a later one.
      for (const r of fresh) this.ids.add(r.message_id);
      this.rows = [...fresh, ...this.rows].sort(order);
      if (this.rows.length > LIVE_MAX_ROWS) {
        this.rows = this.rows.slice(0, LIVE_MAX_ROWS);
        this.ids = new Set(this.rows.map((r) => r.message_id));
        this.older = this.rows[this.rows.length - 1]!.cursor;
      }
    }
    this.render(new Set(restart ? [] : fresh.map((r) => r.message_id)));
    document.body.dataset["livePolls"] = String(Number(document.body.dataset["livePolls"] ?? 0) + 1);
  }

  /** Appends the page of events received before the oldest shown. */
  async loadOlder(s: PageState): Promise<void> {
    if (!this.older) return;
    const p = liveParams(s);
    p.set("limit", String(LIVE_PAGE));
    p.set("before", this.older);
    const page = await events(p);
    const more = page.rows.filter((r) => !this.ids.has(r.message_id));
    for (const r of more) this.ids.add(r.message_id);
    this.rows = [...this.rows, ...more];
    this.older = page.next;
    this.render(new Set());
  }

  private render(freshIds: ReadonlySet<string>): void {
    const list = $("#live-list");
    const byId = new Map($$("li", list).map((li) => [li.dataset["id"], li]));
    list.replaceChildren(...inShownOrder(this.rows).map((r) => byId.get(r.message_id) ?? eventItem(r, freshIds.has(r.message_id))));
    $("#live-empty").hidden = this.rows.length > 0;
    $("#live-older").hidden = !this.older;
    $("#live-status").textContent = `${fmt(this.rows.length)} shown`;
  }
}
