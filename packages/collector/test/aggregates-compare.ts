// What the tests comparing the dashboard's aggregates with the raw events share (dashboard-api.test.ts for DuckDB
// and PostgreSQL, dashboard-aggregates-chdb.test.ts for ClickHouse): the filters and ranges, and the comparison.
import assert from "node:assert/strict";
import type { DashboardApi, Filter } from "../src/dashboard/apis.js";
import type { EventStore } from "../src/store/types.js";
import type { Row } from "./dashboard-client.js";
import { PYTHON_DLT } from "./seed.js";

const DAY = 86_400_000;
const H = 3_600_000;

/** The filters a user picks, and ranges whose edges fall off the hour on both sides, inside one, on one, across one. */
export function aggregateFilters(now: number): Filter[] {
  const hour = Math.floor(now / H) * H;
  const base = { bucket: "day" as const, from: now - 30 * DAY, to: now + 60_000 };
  return [
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
}

/**
 * An `elapsed` row as the aggregates give it: the count exact, the percentiles within the histogram's stated error
 * (5 %, rounded to 3 decimals as the raw query rounds them).
 */
export function withinError(actual: Row | undefined, expected: Row, what = ""): void {
  assert.ok(actual, `no row for ${JSON.stringify(expected)} ${what}`);
  for (const [k, v] of Object.entries(expected)) {
    if (k !== "p50" && k !== "p95") assert.equal(actual[k], v, `${k} ${what}`);
    else if (v === null) assert.equal(actual[k], null, `${k} ${what}`);
    else
      assert.ok(Math.abs((actual[k] as number) - (v as number)) <= 0.05 * Math.abs(v as number) + 0.0005, `${k}: ${actual[k]} vs exact ${v} ${what}`);
  }
}

/** One API's answer from the aggregates equals the raw events' (`elapsed`: counts equal, percentiles within error). */
export async function assertSameBothWays(store: EventStore, api: Exclude<DashboardApi, "events">, f: Filter, what: string): Promise<void> {
  const [rolled, raw]: Row[][] = await Promise.all([store.dashboard(api, f), store.dashboard(api, f, "events")]);
  if (api === "elapsed") {
    assert.deepEqual(
      rolled!.map((r: Row) => [r["event"], r["n"]]),
      raw!.map((r: Row) => [r["event"], r["n"]]),
      what,
    );
    for (const [i, r] of raw!.entries()) withinError(rolled![i], r, what);
  } else assert.deepEqual(rolled, raw, what);
}
