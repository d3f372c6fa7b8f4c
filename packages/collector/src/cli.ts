/**
 * `dlt-collector`: start the collector from the command line (every flag has an env twin, `DLT_COLLECTOR_*`), with
 * `--workers N` processes on one port; `dlt-collector migrate` copies a DuckDB file into PostgreSQL.
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { randomBytes } from "node:crypto";
import { DEFAULTS, startCollector } from "./index.js";
import { migrate } from "./migrate.js";
import { basePrefix } from "./server.js";
import { parseWriteKey, type WriteKey } from "./auth.js";
import { isPostgresUrl } from "./store/postgres.js";
import { isChdb, isClickHouseDb } from "./store/clickhouse.js";
import { isWorker, report, startWorkers } from "./workers.js";
import { applyConfigFile } from "./config.js";
import { createLog, LOG_FORMATS, type Log, type LogFormat } from "./log.js";
import { clusterMetrics, serveMetrics } from "./metrics.js";
import type { PlanChoice } from "./plan/default.js";

const int =
  (name: string, min: number) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return n;
  };
const path = (v: string): string => {
  try {
    basePrefix(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  return v;
};
const option = (flags: string, description: string, env: string, fallback: number, min: number): Option =>
  new Option(flags, description)
    .env(env)
    .default(fallback)
    .argParser(int(flags.split(" ")[0]!, min));

const VERSION = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

const program = new Command("dlt-collector")
  .version(VERSION, "-v, --version", "print the version")
  .description(
    "Self-hosted Segment-compatible collector for dlt telemetry: POST <base path> (Python dlt's own requests), " +
      "<base path>/v1/batch, /v1/track, …; GET /health",
  )
  .addOption(new Option("--host <host>", "interface to listen on").env("DLT_COLLECTOR_HOST").default(DEFAULTS.host))
  .addOption(new Option("--port <port>", "port (0 picks a free one)").env("DLT_COLLECTOR_PORT").default(DEFAULTS.port).argParser(int("--port", 0)))
  .addOption(
    new Option("--base-path <path>", "path everything is served under, e.g. /telemetry behind a proxy (dlt's endpoint is then http://host/telemetry)")
      .env("DLT_COLLECTOR_BASE_PATH")
      .default(DEFAULTS.basePath)
      .argParser(path),
  )
  .addOption(
    new Option(
      "--db <path|url>",
      "DuckDB database file, a PostgreSQL URL (postgres://user:password@host:5432/db; a password is better in the env variable or PGPASSWORD), a ClickHouse server (clickhouse://user:password@host:8123/db, clickhouses:// for TLS) or embedded ClickHouse in this process (chdb:DIR, needs the npm package chdb)",
    )
      .env("DLT_COLLECTOR_DB")
      .default(DEFAULTS.dbPath),
  )
  .addOption(option("--workers <n>", "collector processes on one port (PostgreSQL or a ClickHouse server)", "DLT_COLLECTOR_WORKERS", 1, 1))
  .addOption(
    new Option("--retain-days <n>", "keep events this many days (whole UTC days, by arrival; removed at start and daily); default forever")
      .env("DLT_COLLECTOR_RETAIN_DAYS")
      .argParser(int("--retain-days", 1)),
  )
  .addOption(
    new Option(
      "--raw-days <n>",
      "keep raw events this many days (whole UTC days, by arrival), the dashboard's aggregates for --retain-days; default: as long as the aggregates",
    )
      .env("DLT_COLLECTOR_RAW_DAYS")
      .argParser(int("--raw-days", 1)),
  )
  .addOption(
    new Option(
      "--write-key <[label=]key>",
      "accepted write key, e.g. ci=KEY: the label is stored with each event it lets in, never the key (repeatable; comma-separated in the env variable)",
    )
      .env("DLT_COLLECTOR_WRITE_KEYS")
      .argParser((v: string, prev: WriteKey[] | undefined) => {
        try {
          return [...(prev ?? []), ...v.split(",").filter(Boolean).map(parseWriteKey)];
        } catch (e) {
          throw new InvalidArgumentError((e as Error).message);
        }
      }),
  )
  .addOption(
    new Option("--read-token <token>", "token the dashboard asks for (default: random when write keys are set)").env("DLT_COLLECTOR_READ_TOKEN"),
  )
  .addOption(
    new Option(
      "--plan <default|none|file>",
      "what is kept: the default plan (dlt-ts's and dlt's events that identify nobody), a plan file of another tool, or none (every message as sent)",
    )
      .env("DLT_COLLECTOR_PLAN")
      .default("default"),
  )
  .addOption(new Option("--no-dashboard", "do not serve the dashboard"))
  .addOption(
    option("--max-body-bytes <n>", "largest request body, on the wire and inflated", "DLT_COLLECTOR_MAX_BODY_BYTES", DEFAULTS.maxBodyBytes, 1024),
  )
  .addOption(
    option(
      "--max-pending-events <n>",
      "events waiting for a commit before requests get 503 + Retry-After",
      "DLT_COLLECTOR_MAX_PENDING_EVENTS",
      DEFAULTS.maxPendingEvents,
      1,
    ),
  )
  .addOption(
    option(
      "--max-connections <n>",
      "open connections before new ones get 503 + Retry-After",
      "DLT_COLLECTOR_MAX_CONNECTIONS",
      DEFAULTS.maxConnections,
      1,
    ),
  )
  .addOption(
    option(
      "--max-inflight-bytes <n>",
      "request body bytes held at once, all requests together, before new ones get 503",
      "DLT_COLLECTOR_MAX_INFLIGHT_BYTES",
      DEFAULTS.maxInflightBytes,
      1024,
    ),
  )
  .addOption(
    new Option("--metrics-port <port>", "serve Prometheus metrics at http://<metrics host>:<port>/metrics (0 picks a free port); default: none")
      .env("DLT_COLLECTOR_METRICS_PORT")
      .argParser(int("--metrics-port", 0)),
  )
  .addOption(new Option("--metrics-host <host>", "interface of the metrics listener").env("DLT_COLLECTOR_METRICS_HOST").default(DEFAULTS.metricsHost))
  .addOption(
    new Option("--log-format <format>", "text (for a terminal) or json (one object per line, for log shippers)")
      .env("DLT_COLLECTOR_LOG_FORMAT")
      .choices(LOG_FORMATS)
      .default("text"),
  )
  .addOption(
    new Option(
      "--config <file>",
      'read settings from a TOML file (the flags\' names: port = 8080, write-key = ["ci=KEY"]); flags and env variables win over it',
    ).env("DLT_COLLECTOR_CONFIG"),
  )
  .addOption(
    option("--headers-timeout-ms <ms>", "time to receive a request's headers", "DLT_COLLECTOR_HEADERS_TIMEOUT_MS", DEFAULTS.headersTimeoutMs, 100),
  )
  .addOption(
    option(
      "--request-timeout-ms <ms>",
      "time to receive a whole request, body included",
      "DLT_COLLECTOR_REQUEST_TIMEOUT_MS",
      DEFAULTS.requestTimeoutMs,
      100,
    ),
  )
  .addOption(
    option("--body-timeout-ms <ms>", "time to receive a body once its headers are in", "DLT_COLLECTOR_BODY_TIMEOUT_MS", DEFAULTS.bodyTimeoutMs, 100),
  )
  .addOption(
    new Option(
      "--reserved-connections <n>",
      "connections (and that share of the in-flight bytes) only requests with a write key in their Authorization header may use; default a quarter of --max-connections",
    )
      .env("DLT_COLLECTOR_RESERVED_CONNECTIONS")
      .argParser(int("--reserved-connections", 0)),
  )
  .addOption(
    option(
      "--write-timeout-ms <ms>",
      "a store write under way longer than this makes /health 503 (a stalled database)",
      "DLT_COLLECTOR_WRITE_TIMEOUT_MS",
      DEFAULTS.writeTimeoutMs,
      100,
    ),
  )
  .exitOverride()
  .showHelpAfterError("(run `dlt-collector --help` for usage)")
  .action(() => serve());

program
  .command("migrate")
  .description(
    "copy every event of a DuckDB file into PostgreSQL or ClickHouse (idempotent: a second run adds nothing); prints the counts on both sides",
  )
  .requiredOption("--from <file>", "the DuckDB file (read-only: stop the collector that uses it, or copy it)")
  .requiredOption("--to <url>", "the store to copy into: postgres://user:password@host:5432/db, clickhouse://user:password@host:8123/db or chdb:DIR")
  .exitOverride()
  .showHelpAfterError("(run `dlt-collector migrate --help` for usage)")
  .action((opts: { from: string; to: string }) => runMigrate(opts.from, opts.to));

/** The log of this run: text until `--log-format` is known. */
let log: Log = createLog("text");

