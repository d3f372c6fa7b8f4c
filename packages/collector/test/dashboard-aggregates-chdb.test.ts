// The dashboard's aggregates on ClickHouse (chdb:): every API but the live view answers from them as from the raw
// events, for the filters and the ranges off the hour of dashboard-api.test.ts (which compares DuckDB's and
// PostgreSQL's the same way, and the JSON of all three stores), on the same seeded events (seed.ts). A file of its
// own: one file's time is bounded by the test runner.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { DASHBOARD_APIS } from "../src/dashboard/apis.js";
import { startCollector, type Collector } from "../src/index.js";
import { tempDir } from "./helpers.js";
import { aggregateFilters, assertSameBothWays } from "./aggregates-compare.js";
import { seed, seedMore } from "./seed.js";

const _DAY = 86_400_000;
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

test("chdb: every API answers from the aggregates as from the raw events, for every filter and edge", async () => {
  const filters = aggregateFilters(Date.now());
  // The aggregates (filled by the views inside each insert) hold every stored event, once.
  const [rolled] = await store.store.query("SELECT sum(n) AS n FROM rollup");
  const [stored] = await store.store.query("SELECT count(*) AS n FROM events");
  assert.equal(Number(rolled!["n"]), Number(stored!["n"]));
  assert.equal(Number(stored!["n"]), 26);
  let compared = 0;
  for (const api of DASHBOARD_APIS) {
    if (api === "events") continue;
    for (const f of filters) {
      await assertSameBothWays(store.store, api, f, `chdb ${api} ${JSON.stringify(f)}`);
      compared++;
    }
  }
  assert.equal(compared, (DASHBOARD_APIS.length - 1) * filters.length);
});
