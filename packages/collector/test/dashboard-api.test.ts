// The dashboard's JSON API on every store (DuckDB, PostgreSQL and ClickHouse, embedded through chDB), against the very same seeded events (seed.ts:
// dlt-ts's events and Python dlt 1.x's, each let in by a labelled write key): the same expected answers from both, and
// the same JSON from both for every API and filter, the live view's pages included; the read token; no raw anonymous
// id in any answer but the live view's. A new API is added to DASHBOARD_APIS and to each store's SQL; this file
// covers it.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { DASHBOARD_APIS } from "../src/dashboard/apis.js";
import { hashLabel, startCollector, type Collector } from "../src/index.js";
import { apiAnswer, get, numeric, type Row } from "./dashboard-client.js";
import { dltEvent, post, tempDb, tempDir } from "./helpers.js";
import { testPostgres, type TestPostgres } from "./postgres-server.js";
import { aggregateFilters, assertSameBothWays, withinError } from "./aggregates-compare.js";
import { PYTHON_DLT, seed, seedMore } from "./seed.js";

const DAY = 86_400_000;
const CI_KEY = "wk-ci-0123456789abcdef";
const BARE_KEY = "wk-bare-fedcba9876543210";
const TOKEN = "rt";
type Kind = "duckdb" | "postgres" | "chdb";
const KINDS: readonly Kind[] = ["duckdb", "postgres", "chdb"];

/** Each store under test: a collector on it, holding the same events (one seed, sent to both). */
const stores = {} as Record<Kind, Collector>;
let server: TestPostgres;
/** The anonymous ids seeded: no API but the live view may show one. */
let anon: string[];
let seededAt: number;
/**
 * A fresh, empty database of a kind. PostgreSQL's collate in American English (ICU), as a production database often
 * does, unlike the tests' server (C): text must still sort in byte order, as DuckDB sorts it.
 */
// chDB binds one directory per process: each fresh ClickHouse store is a database of its own in it.
let chdbDir: string | undefined;
let chdbDatabases = 0;
const freshDb = async (kind: Kind): Promise<string> =>
  kind === "duckdb"
    ? tempDb()
    : kind === "chdb"
      ? `chdb:${(chdbDir ??= tempDir("chdb-"))}?database=t${++chdbDatabases}`
      : server.database({ icuLocale: "en-US" });

before(async () => {
  server = await testPostgres();
  // The seed holds values a plan would strip (made-up sources, odd text): the SQL is tested on what is stored as sent.
  const options = { port: 0, plan: "none" as const, writeKeys: [{ label: "ci", key: CI_KEY }, BARE_KEY], readToken: TOKEN, retainDays: 400 };
  for (const kind of KINDS) stores[kind] = await startCollector({ ...options, db: await freshDb(kind) });
  seededAt = Date.now();
  const first = await seed(stores.duckdb.url, BARE_KEY);
  const more = await seedMore(stores.duckdb.url, CI_KEY, { withIds: true });
  for (const kind of KINDS.slice(1)) {
    await seed(stores[kind].url, BARE_KEY, first.sent);
    await seedMore(stores[kind].url, CI_KEY, { again: more });
  }
  anon = [...first.anon, more.anonymousId];
});
after(async () => {
  for (const c of Object.values(stores)) await c.close();
  await server.close();
});

const last24h = (): Record<string, string> => ({ from: String(Date.now() - DAY), to: String(Date.now() + 60_000) });
const sum = (rows: Row[], key: string): number => rows.reduce((a, r) => a + (r[key] as number), 0);

