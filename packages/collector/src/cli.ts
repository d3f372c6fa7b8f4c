/** `dlt-collector`: start the collector from the command line. Every flag has an env twin (`DLT_COLLECTOR_*`). */
import { readFileSync } from "node:fs";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { DEFAULTS, startCollector } from "./index.js";
import { basePrefix } from "./server.js";
import { parseWriteKey, type WriteKey } from "./auth.js";

const int = (name: string, min: number) => (v: string): number => {
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
  new Option(flags, description).env(env).default(fallback).argParser(int(flags.split(" ")[0]!, min));

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
      .env("DLT_COLLECTOR_BASE_PATH").default(DEFAULTS.basePath).argParser(path),
  )
  .addOption(new Option("--db <path>", "DuckDB database file").env("DLT_COLLECTOR_DB").default(DEFAULTS.dbPath))
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
  .addOption(new Option("--read-token <token>", "token the dashboard asks for (default: random when write keys are set)").env("DLT_COLLECTOR_READ_TOKEN"))
  .addOption(new Option("--no-dashboard", "do not serve the dashboard"))
  .addOption(option("--max-body-bytes <n>", "largest request body, on the wire and inflated", "DLT_COLLECTOR_MAX_BODY_BYTES", DEFAULTS.maxBodyBytes, 1024))
  .addOption(
    option("--max-pending-events <n>", "events waiting for a commit before requests get 503 + Retry-After", "DLT_COLLECTOR_MAX_PENDING_EVENTS", DEFAULTS.maxPendingEvents, 1),
  )
  .addOption(option("--max-connections <n>", "open connections before new ones get 503 + Retry-After", "DLT_COLLECTOR_MAX_CONNECTIONS", DEFAULTS.maxConnections, 1))
  .addOption(
    option("--max-inflight-bytes <n>", "request body bytes held at once, all requests together, before new ones get 503", "DLT_COLLECTOR_MAX_INFLIGHT_BYTES", DEFAULTS.maxInflightBytes, 1024),
  )
  .addOption(option("--headers-timeout-ms <ms>", "time to receive a request's headers", "DLT_COLLECTOR_HEADERS_TIMEOUT_MS", DEFAULTS.headersTimeoutMs, 100))
  .addOption(option("--request-timeout-ms <ms>", "time to receive a whole request, body included", "DLT_COLLECTOR_REQUEST_TIMEOUT_MS", DEFAULTS.requestTimeoutMs, 100))
  .exitOverride()
  .showHelpAfterError("(run `dlt-collector --help` for usage)");

try {
  program.parse();
} catch (e) {
  // Help and version exit 0; a usage error (commander printed its one line and the hint) exits 2, as `dlt` does.
  const code = e instanceof CommanderError ? e.code : "";
  process.exit(code === "commander.helpDisplayed" || code === "commander.version" || code === "commander.help" ? 0 : 2);
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
}>();

try {
  const c = await startCollector({
    host: o.host,
    port: o.port,
    basePath: o.basePath,
    dbPath: o.db,
    writeKeys: o.writeKey ?? [],
    maxBodyBytes: o.maxBodyBytes,
    maxPendingEvents: o.maxPendingEvents,
    maxConnections: o.maxConnections,
    maxInflightBytes: o.maxInflightBytes,
    headersTimeoutMs: o.headersTimeoutMs,
    requestTimeoutMs: o.requestTimeoutMs,
    dashboard: o.dashboard,
    ...(o.readToken ? { readToken: o.readToken } : {}),
  });
  if (!o.writeKey || o.writeKey.length === 0) {
    process.stderr.write(
      "WARNING: no write key configured: this collector accepts events from ANYONE who can reach it.\n" +
        "         Pass --write-key KEY (or DLT_COLLECTOR_WRITE_KEYS) to require one.\n",
    );
  }
  process.stdout.write(`listening on ${c.url}\n`);
  if (o.writeKey?.length) process.stdout.write(`write keys: ${[...new Set(o.writeKey.map((k) => k.label))].join(", ")} (labels, stored with each event)\n`);
  if (c.dashboardUrl) process.stdout.write(`dashboard: ${c.dashboardUrl}\n`);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    c.close().then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`dlt-collector: stopping failed: ${String((e as Error)?.message ?? e).replace(/\s+/g, " ")}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
} catch (e) {
  // One line, naming what failed and why (StoreUnavailableError names the database file).
  process.stderr.write(`dlt-collector: ${String((e as Error)?.message ?? e).replace(/\s+/g, " ")}\n`);
  process.exit(1);
}
