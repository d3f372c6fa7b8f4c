// The collector as an operator runs it in production: Prometheus metrics on a port of their own, JSON logs for a log
// shipper (no key, token or body in any line), and a TOML config file under the flags' names that flags win over.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { createLog, DuckDbStore, startCollector } from "../src/index.js";
import { COLLECTOR_BIN, dltEvent, exited, pollUntil, post, startChild, tempDb, tempDir } from "./helpers.js";

type Families = Map<string, ReturnType<typeof parsePrometheusTextFormat>[number]> & { readonly text: string };

/** The scraped families by name: the text as a Prometheus text-format parser reads it (it throws on a bad line). */
async function scrape(url: string): Promise<Families> {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  return Object.assign(new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f])), { text });
}

/** A labelled histogram's `_count` (the parser keeps only unlabelled histograms' counts). */
function histogramCount(families: Families, name: string, label: string, value: string): number {
  assert.equal(families.get(name)?.type, "HISTOGRAM", name);
  const m = new RegExp(`^${name}_count\\{${label}="${value}"\\} (\\d+)$`, "m").exec(families.text);
  return Number(m?.[1] ?? 0);
}

const value = (families: Families, name: string, labels: Record<string, string> = {}): number => {
  const family = families.get(name);
  assert.ok(family, `${name} is exposed`);
  const sample = family.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return Number(sample?.value ?? sample?.count ?? 0);
};

test("metrics: served on their own port, parsed as Prometheus text, and they move as events arrive and are refused", async (t) => {
  const { child, url, stdout } = await startChild(["--port", "0", "--db", tempDb(), "--metrics-port", "0", "--write-key", "ci=k1"]);
  t.after(() => child.kill("SIGKILL"));
  const metricsUrl = (await pollUntil(
    () => /metrics: (http:\S+)/.exec(stdout())?.[1],
    (m) => m !== undefined,
    10_000,
  ))!;
  assert.match(metricsUrl, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/, "on loopback by default");

  const before = await scrape(metricsUrl);
  assert.equal(value(before, "dlt_collector_events_accepted_total"), 0);
  assert.equal(value(before, "dlt_collector_store_up"), 1);
  for (const gauge of ["dlt_collector_commit_queue_events", "dlt_collector_open_connections", "dlt_collector_inflight_bytes"])
    assert.equal(before.get(gauge)?.type, "GAUGE", gauge);

  assert.equal((await post(url, "/v1/batch", { batch: [dltEvent(), dltEvent(), dltEvent()] }, { auth: "k1" })).status, 200);
  assert.equal((await post(url, "/v1/batch", { batch: [dltEvent()] }, { auth: "wrong" })).status, 401);
  assert.equal((await post(url, "/v1/batch", undefined, { auth: "k1", raw: "{not json" })).status, 400);

  const after = await scrape(metricsUrl);
  assert.equal(value(after, "dlt_collector_events_accepted_total"), 3);
  assert.equal(value(after, "dlt_collector_requests_refused_total", { status: "401", reason: "invalid_write_key" }), 1);
  assert.equal(value(after, "dlt_collector_requests_refused_total", { status: "400", reason: "malformed_json" }), 1);
  assert.equal(histogramCount(after, "dlt_collector_request_duration_seconds", "route", "ingest"), 3);
  assert.ok(histogramCount(after, "dlt_collector_store_commit_duration_seconds", "outcome", "ok") >= 1);
  // The ingest port, which faces clients, has no metrics.
  assert.equal((await post(url, "/metrics", undefined, { method: "GET" })).status, 404);
  child.kill("SIGTERM");
  assert.equal(await exited(child), 0);
});

test("JSON logs: one object per line with time, level and message, a storage failure and its recovery with their fields", async (t) => {
  const lines: string[] = [];
  const store = await DuckDbStore.open(tempDb());
  const c = await startCollector({
    port: 0,
    store,
    dashboard: false,
    writeKeys: [{ label: "ci", key: "s3cret-key" }],
    log: createLog("json", (text) => void lines.push(text)),
  });
  t.after(() => c.close());
  const insert = store.insert.bind(store);
  store.insert = () => Promise.reject(new Error("IO Error: No space left on device"));
  const body = { batch: [dltEvent({ properties: { secret_body_marker: "do-not-log" } })] };
  assert.equal((await post(c.url, "/v1/batch", body, { auth: "s3cret-key" })).status, 503);
  store.insert = insert;
  assert.equal((await post(c.url, "/v1/batch", { batch: [dltEvent()] }, { auth: "s3cret-key" })).status, 200);

  const text = lines.join("");
  assert.ok(text.endsWith("\n"));
  const parsed = text
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  for (const line of parsed) {
    assert.ok(!Number.isNaN(Date.parse(String(line["time"]))), JSON.stringify(line));
    assert.ok(["info", "warn", "error"].includes(String(line["level"])), JSON.stringify(line));
    assert.equal(typeof line["message"], "string");
  }
  assert.deepEqual(
    parsed.map((l) => [l["level"], l["cause"], l["failed_writes"]]),
    [
      ["error", "IO Error: No space left on device", undefined],
      ["info", undefined, 1],
    ],
  );
  assert.ok(!/s3cret-key|do-not-log/.test(text), text);
});

