// The dashboard's aggregates on ClickHouse (chdb:): every API but the live view answers from them as from the raw
// events, for the filters and the ranges off the hour of dashboard-api.test.ts (which compares DuckDB's and
// PostgreSQL's the same way, and the JSON of all three stores), on the same seeded events (seed.ts). A file of its
// own: one file's time is bounded by the test runner.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { DASHBOARD_APIS, type Filter } from "../src/dashboard/apis.js";
import { startCollector, type Collector } from "../src/index.js";
import type { Row } from "./dashboard-client.js";
import { tempDir } from "./helpers.js";
import { PYTHON_DLT, seed, seedMore } from "./seed.js";

const DAY = 86_400_000;
const CI_KEY = "wk-ci-0123456789abcdef";
const BARE_KEY = "wk-bare-fedcba9876543210";
let store: Collector;

before(async () => {
  const options = { port: 0, plan: "none" as const, writeKeys: [{ label: "ci", key: CI_KEY }, BARE_KEY], readToken: "rt", retainDays: 400 };
  store = await startCollector({ ...options, db: `chdb:${tempDir("chdb-")}` });
  await seed(store.url, BARE_KEY);
  await seedMore(store.url, CI_KEY, { withIds: true });
});
after(() => store.close());

/** The histogram's percentiles are within 5 % of the exact ones; everything else is equal. */
function withinError(actual: Row | undefined, expected: Row, what: string): void {
  assert.ok(actual, `no row for ${JSON.stringify(expected)} ${what}`);
  for (const [k, v] of Object.entries(expected)) {
    if (k !== "p50" && k !== "p95") assert.equal(actual[k], v, `${k} ${what}`);
    else if (v === null) assert.equal(actual[k], null, `${k} ${what}`);
    else
      assert.ok(Math.abs((actual[k] as number) - (v as number)) <= 0.05 * Math.abs(v as number) + 0.0005, `${k}: ${actual[k]} vs exact ${v} ${what}`);
  }
}

test("chdb: every API answers from the aggregates as from the raw events, for every filter and edge", async () => {
  const now = Date.now();
  const H = 3_600_000;
  const hour = Math.floor(now / H) * H;
  const base = { bucket: "day" as const, from: now - 30 * DAY, to: now + 60_000 };
  const filters: Filter[] = [
    base,
    { ...base, from: 0 },
    { ...base, from: now - DAY, bucket: "hour" },
    { ...base, from: now - 11 * DAY, to: now - 9 * DAY },
    // Edges off the hour on both sides, inside an hour, on the hour exactly, and across one hour boundary.
    { ...base, from: now - 5 * H - 17_000, to: now - 2 * H + 1 },
    { ...base, from: now - 2 * H - 1, to: now - 2 * H + 1 },
    { ...base, from: hour - 5 * H, to: hour - H },
    { ...base, from: hour - 6 * H + 1, to: hour - 4 * H - 1 },
    { ...base, event: "command_init" },
    { ...base, event: "pipeline_load", bucket: "hour", from: 0 },
    { ...base, event: "no_such_event" },
    { ...base, version: PYTHON_DLT.library },
    { ...base, os: "Linux", ci: false },
    { ...base, ci: true, version: "dlt-ts 0.1.0" },
    { ...base, from: -8.64e15, to: 8.64e15 },
  ];
  // The aggregates (filled by the views inside each insert) hold every stored event, once.
  const [rolled] = await store.store.query("SELECT sum(n) AS n FROM rollup");
  const [stored] = await store.store.query("SELECT count(*) AS n FROM events");
  assert.equal(Number(rolled!["n"]), Number(stored!["n"]));
  assert.equal(Number(stored!["n"]), 26);
  let compared = 0;
  for (const api of DASHBOARD_APIS) {
    if (api === "events") continue;
    for (const f of filters) {
      const what: string = `chdb ${api} ${JSON.stringify(f)}`;
      const [fromAggregates, raw]: Row[][] = await Promise.all([store.store.dashboard(api, f), store.store.dashboard(api, f, "events")]);
      if (api === "elapsed") {
        assert.deepEqual(
          fromAggregates!.map((r: Row) => [r["event"], r["n"]]),
          raw!.map((r: Row) => [r["event"], r["n"]]),
          what,
        );
        for (const [i, r] of raw!.entries()) withinError(fromAggregates![i], r, what);
      } else assert.deepEqual(fromAggregates, raw, what);
      compared++;
    }
  }
  assert.equal(compared, (DASHBOARD_APIS.length - 1) * filters.length);
});
