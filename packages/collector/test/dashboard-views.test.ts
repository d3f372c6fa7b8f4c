// The dashboard's views that answer an owner's questions, through their JSON APIs, on known events (seed.ts: dlt-ts's
// events and Python dlt 1.x's, as each client sends them): failures drilled down, the failure rate's trend, adoption,
// sources and destinations in both of dlt's vocabularies, the filters (version, OS, CI) on every API, the choices of
// those filters, and where the data lies in time.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startCollector, type Collector } from "../src/index.js";
import { QUERIES } from "../src/dashboard/queries.js";
import { apiRows, get, type Row } from "./dashboard-client.js";
import { tempDb } from "./helpers.js";
import { PYTHON_DLT, seed, seedMore } from "./seed.js";

const DAY = 86_400_000;
let c: Collector;
let seededAt: number;
before(async () => {
  c = await startCollector({ port: 0, dbPath: tempDb() });
  seededAt = Date.now();
  await seed(c.url);
  await seedMore(c.url);
});
after(() => c.close());

const api = (name: string, params: Record<string, string> = {}): Promise<Row[]> => apiRows(c.url, name, params);
const last24h = (): Record<string, string> => ({ from: String(Date.now() - DAY), to: String(Date.now() + 60_000) });
const sum = (rows: Row[], key: string): number => rows.reduce((a, r) => a + (r[key] as number), 0);

test("failures: which commands and steps fail, by library version, OS and runtime version in full", async () => {
  const rows = await api("failures");
  const by = (dimension: string): [unknown, unknown, unknown][] => rows.filter((r) => r["dimension"] === dimension).map((r) => [r["value"], r["n"], r["failed"]]);
  assert.deepEqual(by("event"), [["command_init", 9, 2], ["pipeline_load", 4, 2], ["command_telemetry", 5, 0], ["pipeline_extract", 4, 0], ["pipeline_normalize", 4, 0]]);
  assert.deepEqual(by("version"), [["dlt-ts 0.1.0", 17, 2], [PYTHON_DLT.library, 5, 2], ["dlt-ts 0.0.9", 4, 0]]);
  assert.deepEqual(by("os"), [["Linux 6.1.0", 21, 2], [PYTHON_DLT.os, 5, 2]]);
  assert.deepEqual(by("runtime"), [["node 20.20.2", 21, 2], [PYTHON_DLT.runtime, 5, 2]]);
});

test("failures drilled into one step: the event filter narrows every dimension to it", async () => {
  const rows = await api("failures", { event: "pipeline_load" });
  assert.deepEqual(rows.map((r) => [r["dimension"], r["value"], r["n"], r["failed"]]), [
    ["event", "pipeline_load", 4, 2],
    ["os", "Linux 6.1.0", 3, 1],
    ["os", PYTHON_DLT.os, 1, 1],
    ["runtime", "node 20.20.2", 3, 1],
    ["runtime", PYTHON_DLT.runtime, 1, 1],
    ["version", "dlt-ts 0.1.0", 3, 1],
    ["version", PYTHON_DLT.library, 1, 1],
  ]);
});

test("the failure rate's trend: per bucket, events that report success and how many failed", async () => {
  const days = await api("failure_rate");
  assert.equal(sum(days, "n"), 26);
  assert.equal(sum(days, "failed"), 4);
  assert.deepEqual(days.map((r) => r["t"]), [...days.map((r) => r["t"])].sort(), "in time order");
  const oldDay = days.find((r) => (r["t"] as number) < seededAt - 9 * DAY);
  assert.deepEqual(oldDay && [oldDay["n"], oldDay["failed"]], [7, 0]);
  const hours = await api("failure_rate", { ...last24h(), bucket: "hour" });
  assert.equal(sum(hours, "n"), 19);
  assert.equal(sum(hours, "failed"), 4);
  assert.ok(hours.every((r) => (r["t"] as number) % 3_600_000 === 0), "hour buckets");
});

test("adoption: each library version's events per bucket, runtimes and OS versions in full", async () => {
  const share = await api("version_share");
  const total = (v: string): number => sum(share.filter((r) => r["version"] === v), "n");
  assert.deepEqual([total("dlt-ts 0.1.0"), total(PYTHON_DLT.library), total("dlt-ts 0.0.9")], [17, 5, 4]);
  const oldDay = share.filter((r) => (r["t"] as number) < seededAt - 9 * DAY).map((r) => [r["version"], r["n"]]);
  assert.deepEqual(oldDay, [["dlt-ts 0.0.9", 4], ["dlt-ts 0.1.0", 3]]);
  assert.deepEqual(await api("runtimes"), [{ runtime: "node 20.20.2", n: 21 }, { runtime: PYTHON_DLT.runtime, n: 5 }]);
  assert.deepEqual(await api("os_versions"), [{ os: "Linux 6.1.0", n: 21 }, { os: PYTHON_DLT.os, n: 5 }]);
  assert.deepEqual(await api("ci"), [{ ci: "not ci", n: 20 }, { ci: "ci", n: 6 }]);
  assert.deepEqual(await api("exec_info"), [{ env: "docker", n: 18 }, { env: "github_actions", n: 5 }, { env: "kubernetes", n: 2 }]);
});