for (const kind of KINDS) {
  describe(`on ${kind}`, () => {
    /** The rows of an API on this store; asserts that no anonymous id is in the answer. */
    async function api(name: string, params: Record<string, string> = {}): Promise<Row[]> {
      const a = await apiAnswer(stores[kind].url, name, params, TOKEN);
      for (const id of anon) assert.ok(!a.text.includes(id), `${name} exposes an anonymousId`);
      return a.rows.map(numeric);
    }

    test("summary, commands and destinations: 30 days by default, and the time range changes them", async () => {
      assert.deepEqual(await api("summary"), [{ events: 26, pipeline_runs: 4, commands: 14, success_rate: Number((22 / 26).toFixed(4)) }]);
      assert.deepEqual(await api("commands"), [
        { command: "init", n: 9 },
        { command: "telemetry", n: 5 },
      ]);
      assert.deepEqual(await api("commands", last24h()), [
        { command: "init", n: 5 },
        { command: "telemetry", n: 5 },
      ]);
      assert.deepEqual(await api("destinations", last24h()), [
        { destination: "duckdb", runs: 2, inits: 3 },
        { destination: "bigquery", runs: 1, inits: 2 },
      ]);
      assert.deepEqual(await api("commands", { event: "command_init" }), [{ command: "init", n: 9 }]);
    });

    test("events over time (per day, per hour), success rate per bucket, elapsed p50/p95", async () => {
      const days = await api("events_over_time");
      assert.equal(sum(days, "n"), 26);
      // Events 10 days, 5 hours and 2 hours ago: two days hold events (three just after midnight UTC).
      const expectedDays = new Set([seededAt - 10 * DAY, seededAt - 5 * 3600_000, seededAt - 2 * 3600_000].map((t) => Math.floor(t / DAY))).size;
      assert.equal(new Set(days.map((r) => r["t"])).size, expectedDays);
      const hours = await api("events_over_time", { ...last24h(), bucket: "hour" });
      assert.equal(sum(hours, "n"), 19);
      assert.ok(
        hours.every((r) => (r["t"] as number) % 3_600_000 === 0),
        "hour buckets",
      );
      // Per day: the last 24 h may hold two (the events 5 and 2 hours ago, just after midnight UTC).
      const rates = await api("success_rate", last24h());
      const ranAndFailed = (event: string): [number, number] => {
        const rows = rates.filter((r) => r["event"] === event);
        return [sum(rows, "n"), Math.round(rows.reduce((a, r) => a + (r["n"] as number) * (1 - (r["rate"] as number)), 0))];
      };
      assert.deepEqual(ranAndFailed("pipeline_load"), [3, 2]);
      assert.deepEqual(ranAndFailed("command_init"), [5, 2]);
      assert.deepEqual(
        (await api("success_rate", { from: String(seededAt - 3 * 3600_000) }))
          .map((r) => [r["event"], r["n"], r["rate"]])
          .filter((r) => r[0] === "command_init"),
        [["command_init", 3, 0.6667]],
      );
      // From the aggregates' histogram: within its stated error of the exact 2 and 3.8 (see withinError).
      const el = await api("elapsed", last24h());
      withinError(
        el.find((r) => r["event"] === "command_init"),
        { event: "command_init", n: 5, p50: 2, p95: 3.8 },
      );
      withinError(
        el.find((r) => r["event"] === "pipeline_load"),
        { event: "pipeline_load", n: 3, p50: 3, p95: 3 },
      );
    });

    test("versions, platforms, CI share, exec_info environments", async () => {
      assert.deepEqual(await api("versions"), [
        { version: "dlt-ts 0.1.0", n: 17 },
        { version: PYTHON_DLT.library, n: 5 },
        { version: "dlt-ts 0.0.9", n: 4 },
      ]);
      assert.deepEqual(await api("platforms"), [
        { os: "Linux", runtime: "node 20", n: 21 },
        { os: "Darwin", runtime: "python 3", n: 5 },
      ]);
      assert.deepEqual(await api("ci", last24h()), [
        { ci: "not ci", n: 13 },
        { ci: "ci", n: 6 },
      ]);
      assert.deepEqual(await api("exec_info", last24h()), [
        { env: "docker", n: 11 },
        { env: "github_actions", n: 5 },
        { env: "kubernetes", n: 2 },
      ]);
    });

    test("the summary says how long events are kept", async () => {
      assert.equal(JSON.parse((await get(`${stores[kind].url}/api/summary`, { authorization: `Bearer ${TOKEN}` })).text).retain_days, 400);
    });

    test("failures: which commands and steps fail, by library version, OS and runtime version in full", async () => {
      const rows = await api("failures");
      const by = (dimension: string): [unknown, unknown, unknown][] =>
        rows.filter((r) => r["dimension"] === dimension).map((r) => [r["value"], r["n"], r["failed"]]);
      assert.deepEqual(by("event"), [
        ["command_init", 9, 2],
        ["pipeline_load", 4, 2],
        ["command_telemetry", 5, 0],
        ["pipeline_extract", 4, 0],
        ["pipeline_normalize", 4, 0],
      ]);
      assert.deepEqual(by("version"), [
        ["dlt-ts 0.1.0", 17, 2],
        [PYTHON_DLT.library, 5, 2],
        ["dlt-ts 0.0.9", 4, 0],
      ]);
      assert.deepEqual(by("os"), [
        ["Linux 6.1.0", 21, 2],
        [PYTHON_DLT.os, 5, 2],
      ]);
      assert.deepEqual(by("runtime"), [
        ["node 20.20.2", 21, 2],
        [PYTHON_DLT.runtime, 5, 2],
      ]);
    });

    test("failures drilled into one step: the event filter narrows every dimension to it", async () => {
      const rows = await api("failures", { event: "pipeline_load" });
      assert.deepEqual(
        rows.map((r) => [r["dimension"], r["value"], r["n"], r["failed"]]),
        [
          ["event", "pipeline_load", 4, 2],
          ["os", "Linux 6.1.0", 3, 1],
          ["os", PYTHON_DLT.os, 1, 1],
          ["runtime", "node 20.20.2", 3, 1],
          ["runtime", PYTHON_DLT.runtime, 1, 1],
          ["version", "dlt-ts 0.1.0", 3, 1],
          ["version", PYTHON_DLT.library, 1, 1],
        ],
      );
    });

    test("the failure rate's trend: per bucket, events that report success and how many failed", async () => {
      const days = await api("failure_rate");
      assert.equal(sum(days, "n"), 26);
      assert.equal(sum(days, "failed"), 4);
      assert.deepEqual(
        days.map((r) => r["t"]),
        [...days.map((r) => r["t"])].sort(),
        "in time order",
      );
      const oldDay = days.find((r) => (r["t"] as number) < seededAt - 9 * DAY);
      assert.deepEqual(oldDay && [oldDay["n"], oldDay["failed"]], [7, 0]);
      const hours = await api("failure_rate", { ...last24h(), bucket: "hour" });
      assert.equal(sum(hours, "n"), 19);
      assert.equal(sum(hours, "failed"), 4);
    });

    test("adoption: each library version's events per bucket, runtimes and OS versions in full", async () => {
      const share = await api("version_share");
      const total = (v: string): number =>
        sum(
          share.filter((r) => r["version"] === v),
          "n",
        );
      assert.deepEqual([total("dlt-ts 0.1.0"), total(PYTHON_DLT.library), total("dlt-ts 0.0.9")], [17, 5, 4]);
      const oldDay = share.filter((r) => (r["t"] as number) < seededAt - 9 * DAY).map((r) => [r["version"], r["n"]]);
      assert.deepEqual(oldDay, [
        ["dlt-ts 0.0.9", 4],
        ["dlt-ts 0.1.0", 3],
      ]);
      assert.deepEqual(await api("runtimes"), [
        { runtime: "node 20.20.2", n: 21 },
        { runtime: PYTHON_DLT.runtime, n: 5 },
      ]);
      assert.deepEqual(await api("os_versions"), [
        { os: "Linux 6.1.0", n: 21 },
        { os: PYTHON_DLT.os, n: 5 },
      ]);
      assert.deepEqual(await api("ci"), [
        { ci: "not ci", n: 20 },
        { ci: "ci", n: 6 },
      ]);
      assert.deepEqual(await api("exec_info"), [
        { env: "docker", n: 18 },
        { env: "github_actions", n: 5 },
        { env: "kubernetes", n: 2 },
      ]);
    });

    test("installs: per bucket and library version, the events that say first_run_of_version: true", async () => {
      const day = (t: number): number => Math.floor(t / DAY) * DAY;
      const [recent, old] = [seededAt - 2 * 3600_000, seededAt - 10 * DAY];
      assert.deepEqual(await api("installs"), [
        { t: day(old), version: "dlt-ts 0.0.9", n: 1 },
        { t: day(recent), version: "dlt-ts 0.1.0", n: 2 },
      ]);
      assert.deepEqual(await api("installs", { ...last24h(), bucket: "hour" }), [
        { t: Math.floor(recent / 3600_000) * 3600_000, version: "dlt-ts 0.1.0", n: 2 },
      ]);
      // The filters apply: one of the two was in CI; `first_run_of_version: false` (a telemetry command) is no install.
      assert.deepEqual(await api("installs", { ci: "true" }), [{ t: day(recent), version: "dlt-ts 0.1.0", n: 1 }]);
      assert.deepEqual(await api("installs", { version: "dlt-ts 0.0.9" }), [{ t: day(old), version: "dlt-ts 0.0.9", n: 1 }]);
      assert.deepEqual(await api("installs", { event: "command_telemetry" }), []);
      assert.deepEqual(await api("installs", { os: "Darwin" }), []);
    });

    test("sources and destinations: dlt init by source and destination, pipeline steps by destination, both vocabularies", async () => {
      assert.deepEqual(await api("inits"), [
        { source: "x", destination: "duckdb", n: 4, failed: 0 },
        { source: "chess", destination: "duckdb", n: 3, failed: 1 },
        { source: "github", destination: "bigquery", n: 2, failed: 1 },
      ]);
      assert.deepEqual(
        (await api("steps_by_destination")).map((r) => [r["destination"], r["step"], r["n"], r["failed"]]),
        [
          ["bigquery", "extract", 1, 0],
          ["bigquery", "load", 1, 1],
          ["bigquery", "normalize", 1, 0],
          ["duckdb", "extract", 2, 0],
          ["duckdb", "load", 2, 1],
          ["duckdb", "normalize", 2, 0],
          ["postgres", "extract", 1, 0],
          ["postgres", "load", 1, 0],
          ["postgres", "normalize", 1, 0],
        ],
      );
      assert.deepEqual(await api("destinations"), [
        { destination: "duckdb", runs: 2, inits: 7 },
        { destination: "bigquery", runs: 1, inits: 2 },
        { destination: "postgres", runs: 1, inits: 0 },
      ]);
      assert.deepEqual(await api("sources"), [
        { source: "x", n: 4 },
        { source: "chess", n: 3 },
        { source: "github", n: 2 },
      ]);
    });

    test("the version, OS and CI filters apply to every API", async () => {
      const only = (params: Record<string, string>) =>
        api("summary", params).then((r) => [r[0]!["events"], r[0]!["commands"], r[0]!["pipeline_runs"]]);
      assert.deepEqual(await only({ version: PYTHON_DLT.library }), [5, 2, 1]);
      assert.deepEqual(await only({ os: "Darwin" }), [5, 2, 1]);
      assert.deepEqual(await only({ ci: "true" }), [6, 3, 1]);
      assert.deepEqual(await only({ ci: "false" }), [20, 11, 3]);
      assert.deepEqual(await only({ version: "dlt-ts 0.1.0", ci: "true" }), [1, 1, 0]);
      assert.deepEqual(await only({ version: "dlt-ts 0.1.0", os: "Darwin" }), [0, 0, 0]);
      // Every API, not only the summary: with a filter nothing of the other clients shows.
      const params = new URLSearchParams({ version: PYTHON_DLT.library });
      for (const name of DASHBOARD_APIS) {
        if (name === "filter_values") continue; // its own filters are ignored on purpose (below)
        const text = (await get(`${stores[kind].url}/api/${name}?${params}`, { authorization: `Bearer ${TOKEN}` })).text;
        assert.doesNotMatch(text, /dlt-ts|node 20|Linux|"duckdb"|chess/, `${name} with version=${PYTHON_DLT.library}: ${text.slice(0, 300)}`);
      }
      assert.deepEqual(await api("commands", { os: "Darwin" }), [{ command: "init", n: 2 }]);
      assert.deepEqual(
        (await api("failures", { ci: "true", event: "command_init" })).filter((r) => r["dimension"] === "version"),
        [
          { dimension: "version", value: PYTHON_DLT.library, n: 2, failed: 1 },
          { dimension: "version", value: "dlt-ts 0.1.0", n: 1, failed: 0 },
        ],
      );
    });

    test("the filters' choices: every version and OS in the range, whatever is chosen", async () => {
      const expected = [
        { kind: "version", value: "dlt-ts 0.1.0", n: 17 },
        { kind: "version", value: PYTHON_DLT.library, n: 5 },
        { kind: "version", value: "dlt-ts 0.0.9", n: 4 },
        { kind: "os", value: "Linux", n: 21 },
        { kind: "os", value: "Darwin", n: 5 },
      ];
      assert.deepEqual(await api("filter_values"), expected);
      assert.deepEqual(await api("filter_values", { version: PYTHON_DLT.library, os: "Darwin", ci: "true", event: "command_init" }), expected);
      assert.deepEqual(
        (await api("filter_values", last24h())).filter((r) => r["kind"] === "version"),
        [
          { kind: "version", value: "dlt-ts 0.1.0", n: 14 },
          { kind: "version", value: PYTHON_DLT.library, n: 5 },
        ],
      );
    });

    test("extent: the first and last event whatever the range, so the page can fit its range to young data", async () => {
      const [e] = await api("extent", { from: String(Date.now() - 3600_000) });
      assert.equal(e!["n"], 26);
      assert.ok(Math.abs((e!["first"] as number) - (seededAt - 10 * DAY)) < 60_000, `first ${new Date(e!["first"] as number).toISOString()}`);
      assert.ok(Math.abs((e!["last"] as number) - (seededAt - 2 * 3600_000)) < 60_000, `last ${new Date(e!["last"] as number).toISOString()}`);
      assert.deepEqual(
        (await api("extent", { os: "Darwin" })).map((r) => r["n"]),
        [5],
      );
      const empty = await startCollector({ port: 0, db: await freshDb(kind) });
      try {
        assert.deepEqual((await apiAnswer(empty.url, "extent")).rows, [{ first: null, last: null, n: 0 }]);
      } finally {
        await empty.close();
      }
    });

    test("live events: newest received first, with the time received, the key's label and the stored JSON", async () => {
      const { rows, next } = await apiAnswer(stores[kind].url, "events", {}, TOKEN);
      assert.equal(rows.length, 26);
      assert.equal(next, null, "one page holds them all");
      // Python dlt's events (labelled ci, sent one by one: the last sent comes first), then dlt-ts's batch.
      assert.deepEqual(
        rows.slice(0, 5).map((r) => r["event"]),
        ["pipeline_load", "pipeline_normalize", "pipeline_extract", "command_init", "command_init"],
      );
      assert.ok(rows.slice(0, 5).every((r) => r["write_key_label"] === "ci"));
      assert.ok(rows.slice(5).every((r) => r["write_key_label"] === hashLabel(BARE_KEY)));
      const times = rows.map((r) => r["received_at"] as number);
      assert.deepEqual(
        times,
        [...times].sort((a, b) => b - a),
        "newest received first",
      );
      for (const r of rows) {
        const stored = JSON.parse(r["message"] as string) as Record<string, unknown>;
        assert.equal(stored["messageId"], r["message_id"]);
        assert.equal(stored["writeKeyLabel"], r["write_key_label"]);
        assert.equal(stored["receivedAt"], new Date(r["received_at"] as number).toISOString());
        assert.equal(r["cursor"], `${(r["received_at"] as number) * 1000}.${r["message_id"] as string}`);
      }
      assert.ok(!JSON.stringify(rows).includes(CI_KEY) && !JSON.stringify(rows).includes(BARE_KEY), "never a write key");
      const python = (await apiAnswer(stores[kind].url, "events", { version: PYTHON_DLT.library, ci: "true", event: "command_init" }, TOKEN)).rows;
      assert.deepEqual(
        python.map((r) => r["event"]),
        ["command_init", "command_init"],
      );
      // The range is on the time received: every event was received just now, whatever its timestamp.
      assert.equal((await apiAnswer(stores[kind].url, "events", { from: String(seededAt - 60_000) }, TOKEN)).rows.length, 26);
      assert.equal((await apiAnswer(stores[kind].url, "events", { from: String(Date.now() + 3600_000) }, TOKEN)).rows.length, 0);
    });

    test("text sorts in byte order whatever the database's collation: ties of the live view, categories of equal counts", async () => {
      const c = await startCollector({ port: 0, plan: "none", db: await freshDb(kind) });
      try {
        // One batch: one time received, so the ids alone order the live view. A language's collation would put
        // `a-1` before `B-1` and ignore case first; bytes put every capital first.
        const ids = ["B-1", "a-1", "A-2", "b-2", "_x", "Z", "a0", "A0"];
        const init = (messageId: string, source: string): Record<string, unknown> =>
          dltEvent({
            messageId,
            event: "command_init",
            properties: { event_category: "command", event_name: "init", success: true, source_name: source, destination_type: "duckdb" },
          });
        assert.equal((await post(c.url, "/v1/batch", { batch: ids.map((id, i) => init(id, ["Zendesk", "airtable"][i % 2]!)) })).status, 200);
        const paged = await allPages(c.url, { limit: "3" });
        const bytes = [...ids].sort((a, b) => Buffer.compare(Buffer.from(b), Buffer.from(a)));
        assert.deepEqual(
          paged.rows.map((r) => r["message_id"]),
          bytes,
        );
        assert.deepEqual((await apiAnswer(c.url, "sources")).rows, [
          { source: "Zendesk", n: 4 },
          { source: "airtable", n: 4 },
        ]);
      } finally {
        await c.close();
      }
    });

    test("live events, cursor paging: every event once and in order, ties on the time received included, new arrivals shifting nothing", async () => {
      const c = await startCollector({ port: 0, db: await freshDb(kind) });
      try {
        // 12 batches of 100: the events of a batch share their time received, so the message id breaks the ties.
        for (let b = 0; b < 12; b++)
          assert.equal((await post(c.url, "/v1/batch", { batch: Array.from({ length: 100 }, () => dltEvent()) })).status, 200);
        const first = await apiAnswer(c.url, "events", { limit: "37" });
        assert.equal(first.rows.length, 37);
        // Events arriving while someone pages back do not move the pages already cursored (OFFSET would repeat rows).
        assert.equal((await post(c.url, "/v1/batch", { batch: Array.from({ length: 50 }, () => dltEvent()) })).status, 200);
        const rest = await allPages(c.url, { limit: "37", before: first.next! });
        const rows = [...first.rows.map(numeric), ...rest.rows];
        assert.equal(rows.length, 1200);
        assert.equal(new Set(rows.map((r) => r["message_id"])).size, 1200, "no event twice");
        for (let i = 1; i < rows.length; i++) {
          const [a, b] = [rows[i - 1]!, rows[i]!];
          // Ties in byte order of the id, as DuckDB compares text (not the database's locale).
          const order =
            (a["received_at"] as number) - (b["received_at"] as number) ||
            Buffer.compare(Buffer.from(String(a["message_id"])), Buffer.from(String(b["message_id"])));
          assert.ok(order > 0, `row ${i} is not older than row ${i - 1}`);
        }
        assert.equal(rows.filter((r) => r["write_key_label"] !== null).length, 0, "an open collector stores no label");
        const tail = await apiAnswer(c.url, "events", { limit: "500", before: String(rows[1150]!["cursor"]) });
        assert.equal(tail.rows.length, 49);
        assert.equal(tail.next, null, "the last page says there is no next one");
      } finally {
        await c.close();
      }
    });
  });
}

