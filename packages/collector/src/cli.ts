/** `dlt-collector`: start the collector from the command line. Every flag has an env twin (`DLT_COLLECTOR_*`). */
import { readFileSync } from "node:fs";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { DEFAULTS, startCollector } from "./index.js";

const int = (name: string, min: number) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
  return n;
};

const VERSION = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

const program = new Command("dlt-collector")
  .version(VERSION, "-v, --version", "print the version")
  .description("Self-hosted Segment-compatible collector for dlt-ts telemetry: POST /v1/batch, /v1/track, …; GET /health")
  .addOption(new Option("--host <host>", "interface to listen on").env("DLT_COLLECTOR_HOST").default(DEFAULTS.host))
  .addOption(new Option("--port <port>", "port (0 picks a free one)").env("DLT_COLLECTOR_PORT").default(DEFAULTS.port).argParser(int("--port", 0)))
  .addOption(new Option("--db <path>", "DuckDB database file").env("DLT_COLLECTOR_DB").default(DEFAULTS.dbPath))
  .addOption(
    new Option("--write-key <key>", "accepted write key (repeatable; several keys comma-separated in the env variable)")
      .env("DLT_COLLECTOR_WRITE_KEYS")
      .argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), ...v.split(",").filter(Boolean)]),
  )
  .addOption(new Option("--read-token <token>", "token the dashboard asks for (default: random when write keys are set)").env("DLT_COLLECTOR_READ_TOKEN"))
  .addOption(new Option("--no-dashboard", "do not serve the dashboard"))
  .addOption(
    new Option("--max-body-bytes <n>", "largest request body, on the wire and inflated")
      .env("DLT_COLLECTOR_MAX_BODY_BYTES").default(DEFAULTS.maxBodyBytes).argParser(int("--max-body-bytes", 1024)),
  )
  .addOption(
    new Option("--max-pending-events <n>", "events waiting for a commit before requests get 503 + Retry-After")
      .env("DLT_COLLECTOR_MAX_PENDING_EVENTS").default(DEFAULTS.maxPendingEvents).argParser(int("--max-pending-events", 1)),
  )
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
  db: string;
  writeKey?: string[];
  readToken?: string;
  dashboard: boolean;
  maxBodyBytes: number;
  maxPendingEvents: number;
}>();

try {
  const c = await startCollector({
    host: o.host,
    port: o.port,
    dbPath: o.db,
    writeKeys: o.writeKey ?? [],
    maxBodyBytes: o.maxBodyBytes,
    maxPendingEvents: o.maxPendingEvents,
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
  if (c.dashboardUrl) process.stdout.write(`dashboard: ${c.dashboardUrl}\n`);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    c.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
} catch (e) {
  process.stderr.write(`dlt-collector: ${(e as Error).message}\n`);
  process.exit(1);
}