/** One line on stderr, no directories of the host lost (this is the operator's own terminal). */
const fail = (e: unknown): never => {
  const message = String((e as Error)?.message ?? e).replace(/\s+/g, " ");
  log(message, { level: "error" });
  process.exit(1);
};

try {
  await program.parseAsync();
} catch (e) {
  // Help and version exit 0; a usage error (commander printed its one line and the hint) exits 2, as `dlt` does.
  if (!(e instanceof CommanderError)) fail(e);
  const code = (e as CommanderError).code;
  process.exit(code === "commander.helpDisplayed" || code === "commander.version" || code === "commander.help" ? 0 : 2);
}

async function runMigrate(from: string, to: string): Promise<void> {
  if (!isPostgresUrl(to) && !isClickHouseDb(to)) {
    process.stderr.write(
      `error: --to must be a PostgreSQL URL (postgres://…), a ClickHouse URL (clickhouse://…) or chdb:DIR, got ${JSON.stringify(to.slice(0, 100))}\n(run \`dlt-collector migrate --help\` for usage)\n`,
    );
    process.exit(2);
  }
  // A progress line only on a terminal: a log file or a pipe gets the counts at the end, not a stream of \r.
  const tty = process.stderr.isTTY === true;
  const started = performance.now();
  let lastShown = 0;
  const progress = (done: number, total: number): void => {
    const now = performance.now();
    if (now - lastShown < 200 && done < total) return;
    lastShown = now;
    const rate = Math.round(done / ((now - started) / 1000));
    const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
    process.stderr.write(`\rmigrating: ${fmt(done)} of ${fmt(total)} events (${pct} %), ${fmt(rate)} events/s\x1b[K`);
  };
  try {
    const r = await migrate({ from, to, ...(tty ? { progress } : {}) });
    if (tty) process.stderr.write("\r\x1b[K");
    const seconds = (performance.now() - started) / 1000;
    const skippedTotal = Object.values(r.skipped).reduce((a, b) => a + b, 0);
    process.stdout.write(
      `DuckDB ${r.source}: ${fmt(r.sourceEvents)} events\n` +
        `PostgreSQL ${r.target}: ${fmt(r.targetAfter)} events (${fmt(r.targetBefore)} before; ${fmt(r.added)} added by this run, ` +
        `${fmt(r.sourceEvents - r.added - skippedTotal)} already there) in ${seconds.toFixed(1)} s\n`,
    );
    // What ingest would have refused is not copied: said once per reason, on stderr (the counts stay on stdout).
    for (const [reason, n] of Object.entries(r.skipped)) process.stderr.write(`dlt-collector: skipped ${fmt(n)} messages: ${reason}\n`);
    process.exit(0);
  } catch (e) {
    if (tty) process.stderr.write("\n");
    fail(e);
  }
}