test("sources and destinations: dlt init by source and destination, pipeline steps by destination, both vocabularies", async () => {
  assert.deepEqual(await api("inits"), [
    { source: "x", destination: "duckdb", n: 4, failed: 0 },
    { source: "chess", destination: "duckdb", n: 3, failed: 1 },
    { source: "github", destination: "bigquery", n: 2, failed: 1 },
  ]);
  assert.deepEqual((await api("steps_by_destination")).map((r) => [r["destination"], r["step"], r["n"], r["failed"]]), [
    ["bigquery", "extract", 1, 0], ["bigquery", "load", 1, 1], ["bigquery", "normalize", 1, 0],
    ["duckdb", "extract", 2, 0], ["duckdb", "load", 2, 1], ["duckdb", "normalize", 2, 0],
    ["postgres", "extract", 1, 0], ["postgres", "load", 1, 0], ["postgres", "normalize", 1, 0],
  ]);
  assert.deepEqual(await api("destinations"), [
    { destination: "duckdb", runs: 2, inits: 7 }, { destination: "bigquery", runs: 1, inits: 2 }, { destination: "postgres", runs: 1, inits: 0 },
  ]);
});

test("the version, OS and CI filters apply to every API", async () => {
  const only = (params: Record<string, string>) => api("summary", params).then((r) => [r[0]!["events"], r[0]!["commands"], r[0]!["pipeline_runs"]]);
  assert.deepEqual(await only({ version: PYTHON_DLT.library }), [5, 2, 1]);
  assert.deepEqual(await only({ os: "Darwin" }), [5, 2, 1]);
  assert.deepEqual(await only({ ci: "true" }), [6, 3, 1]);
  assert.deepEqual(await only({ ci: "false" }), [20, 11, 3]);
  assert.deepEqual(await only({ version: "dlt-ts 0.1.0", ci: "true" }), [1, 1, 0]);
  assert.deepEqual(await only({ version: "dlt-ts 0.1.0", os: "Darwin" }), [0, 0, 0]);
  // Every API, not only the summary: with a filter nothing of the other clients shows.
  const params = { version: PYTHON_DLT.library };
  for (const name of QUERIES.keys()) {
    if (name === "filter_values") continue; // its own filters are ignored on purpose (below)
    const text = (await get(`${c.url}/api/${name}?${new URLSearchParams(params)}`)).text;
    assert.doesNotMatch(text, /dlt-ts|node 20|Linux|"duckdb"|chess/, `${name} with version=${params.version}: ${text.slice(0, 300)}`);
  }
  assert.deepEqual((await api("commands", { os: "Darwin" })), [{ command: "init", n: 2 }]);
  assert.deepEqual((await api("failures", { ci: "true", event: "command_init" })).filter((r) => r["dimension"] === "version"), [
    { dimension: "version", value: PYTHON_DLT.library, n: 2, failed: 1 }, { dimension: "version", value: "dlt-ts 0.1.0", n: 1, failed: 0 },
  ]);
});

test("the filters' choices: every version and OS in the range, whatever is chosen", async () => {
  const expected = [
    { kind: "version", value: "dlt-ts 0.1.0", n: 17 }, { kind: "version", value: PYTHON_DLT.library, n: 5 }, { kind: "version", value: "dlt-ts 0.0.9", n: 4 },
    { kind: "os", value: "Linux", n: 21 }, { kind: "os", value: "Darwin", n: 5 },
  ];
  assert.deepEqual(await api("filter_values"), expected);
  assert.deepEqual(await api("filter_values", { version: PYTHON_DLT.library, os: "Darwin", ci: "true", event: "command_init" }), expected);
  assert.deepEqual((await api("filter_values", last24h())).filter((r) => r["kind"] === "version"), [
    { kind: "version", value: "dlt-ts 0.1.0", n: 14 }, { kind: "version", value: PYTHON_DLT.library, n: 5 },
  ]);
});

test("extent: the first and last event whatever the range, so the page can fit its range to young data", async () => {
  const [e] = await api("extent", { from: String(Date.now() - 3600_000) });
  assert.equal(e!["n"], 26);
  assert.ok(Math.abs((e!["first"] as number) - (seededAt - 10 * DAY)) < 60_000, `first ${new Date(e!["first"] as number).toISOString()}`);
  assert.ok(Math.abs((e!["last"] as number) - (seededAt - 2 * 3600_000)) < 60_000, `last ${new Date(e!["last"] as number).toISOString()}`);
  assert.deepEqual((await api("extent", { os: "Darwin" })).map((r) => r["n"]), [5]);
  const empty = await startCollector({ port: 0, dbPath: tempDb() });
  try {
    assert.deepEqual(await apiRows(empty.url, "extent"), [{ first: null, last: null, n: 0 }]);
  } finally {
    await empty.close();
  }
});

test("bad filters get a 400 naming the parameter", async () => {
  for (const [qs, reason] of [
    ["ci=maybe", /^ci: must be true or false/],
    [`version=${"v".repeat(501)}`, /^version: longer than 500/],
    [`os=${"o".repeat(501)}`, /^os: longer than 500/],
  ] as const) {
    const r = await get(`${c.url}/api/summary?${qs}`);
    assert.equal(r.status, 400, qs);
    assert.match((JSON.parse(r.text) as { error: string }).error, reason);
  }
});
