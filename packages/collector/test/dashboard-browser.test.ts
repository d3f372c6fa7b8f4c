// The dashboard in a real browser (a system Chromium, else the packaged one: see browser.ts; driven by playwright-core): every plot shows the seeded
// numbers, a new time range changes them, it fits a phone; screenshots go to test-artifacts/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { startCollector, type Collector } from "../src/index.js";
import { launchBrowser } from "./browser.js";
import { tempDb } from "./helpers.js";
import { seed } from "./seed.js";

const ARTIFACTS = fileURLToPath(new URL("../../../../test-artifacts/", import.meta.url));
let c: Collector;
let browser: Browser;

before(async () => {
  c = await startCollector({ port: 0, dbPath: tempDb(), writeKeys: ["wk"], readToken: "dash-token", retainDays: 90 });
  await seed(c.url, "wk");
  browser = await launchBrowser();
  mkdirSync(ARTIFACTS, { recursive: true });
});
after(async () => {
  await browser?.close();
  await c?.close();
});

const bars = (page: Page, plot: string): Promise<[string, string][]> =>
  page.$$eval(`[data-plot="${plot}"] [data-key]`, (els) => els.map((e) => [(e as HTMLElement).dataset["key"]!, (e as HTMLElement).dataset["value"] ?? (e as HTMLElement).dataset["p50"]!]));

test("the page says how long events are kept (--retain-days)", async () => {
  const page = await browser.newPage();
  await page.goto(c.dashboardUrl!);
  await page.waitForFunction(() => Number(document.body.dataset["loaded"] ?? 0) >= 1);
  assert.equal(await page.textContent("#retention"), "Events are kept 90 days: older days are removed daily.");
  await page.close();
});

test("every plot shows the seeded numbers; the range picker changes them", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1800 } });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(c.dashboardUrl!);
  await page.waitForFunction(() => Number(document.body.dataset["loaded"] ?? 0) >= 1);
  assert.deepEqual(await bars(page, "summary"), [["events", "21"], ["pipeline_runs", "3"], ["commands", "12"], ["success_rate", "0.9048"]]);
  assert.deepEqual(await bars(page, "commands"), [["init", "7"], ["telemetry", "5"]]);
  assert.deepEqual(await bars(page, "destinations"), [["duckdb", "2"], ["postgres", "1"]]);
  assert.deepEqual(await bars(page, "inits"), [["duckdb", "7"]]);
  assert.deepEqual(await bars(page, "sources"), [["x", "4"], ["chess", "3"]]);
  // The read token leaves the address bar (and the history) once the page's cookie has opened the API.
  await page.waitForFunction(() => !location.search.includes("token="));
  assert.equal(new URL(page.url()).search, "");
  assert.deepEqual(await bars(page, "versions"), [["dlt-ts 0.1.0", "17"], ["dlt-ts 0.0.9", "4"]]);
  assert.deepEqual(await bars(page, "platforms"), [["Linux / node 20", "21"]]);
  assert.deepEqual(await bars(page, "ci"), [["not ci", "20"], ["ci", "1"]]);
  assert.deepEqual(await bars(page, "exec_info"), [["docker", "18"], ["kubernetes", "2"]]);
  assert.deepEqual(await bars(page, "events_over_time"), [
    ["command_init", "7"], ["command_telemetry", "5"], ["pipeline_extract", "3"], ["pipeline_load", "3"], ["pipeline_normalize", "3"],
  ]);
  const rates = Object.fromEntries(await bars(page, "success_rate"));
  assert.equal(rates["pipeline_load"], "66.7");
  assert.equal(rates["command_init"], "85.7");
  assert.deepEqual(Object.fromEntries(await bars(page, "elapsed")), { command_init: "1", command_telemetry: "0.1", pipeline_extract: "1", pipeline_load: "3", pipeline_normalize: "2" });
  assert.equal(await page.locator('[data-plot="events_over_time"] canvas').count() > 0, true, "the time series is drawn");
  // The x axis spans the chosen range (last 30 days), not whatever uPlot pads a few buckets out to.
  const span = async (plot: string): Promise<number> =>
    page.$eval(`[data-plot="${plot}"]`, (e) => Number((e as HTMLElement).dataset["xMax"]) - Number((e as HTMLElement).dataset["xMin"]));
  for (const plot of ["events_over_time", "success_rate"]) {
    const days = (await span(plot)) / 86_400_000;
    assert.ok(days >= 29 && days <= 31.5, `${plot} spans ${days.toFixed(2)} days, not the 30 chosen`);
  }
  await page.screenshot({ path: `${ARTIFACTS}dashboard.png`, fullPage: true });

  // Last 24 hours: the old events drop out.
  await page.selectOption("#range", "1");
  await page.waitForFunction(() => (document.querySelector('[data-plot="commands"] [data-key="init"]') as HTMLElement | null)?.dataset["value"] === "3");
  assert.deepEqual(await bars(page, "commands"), [["telemetry", "5"], ["init", "3"]]);
  assert.deepEqual(await bars(page, "destinations"), [["duckdb", "2"]]);
  assert.equal(Object.fromEntries(await bars(page, "success_rate"))["pipeline_load"], "50.0");
  const hours = (await span("events_over_time")) / 3_600_000;
  assert.ok(hours >= 23 && hours <= 49, `the last day spans ${hours.toFixed(1)} hours`);
  // The event filter.
  await page.selectOption("#event", "command_init");
  await page.waitForFunction(() => document.querySelectorAll('[data-plot="commands"] [data-key]').length === 1);
  assert.deepEqual(await bars(page, "commands"), [["init", "3"]]);
  assert.deepEqual(errors, []);
  await page.close();
});

test("readable on a phone: nothing wider than the screen", async () => {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
  await page.goto(c.dashboardUrl!);
  await page.waitForFunction(() => Number(document.body.dataset["loaded"] ?? 0) >= 1);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone`);
  await page.screenshot({ path: `${ARTIFACTS}dashboard-phone.png`, fullPage: true });
  await page.close();
});

test("under a base path the page, its assets and its API are served there, the cookie scoped to it", async () => {
  const b = await startCollector({ port: 0, dbPath: tempDb(), basePath: "/telemetry", writeKeys: ["wk"], readToken: "dash-token" });
  try {
    await seed(b.url, "wk");
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    assert.match(b.dashboardUrl!, /\/telemetry\/\?token=dash-token$/);
    await page.goto(b.dashboardUrl!);
    await page.waitForFunction(() => Number(document.body.dataset["loaded"] ?? 0) >= 1);
    assert.deepEqual(await bars(page, "commands"), [["init", "7"], ["telemetry", "5"]]);
    assert.equal(new URL(page.url()).pathname + new URL(page.url()).search, "/telemetry/");
    // Reloaded without the token in the address: the cookie (Path=/telemetry/) still opens it.
    await page.reload();
    await page.waitForFunction(() => Number(document.body.dataset["loaded"] ?? 0) >= 1);
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    await b.close();
  }
});

test("without the read token the page asks for it", async () => {
  const page = await browser.newPage();
  const r = await page.goto(c.url + "/");
  assert.equal(r?.status(), 401);
  assert.match(await page.textContent("body") ?? "", /needs its read token/);
  await page.close();
});