/** Every page of the live view, following `next`. */
async function allPages(base: string, params: Record<string, string>, token?: string): Promise<{ rows: Row[]; pages: number }> {
  const rows: Row[] = [];
  let before: string | null | undefined;
  let pages = 0;
  do {
    const a = await apiAnswer(base, "events", { ...params, ...(before ? { before } : {}) }, token);
    rows.push(...a.rows.map(numeric));
    before = a.next;
    assert.ok(++pages < 1000, "paging ends");
  } while (before);
  return { rows, pages };
}

/**
 * An answer as both stores must give it: without its timing, and for the live view without when each store received
 * the events (they were sent to one, then to the other): `received_at`, the `cursor` made of it, the message's
 * `receivedAt`. The message is compared as JSON (PostgreSQL's jsonb orders its keys its own way).
 */
function comparable(api: string, text: string): unknown {
  const { ms: _ms, ...body } = JSON.parse(text) as { ms: number; rows: Row[]; next?: string | null };
  if (api !== "events") return body;
  return {
    next: body.next ? "a cursor" : body.next,
    rows: body.rows.map(({ received_at: _r, cursor: _c, message, ...row }) => {
      const { receivedAt: _at, ...stored } = JSON.parse(message as string) as Record<string, unknown>;
      return { ...row, message: stored };
    }),
  };
}