test("JSON logs from the command line: every stdout and stderr line parses, none holds a write key or the read token", async (t) => {
  const { child, stdout, stderr } = await startChild([
    "--port",
    "0",
    "--db",
    tempDb(),
    "--log-format",
    "json",
    "--write-key",
    "ci=s3cret-key",
    "--read-token",
    "t0ken-value",
  ]);
  t.after(() => child.kill("SIGKILL"));
  await pollUntil(
    () => stdout(),
    (o) => o.includes('"dashboard"'),
    10_000,
  );
  child.kill("SIGTERM");
  assert.equal(await exited(child), 0);
  const all = [...stdout().trimEnd().split("\n"), ...stderr().trimEnd().split("\n").filter(Boolean)];
  const parsed = all.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    parsed.map((l) => l["message"]).filter((m) => typeof m !== "string"),
    [],
  );
  assert.ok(
    parsed.some((l) => String(l["message"]).startsWith("listening on http://127.0.0.1:")),
    stdout(),
  );
  assert.ok(!/s3cret-key|t0ken-value/.test(stdout() + stderr()), stdout() + stderr());
});

test("--config: the file's settings apply under the flags' names, and a flag wins over the file", async (t) => {
  const dir = tempDir();
  const file = join(dir, "collector.toml");
  writeFileSync(
    file,
    [
      "# kept in version control",
      "port = 0",
      `db = ${JSON.stringify(tempDb())}`,
      'write-key = ["ci=k1", "cron=k2"]',
      "dashboard = false",
      "max-body-bytes = 2048",
      "",
    ].join("\n"),
  );
  const { child, url, stdout } = await startChild(["--config", file, "--max-body-bytes", "8192"]);
  t.after(() => child.kill("SIGKILL"));
  await pollUntil(
    () => stdout(),
    (o) => /write keys: ci, cron/.test(o),
    10_000,
  );
  assert.equal((await post(url, "/v1/batch", { batch: [dltEvent()] })).status, 401, "the file's write keys are required");
  assert.equal((await post(url, "/v1/batch", { batch: [dltEvent()] }, { auth: "k2" })).status, 200);
  // 3,000 bytes: over the file's 2,048, under the flag's 8,192.
  const big = { batch: [dltEvent({ properties: { event_category: "pipeline", event_name: "load", pad: "x".repeat(2600) } })] };
  assert.equal((await post(url, "/v1/batch", big, { auth: "k1" })).status, 200);
  assert.equal((await post(url, "/", undefined, { method: "GET" })).status, 405, "dashboard = false: no page");
  child.kill("SIGTERM");
  assert.equal(await exited(child), 0);
});

test("--config: a broken file stops the start with one line naming the file and the line", () => {
  const dir = tempDir();
  const cases: [string, RegExp][] = [
    ['port = 0\nhost = "127.0.0.1\n', /collector\.toml:2:\d+: not valid TOML/],
    ['port = 0\ndb = "x.duckdb"\nprot = 9\n', /collector\.toml:3: unknown setting "prot" \(the settings are the flags' names: host, port, /],
    ['# a comment\nport = "eighty"\n', /collector\.toml:2: port: --port must be an integer >= 0/],
    ["dashboard = 1\n", /collector\.toml:1: dashboard must be true or false/],
  ];
  for (const [text, expected] of cases) {
    const file = join(dir, "collector.toml");
    writeFileSync(file, text);
    const r = spawnSync(process.execPath, [COLLECTOR_BIN, "--config", file], {
      encoding: "utf8",
      env: { PATH: process.env["PATH"] },
      timeout: 20_000,
    });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, expected);
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
  }
  const missing = spawnSync(process.execPath, [COLLECTOR_BIN, "--config", join(dir, "none.toml")], {
    encoding: "utf8",
    env: { PATH: process.env["PATH"] },
    timeout: 20_000,
  });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /none\.toml: cannot be read \(ENOENT\)/);
});