function fmt(n: number): string {
  return n.toLocaleString("en-US");
}

async function serve(): Promise<void> {
  const configFile = program.opts<{ config?: string }>().config;
  if (configFile !== undefined) {
    try {
      applyConfigFile(program, configFile);
    } catch (e) {
      process.stderr.write(`error: ${(e as Error).message}\n`);
      process.exit(2);
    }
  }
  const o = program.opts<{
    host: string;
    port: number;
    basePath: string;
    db: string;
    writeKey?: WriteKey[];
    readToken?: string;
    dashboard: boolean;
    maxBodyBytes: number;
    maxPendingEvents: number;
    maxConnections: number;
    maxInflightBytes: number;
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    writeTimeoutMs: number;
    bodyTimeoutMs: number;
    reservedConnections?: number;
    workers: number;
    retainDays?: number;
    rawDays?: number;
    metricsPort?: number;
    metricsHost: string;
    logFormat: LogFormat;
    plan: string;
  }>();
  const plan: PlanChoice = o.plan === "default" || o.plan === "none" ? o.plan : { file: o.plan };
  log = createLog(o.logFormat);
  const json = o.logFormat === "json";
  /** A line for stdout: text, or a JSON object for log shippers. */
  const stdoutJson = json ? createLog("json", (t) => void process.stdout.write(t)) : undefined;
  const say = (message: string, fields: Record<string, string | number | undefined> = {}): void => {
    if (stdoutJson) stdoutJson(message, fields);
    else process.stdout.write(`${message}\n`);
  };

  if (o.workers > 1 && !isPostgresUrl(o.db) && !(isClickHouseDb(o.db) && !isChdb(o.db))) {
    process.stderr.write(
      "error: --workers needs a PostgreSQL --db (postgres://…) or a ClickHouse server (clickhouse://…): a DuckDB file or a chdb: directory takes one process\n(run `dlt-collector --help` for usage)\n",
    );
    process.exit(2);
  }
  const keyed = (o.writeKey ?? []).length > 0;
  if (o.workers > 1 && !isWorker()) {
    // The primary: the workers share one read token (a random one when write keys need it), and the stop.
    const readToken = o.readToken ?? (keyed ? randomBytes(18).toString("base64url") : undefined);
    try {
      const w = await startWorkers(o.workers, readToken ? { DLT_COLLECTOR_READ_TOKEN: readToken } : {}, (line) => log(line, { level: "warn" }));
      // The workers count; the primary serves the sum of their metrics on the one metrics port.
      const metrics = o.metricsPort !== undefined ? await serveMetrics(o.metricsHost, o.metricsPort, clusterMetrics()) : undefined;
      announce(
        w.url,
        w.dashboardUrl,
        metrics?.url,
        `${o.workers} workers`,
        o.readToken === undefined,
        plan === "none" ? undefined : `plan: ${o.plan} (published at ${w.url}/v1/plan)`,
      );
      let stopping = false;
      const stop = (): void => {
        if (stopping) return;
        stopping = true;
        void w.stop().then((code) => process.exit(code));
      };
      process.on("SIGTERM", stop);
      process.on("SIGINT", stop);
    } catch (e) {
      fail(e);
    }
    return;
  }

  // A stop asked for while the collector starts (a worker replaced during a stop, an impatient Ctrl-C) is kept and
  // done once it has started, so it still drains and exits 0.
  let stopAsked = false;
  const early = (): void => void (stopAsked = true);
  process.on("SIGTERM", early);
  process.on("SIGINT", early);
  try {
    const c = await startCollector({
      host: o.host,
      port: o.port,
      basePath: o.basePath,
      db: o.db,
      ...(o.retainDays !== undefined ? { retainDays: o.retainDays } : {}),
      ...(o.rawDays !== undefined ? { rawDays: o.rawDays } : {}),
      writeKeys: o.writeKey ?? [],
      maxBodyBytes: o.maxBodyBytes,
      maxPendingEvents: o.maxPendingEvents,
      maxConnections: o.maxConnections,
      maxInflightBytes: o.maxInflightBytes,
      headersTimeoutMs: o.headersTimeoutMs,
      requestTimeoutMs: o.requestTimeoutMs,
      writeTimeoutMs: o.writeTimeoutMs,
      bodyTimeoutMs: o.bodyTimeoutMs,
      ...(o.reservedConnections !== undefined ? { reservedConnections: o.reservedConnections } : {}),
      dashboard: o.dashboard,
      plan,
      ...(o.readToken ? { readToken: o.readToken } : {}),
      ...(o.metricsPort !== undefined ? { metricsPort: o.metricsPort, metricsHost: o.metricsHost } : {}),
      log,
    });
    if (isWorker()) void report({ listening: c.url, dashboardUrl: c.dashboardUrl });
    else {
      announce(
        c.url,
        c.dashboardUrl,
        c.metricsUrl,
        undefined,
        o.readToken === undefined,
        c.plan ? `plan: ${o.plan === "default" ? "default" : o.plan} (${c.plan.events.size} events; published at ${c.url}/v1/plan)` : undefined,
      );
      const retention = o.retainDays === undefined ? "events kept forever" : `events kept ${o.retainDays} days`;
      const engine = isPostgresUrl(o.db) ? "PostgreSQL" : isClickHouseDb(o.db) ? "ClickHouse" : "DuckDB";
      say(`store: ${engine} ${c.store.location} (${retention})`, {
        store: c.store.location,
        retain_days: o.retainDays,
      });
      if (c.readTokenFile) say(`read token: kept in ${c.readTokenFile} (the same at every start)`, { read_token_file: c.readTokenFile });
    }
    const started = Date.now();
    let stopping = false;
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      log("stopping: no new connections; serving the requests under way", { level: "info" });
      c.close().then(
        () => {
          log(
            `stopped after ${((Date.now() - started) / 1000).toFixed(0)} s: ${c.commits().toLocaleString("en-US")} commits, every event answered 200 is stored`,
            { level: "info", commits: c.commits() },
          );
          process.exit(0);
        },
        (e: unknown) => {
          log(`stopping failed: ${String((e as Error)?.message ?? e).replace(/\s+/g, " ")}`, { level: "error" });
          process.exit(1);
        },
      );
    };
    process.off("SIGTERM", early);
    process.off("SIGINT", early);
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    if (stopAsked) stop();
  } catch (e) {
    // One line, naming what failed and why (StoreUnavailableError names the database file).
    // A worker tells the primary, which says it once for all and stops the start.
    if (isWorker()) {
      await report({ failed: String((e as Error)?.message ?? e).replace(/\s+/g, " ") });
      process.exit(1);
    }
    fail(e);
  }

  function announce(
    url: string,
    dashboardUrl: string | undefined,
    metricsUrl: string | undefined,
    workers: string | undefined,
    tokenGenerated: boolean,
    planLine?: string,
  ): void {
    if (!keyed) {
      if (json) log("no write key configured: this collector accepts events from anyone who can reach it (pass --write-key)", { level: "warn" });
      else {
        process.stderr.write(
          "WARNING: no write key configured: this collector accepts events from ANYONE who can reach it.\n" +
            "         Pass --write-key KEY (or DLT_COLLECTOR_WRITE_KEYS) to require one.\n",
        );
      }
    }
    say(`listening on ${url}${workers ? ` (${workers})` : ""}`, { url, workers });
    if (keyed) {
      const labels = [...new Set(o.writeKey!.map((k) => k.label))].join(", ");
      say(`write keys: ${labels} (labels, stored with each event)`, { write_key_labels: labels });
    }
    if (planLine) say(planLine, { plan: o.plan });
    else if (plan === "none") say("plan: none (every message is stored as sent: Segment's raw API)", { plan: "none" });
    if (metricsUrl) say(`metrics: ${metricsUrl}`, { metrics: metricsUrl });
    if (!dashboardUrl) return;
    // A log line never holds the read token: a JSON log goes to a shipper, so its dashboard line has none.
    if (!json) return say(`dashboard: ${dashboardUrl}`);
    const bare = dashboardUrl.replace(/\?token=.*$/, "");
    say(`dashboard: ${bare}`, { dashboard: bare });
    if (tokenGenerated && bare !== dashboardUrl)
      log("the dashboard's read token was generated and is not logged: pass --read-token (or DLT_COLLECTOR_READ_TOKEN) to know it", {
        level: "warn",
      });
  }
}