test("every API gives the same JSON on DuckDB, PostgreSQL and ClickHouse (chdb:), for every filter", async () => {
  const now = Date.now();
  const filters: Record<string, string>[] = [
    {},
    { from: "0", to: String(now + 60_000) },
    { ...last24h(), bucket: "hour" },
    { from: String(now - 11 * DAY), to: String(now - 9 * DAY) },
    { event: "command_init" },
    { event: "pipeline_load", bucket: "hour", from: "0", to: String(now + 60_000) },
    { event: "no_such_event" },
    { version: PYTHON_DLT.library },
    { os: "Linux", ci: "false" },
    { ci: "true", version: "dlt-ts 0.1.0" },
    { from: "-8640000000000000", to: "8640000000000000" },
    { limit: "3" },
  ];
  let compared = 0;
  for (const api of DASHBOARD_APIS) {
    for (const f of filters) {
      const qs = new URLSearchParams({ to: String(now + 60_000), ...f });
      const [duck, ...others] = await Promise.all(KINDS.map((k) => get(`${stores[k].url}/api/${api}?${qs}`, { authorization: `Bearer ${TOKEN}` })));
      assert.equal(duck!.status, 200, `${api}?${qs}: ${duck!.text}`);
      others.forEach((other, i) => {
        assert.equal(other.status, 200, `${KINDS[i + 1]} ${api}?${qs}: ${other.text}`);
        assert.deepEqual(comparable(api, other.text), comparable(api, duck!.text), `${KINDS[i + 1]} ${api}?${qs}`);
      });
      compared++;
    }
  }
  assert.equal(compared, DASHBOARD_APIS.length * filters.length);
});

