// The JSON API behind every plot, against the same seeded events on each store (DuckDB and PostgreSQL): the same
// expected answers from both, and the very same JSON from both for every API and filter; the read token; no raw
// anonymous ids in any answer. A new API is added to DASHBOARD_APIS and to each store's SQL; this file covers it.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { DASHBOARD_APIS } from "../src/dashboard/queries.js";
import { startCollector, type Collector } from "../src/index.js";
import { tempDb } from "./helpers.js";
import { testPostgres, type TestPostgres } from "./postgres-server.js";
import { seed } from "./seed.js";

/** Each store under test: a collector on it, with the seeded events (the same ones: one seed, sent to both). */
const stores: Record<"duckdb" | "postgres", { c: Collector; anon: string[] }> = {} as never;
let server: TestPostgres;
let c: Collector;
let anon: string[];
before(async () => {
  server = await testPostgres();
  const duck = await startCollector({ port: 0, db: tempDb(), retainDays: 400 });
  const pg = await startCollector({ port: 0, db: await server.database(), retainDays: 400 });
  const events = await seed(duck.url);
  await seed(pg.url, undefined, events.sent);
  stores.duckdb = { c: duck, anon: events.anon };
  stores.postgres = { c: pg, anon: events.anon };
});
after(async () => {
  for (const s of Object.values(stores)) await s.c.close();
  await server.close();
});

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    request(url, { headers, agent: false }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    })
      .on("error", reject)
      .end();
  });
}
const DAY = 86_400_000;
async function api(name: string, params: Record<string, string> = {}): Promise<Record<string, unknown>[]> {
  const r = await get(`${c.url}/api/${name}?${new URLSearchParams(params)}`);
  assert.equal(r.status, 200, r.text);
  for (const a of anon) assert.ok(!r.text.includes(a), `${name} exposes an anonymousId`);
  return (JSON.parse(r.text) as { rows: Record<string, unknown>[] }).rows.map((row) =>
    Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === "string" && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v])),
  );
}
const last24h = (): Record<string, string> => ({ from: String(Date.now() - DAY), to: String(Date.now() + 60_000) });

for (const kind of ["duckdb", "postgres"] as const) {
describe(`on ${kind}`, () => {
before(() => {
  ({ c, anon } = stores[kind]);
});


test("summary, commands and destinations: 30 days by default, and the time range changes them", async () => {
  assert.deepEqual(await api("summary"), [{ events: 21, pipeline_runs: 3, commands: 12, success_rate: Number((19 / 21).toFixed(4)) }]);
  assert.deepEqual(await api("commands"), [{ command: "init", n: 7 }, { command: "telemetry", n: 5 }]);
  assert.deepEqual(await api("destinations"), [{ destination: "duckdb", runs: 2, inits: 7 }, { destination: "postgres", runs: 1, inits: 0 }]);
  assert.deepEqual(await api("commands", last24h()), [{ command: "telemetry", n: 5 }, { command: "init", n: 3 }]);
  assert.deepEqual(await api("destinations", last24h()), [{ destination: "duckdb", runs: 2, inits: 3 }]);
  assert.deepEqual(await api("commands", { event: "command_init" }), [{ command: "init", n: 7 }]);
});

test("events over time (per day, per hour), success rate per bucket, elapsed p50/p95", async () => {
  const days = await api("events_over_time");
  assert.equal(days.reduce((a, r) => a + (r["n"] as number), 0), 21);
  assert.equal(new Set(days.map((r) => r["t"])).size, 2, "two days with events");
  const hours = await api("events_over_time", { ...last24h(), bucket: "hour" });
  assert.equal(hours.reduce((a, r) => a + (r["n"] as number), 0), 14);
  const load = (await api("success_rate", last24h())).filter((r) => r["event"] === "pipeline_load");
  assert.deepEqual(load.map((r) => [r["n"], r["rate"]]), [[2, 0.5]]);
  const init = (await api("success_rate", last24h())).filter((r) => r["event"] === "command_init");
  assert.deepEqual(init.map((r) => [r["n"], r["rate"]]), [[3, 0.6667]]);
  const el = await api("elapsed", last24h());
  assert.deepEqual(el.find((r) => r["event"] === "command_init"), { event: "command_init", n: 3, p50: 3, p95: 3.9 });
  assert.deepEqual(el.find((r) => r["event"] === "pipeline_load"), { event: "pipeline_load", n: 2, p50: 3, p95: 3 });
});

test("versions, platforms, CI share, exec_info environments", async () => {
  assert.deepEqual(await api("versions"), [{ version: "dlt-ts 0.1.0", n: 17 }, { version: "dlt-ts 0.0.9", n: 4 }]);
  assert.deepEqual(await api("platforms"), [{ os: "Linux", runtime: "node 20", n: 21 }]);
  assert.deepEqual(await api("ci", last24h()), [{ ci: "not ci", n: 13 }, { ci: "ci", n: 1 }]);
  assert.deepEqual(await api("exec_info", last24h()), [{ env: "docker", n: 11 }, { env: "kubernetes", n: 2 }]);
});

test("the summary says how long events are kept", async () => {
  const r = await get(`${c.url}/api/summary`);
  assert.equal(JSON.parse(r.text).retain_days, 400);
});
});
}