test("every API answers from the aggregates as from the raw events, on each store that keeps them, for every filter and edge", async () => {
  const filters = aggregateFilters(Date.now());
  let compared = 0;
  // ClickHouse's comparison is dashboard-aggregates-chdb.test.ts's (this file's time would pass the runner's limit).
  const aggregating = KINDS.filter((k) => k !== "chdb");
  for (const kind of aggregating) {
    // The aggregates hold every stored event, once (those still queued for the roll-up included).
    const pending = kind === "duckdb" ? "events WHERE rollup_seq > (SELECT seq FROM _dlt_rollup_mark)" : "rollup_pending";
    const [rolled] = await stores[kind].store.query(`SELECT (SELECT coalesce(sum(n), 0) FROM rollup) + (SELECT count(*) FROM ${pending}) AS n`);
    const [stored] = await stores[kind].store.query("SELECT count(*) AS n FROM events");
    assert.equal(Number(rolled!["n"]), Number(stored!["n"]));
    assert.equal(Number(stored!["n"]), 26);
    for (const api of DASHBOARD_APIS) {
      if (api === "events") continue;
      for (const f of filters) {
        await assertSameBothWays(stores[kind].store, api, f, `${kind} ${api} ${JSON.stringify(f)}`);
        compared++;
      }
    }
  }
  assert.equal(compared, aggregating.length * (DASHBOARD_APIS.length - 1) * filters.length);
});

test("the live view's pages are the same on every store, page by page, filtered or not", async () => {
  const cases: Record<string, string>[] = [
    { limit: "4" },
    { limit: "1" },
    { limit: "2", event: "command_init" },
    { limit: "5", ci: "false", version: "dlt-ts 0.1.0" },
  ];
  for (const params of cases) {
    const [duck, ...others] = await Promise.all(KINDS.map((k) => allPages(stores[k].url, params, TOKEN)));
    const strip = (rows: Row[]): unknown => comparable("events", JSON.stringify({ ms: 0, rows: rows.map((r) => ({ ...r, message: r["message"] })) }));
    others.forEach((other, i) => {
      assert.equal(other.pages, duck!.pages, `${KINDS[i + 1]} ${JSON.stringify(params)}`);
      assert.deepEqual(strip(other.rows), strip(duck!.rows), `${KINDS[i + 1]} ${JSON.stringify(params)}`);
    });
    assert.ok(duck!.rows.length > 0);
  }
});

test("installs is a time series: a week by the hour of many versions is answered whole, past the 500 rows of a list", async () => {
  const c = await startCollector({ port: 0, dbPath: tempDb(), plan: "none" });
  try {
    // 600 versions installed in one hour: 600 rows, which the lists' cap of 500 would cut (the latest buckets last).
    const batch = Array.from({ length: 600 }, (_, i) =>
      dltEvent({
        event: "command_telemetry",
        properties: { event_category: "command", event_name: "telemetry", success: true, first_run_of_version: true },
        context: { library: { name: "dlt-ts", version: `0.${i}.0` } },
      }),
    );
    assert.equal((await post(c.url, "/v1/batch", { batch })).status, 200);
    const a = await apiAnswer(c.url, "installs", { ...last24h(), bucket: "hour" });
    assert.equal(a.rows.length, 600);
    assert.equal((JSON.parse(a.text) as { truncated?: number }).truncated, undefined);
  } finally {
    await c.close();
  }
});