test("every API gives the same JSON on DuckDB and PostgreSQL, for every filter", async () => {
  const now = Date.now();
  const filters: Record<string, string>[] = [
    {},
    { from: "0", to: String(now + 60_000) },
    { ...last24h(), bucket: "hour" },
    { from: String(now - 11 * DAY), to: String(now - 9 * DAY) },
    { event: "command_init" },
    { event: "pipeline_load", bucket: "hour", from: "0", to: String(now + 60_000) },
    { event: "no_such_event" },
  ];
  // The APIs of issue 14 (from `events` on) get their PostgreSQL SQL in the commit after the merge.
  for (const api of DASHBOARD_APIS.slice(0, DASHBOARD_APIS.indexOf("events"))) {
    for (const f of filters) {
      const qs = new URLSearchParams({ to: String(now + 60_000), ...f });
      const [duck, pg] = await Promise.all([stores.duckdb, stores.postgres].map((s) => get(`${s.c.url}/api/${api}?${qs}`)));
      assert.equal(duck!.status, 200, duck!.text);
      const rows = (r: { text: string }): unknown => {
        const { ms: _ms, ...rest } = JSON.parse(r.text) as Record<string, unknown>;
        return rest;
      };
      assert.deepEqual(rows(pg!), rows(duck!), `${api}?${qs}`);
    }
  }
});

test("bad filters get a 400 with the reason; unknown APIs a 404", async () => {
  const bad = await get(`${stores.duckdb.c.url}/api/commands?from=yesterday`);
  assert.equal(bad.status, 400);
  assert.match(JSON.parse(bad.text).error, /not a time: yesterday/);
  assert.equal((await get(`${stores.duckdb.c.url}/api/commands?bucket=minute`)).status, 400);
  assert.equal((await get(`${stores.duckdb.c.url}/api/nope`)).status, 404);
  for (const huge of ["1e30", "-1e30", "9e15", "Infinity"]) {
    const r = await get(`${stores.duckdb.c.url}/api/summary?from=${huge}`);
    assert.equal(r.status, 400, huge);
    assert.match(JSON.parse(r.text).error, /^from: (out of range|not a time)/);
  }
  assert.equal((await get(`${stores.duckdb.c.url}/api/summary?to=1e30`)).status, 400);
});

test("only the dashboard's own names are routes: Object's properties are 404s, never the store", async () => {
  for (const name of ["constructor", "toString", "__proto__", "valueOf", "hasOwnProperty", "__defineGetter__"]) {
    const r = await get(`${stores.duckdb.c.url}/api/${name}`);
    assert.equal(r.status, 404, name);
    assert.doesNotMatch(r.text, /tmp|duckdb|function/i);
    assert.equal((await get(`${stores.duckdb.c.url}/assets/${name}`)).status, 404, `assets/${name}`);
  }
});

test("with write keys configured the dashboard needs the read token, never a write key", async () => {
  const k = await startCollector({ port: 0, dbPath: tempDb(), writeKeys: ["wk"], readToken: "rt-secret" });
  try {
    assert.equal((await get(`${k.url}/api/summary`)).status, 401);
    assert.equal((await get(`${k.url}/`)).status, 401);
    assert.equal((await get(`${k.url}/api/summary`, { authorization: "Bearer wk" })).status, 401, "a write key does not open reads");
    assert.equal((await get(`${k.url}/api/summary`, { authorization: "Bearer rt-secret" })).status, 200);
    assert.equal((await get(`${k.url}/api/summary?token=rt-secret`)).status, 200);
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