test("an unknown API is a 404", async () => {
  const auth = { authorization: `Bearer ${TOKEN}` };
  assert.equal((await get(`${stores.duckdb.url}/api/nope`, auth)).status, 404);
});

test("bad filters get a 400 naming the parameter", async () => {
  const url = stores.duckdb.url;
  const auth = { authorization: `Bearer ${TOKEN}` };
  const bad = await get(`${url}/api/commands?from=yesterday`, auth);
  assert.equal(bad.status, 400);
  assert.match(JSON.parse(bad.text).error, /not a time: yesterday/);
  assert.equal((await get(`${url}/api/commands?bucket=minute`, auth)).status, 400);
  for (const huge of ["1e30", "-1e30", "9e15", "Infinity"]) {
    const r = await get(`${url}/api/summary?from=${huge}`, auth);
    assert.equal(r.status, 400, huge);
    assert.match(JSON.parse(r.text).error, /^from: (out of range|not a time)/);
  }
  assert.equal((await get(`${url}/api/summary?to=1e30`, auth)).status, 400);
  for (const [qs, reason] of [
    ["ci=maybe", /^ci: must be true or false/],
    [`version=${"v".repeat(501)}`, /^version: longer than 500/],
    [`os=${"o".repeat(501)}`, /^os: longer than 500/],
  ] as const) {
    const r = await get(`${url}/api/summary?${qs}`, auth);
    assert.equal(r.status, 400, qs);
    assert.match((JSON.parse(r.text) as { error: string }).error, reason);
  }
});

test("only the dashboard's own names are routes: Object's properties are 404s, never the store", async () => {
  for (const name of ["constructor", "toString", "__proto__", "valueOf", "hasOwnProperty", "__defineGetter__"]) {
    const r = await get(`${stores.duckdb.url}/api/${name}`, { authorization: `Bearer ${TOKEN}` });
    assert.equal(r.status, 404, name);
    assert.doesNotMatch(r.text, /tmp|duckdb|function/i);
    assert.equal((await get(`${stores.duckdb.url}/assets/${name}`)).status, 404, `assets/${name}`);
  }
});

test("every dashboard answer says nosniff, no framing and no referrer, and the APIs and the pages are never cached", async () => {
  const k = await startCollector({ port: 0, dbPath: tempDb(), writeKeys: ["wk"], readToken: "rt-secret" });
  try {
    const bearer = { authorization: "Bearer rt-secret" };
    const answers = {
      page: await get(`${k.url}/?token=rt-secret`),
      "read-token page": await get(`${k.url}/`),
      api: await get(`${k.url}/api/summary`, bearer),
      "refused api": await get(`${k.url}/api/summary`),
      "unknown api": await get(`${k.url}/api/nope`, bearer),
      module: await get(`${k.url}/assets/main.js`),
      "unknown asset": await get(`${k.url}/assets/nope.js`),
    };
    for (const [what, r] of Object.entries(answers)) {
      assert.equal(r.headers["x-content-type-options"], "nosniff", what);
      assert.equal(r.headers["x-frame-options"], "DENY", what);
      assert.equal(r.headers["referrer-policy"], "no-referrer", what);
      if (what !== "module") assert.equal(r.headers["cache-control"], "no-store", what);
    }
    for (const what of ["page", "read-token page"] as const) {
      const csp = String(answers[what].headers["content-security-policy"] ?? "");
      assert.match(csp, /(^|; )script-src 'self'(;|$)/, what);
      assert.match(csp, /(^|; )frame-ancestors 'none'(;|$)/, what);
      assert.doesNotMatch(csp, /unsafe-|\*/, what);
    }
    // The page loads its script as a module, which the browser runs only when served as JavaScript.
    assert.match(answers.page.text, /<script type="module" src="assets\/main\.js"><\/script>/);
    assert.equal(answers.module.headers["content-type"], "text/javascript; charset=utf-8");
  } finally {
    await k.close();
  }
});

test("the page gets the API names from the collector's own list", async () => {
  const r = await get(`${stores.duckdb.url}/assets/apis.js`);
  assert.equal(r.status, 200);
  assert.equal(r.headers["content-type"], "text/javascript; charset=utf-8");
  assert.equal(r.text, `export const DASHBOARD_APIS = ${JSON.stringify(DASHBOARD_APIS)};\n`);
});

test("with write keys configured the dashboard needs the read token, never a write key", async () => {
  const k = await startCollector({ port: 0, dbPath: tempDb(), writeKeys: ["wk"], readToken: "rt-secret" });
  try {
    assert.equal((await get(`${k.url}/api/summary`)).status, 401);
    assert.equal((await get(`${k.url}/`)).status, 401);
    assert.equal((await get(`${k.url}/api/summary`, { authorization: "Bearer wk" })).status, 401, "a write key does not open reads");
    assert.equal((await get(`${k.url}/api/summary`, { authorization: "Bearer rt-secret" })).status, 200);
    // ?token= is for the page's address only (it sets the cookie): an API does not read it, so it stays out of logs.
    const query = await get(`${k.url}/api/summary?token=rt-secret`);
    assert.equal(query.status, 401);
    assert.match(JSON.parse(query.text).error, /\?token= opens the page only; an API takes the page's cookie or Authorization: Bearer/);
    assert.equal(k.dashboardUrl, `${k.url}/?token=rt-secret`);
    const page = await get(`${k.url}/?token=rt-secret`);
    assert.equal(page.status, 200);
    assert.match(page.text, /<script src="assets\/uplot\.js"><\/script>/);
    assert.equal((await get(`${k.url}/assets/uplot.js`)).status, 200, "assets are served locally");
    // A cookie that is not URI-encoded is a bad request with the reason, not a crash.
    const bad = await get(`${k.url}/api/summary`, { cookie: "dlt_dashboard=%E0%A4%A" });
    assert.equal(bad.status, 400);
    assert.match(JSON.parse(bad.text).error, /cookie dlt_dashboard: not a URI-encoded token/);
    assert.equal((await get(`${k.url}/api/summary`, { cookie: "other=1; dlt_dashboard=rt-secret" })).status, 200);
  } finally {
    await k.close();
  }
});
