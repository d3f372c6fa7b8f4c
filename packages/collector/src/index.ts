/**
 * `@dlt-ts/collector`: a self-hosted, Segment-compatible endpoint for dlt-ts telemetry (or any Segment client).
 *
 * @example
 * const c = await startCollector({ port: 0, db: "telemetry.duckdb" }); // or db: "postgres://…"
 * // point dlt (Python dlt, or dlt-ts) at it: RUNTIME__DLTHUB_TELEMETRY_ENDPOINT=c.url
 * const rows = await c.store.query("SELECT event, count(*) AS n FROM events GROUP BY event");
 * await c.close();
 */
import { listen, basePrefix, KEEP_ALIVE_MS, type CollectorServer } from "./server.js";
import { randomBytes } from "node:crypto";
import { closeSync, constants, existsSync, fstatSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dashboardRoutes } from "./dashboard/routes.js";
import { causeOf } from "./health.js";
import cluster from "node:cluster";
import { createLog, type Log } from "./log.js";
import { collectorMetrics, serveMetrics, shareWithPrimary, type CollectorMetrics, type MetricsServer } from "./metrics.js";
import { writeKeysOf, type WriteKey } from "./auth.js";
import { DuckDbStore } from "./store/duckdb.js";
import { isPostgresUrl, PostgresStore, redactUrl } from "./store/postgres.js";
import { ClickHouseStore, isClickHouseDb, redactClickHouse } from "./store/clickhouse.js";
import type { EventStore, OpenProgress } from "./store/types.js";
import { loadPlan, type PlanChoice } from "./plan/default.js";
import type { Plan } from "./plan/plan.js";

export type { EventStore, Housekeeping, RefusedCount } from "./store/types.js";
export { parsePlan, compilePlan, PlanError, PLAN_FORMAT, type Plan, type PlanFile, type PlanField, type PlanEvent } from "./plan/plan.js";
export { enforce, REFUSAL_REASONS, type RefusalReason, type Enforced } from "./plan/enforce.js";
export { defaultPlan, loadPlan, mergePlans, DEFAULT_PLAN_FILE, type PlanChoice } from "./plan/default.js";
export { retentionCutoff } from "./store/types.js";
export { PostgresStore, isPostgresUrl, type PostgresOptions } from "./store/postgres.js";
export { DEDUP_DAYS } from "./store/postgres-schema.js";
export { ClickHouseStore, isClickHouseDb, isChdb, CHDB_PACKAGE, type ClickHouseOptions } from "./store/clickhouse.js";
export type { StoredMessage } from "./stamp.js";
export { validateMessage, MESSAGE_TYPES, MAX_MESSAGE_BYTES } from "./validate.js";
export { DuckDbStore, CREATE_EVENTS, type DuckDbOptions } from "./store/duckdb.js";
export type { ClientLimits } from "./limits.js";
export { createLog, LOG_FORMATS, type Log, type LogFields, type LogFormat, type LogLevel } from "./log.js";
export { REQUEST_REFUSAL_REASONS, refusalReason, type RequestRefusalReason } from "./metrics.js";
export { parseWriteKey, hashLabel, type WriteKey } from "./auth.js";
export { QUERIES, DASHBOARD_APIS, type Cell, type DashboardApi, type DashboardSql, type Filter, type Rows } from "./dashboard/apis.js";

/** How to start a collector. Every field has a default (`DEFAULTS`). */
export interface CollectorOptions {
  /** Interface to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** Port (default 8080; 0 picks a free one). */
  readonly port?: number;
  /**
   * The path everything is served under (default `/`): set it to the path a proxy forwards, e.g. `/telemetry`, and
   * point dlt at `https://proxy/telemetry`. Events are taken at the base path itself (how Python dlt posts) and at
   * its `/v1/batch`, `/v1/track` … (Segment's routes); the dashboard is served there too.
   */
  readonly basePath?: string;
  /**
   * The database: a DuckDB file path (default `telemetry.duckdb` in the working directory), or a PostgreSQL URL
   * (`postgres://user:password@host:5432/db`) for several collectors on one database, or ClickHouse: a server
   * (`clickhouse://user:password@host:8123/db`, `clickhouses://…` for TLS) or embedded in this process (`chdb:DIR`, with
   * the optional npm package `chdb`).
   */
  readonly db?: string;
  /** The same as `db` (its earlier name). */
  readonly dbPath?: string;
  /**
   * Keep events this many days (by the day they were received, UTC; whole days go at once), removed at start and
   * daily; default: forever.
   */
  readonly retainDays?: number;
  /**
   * Keep the raw events this many days (by the day they were received, UTC), removed at start and daily, while the
   * dashboard's aggregates are kept for `retainDays`: the live view covers these days, every other API all of them.
   * Default: raw events are kept as long as the aggregates.
   */
  readonly rawDays?: number;
  /**
   * Told how far the aggregates of a database made before them are built at open (default: a progress line on
   * stderr when it is a terminal).
   */
  readonly openProgress?: OpenProgress;
  /**
   * Accepted write keys; none accepts every request. Each event stores the label of the key that let it in (column
   * `write_key_label`; the dashboard shows it, never the key): `{ label: "ci", key }`, or a bare key, labelled
   * `key-` and a short hash of it (see `parseWriteKey` for the command line's `label=key`).
   */
  readonly writeKeys?: readonly (string | WriteKey)[];
  /** Largest request body (default 500 KB, Segment's limit). */
  readonly maxBodyBytes?: number;
  /** Events waiting for a commit before 503 (default 50,000). */
  readonly maxPendingEvents?: number;
  /**
   * Open connections (default 1,024). At the cap a new connection takes the place of one idle for `evictIdleMs`
   * (a keep-alive connection between requests, or one still sending its headers), else it gets 503.
   */
  readonly maxConnections?: number;
  /** See `maxConnections` (default 1 s). */
  readonly evictIdleMs?: number;
  /** Body bytes held across all requests before new bodies get 503 (default 16 MB). */
  readonly maxInflightBytes?: number;
  /** Time to receive a request's headers, ms (default 10 s). */
  readonly headersTimeoutMs?: number;
  /** Time to receive a whole request, ms (default 30 s). */
  readonly requestTimeoutMs?: number;
  /** Time to receive a body once its headers are in, ms (default 10 s); then 408. */
  readonly bodyTimeoutMs?: number;
  /**
   * With write keys configured: connections that requests without a valid key in their `Authorization` header (a
   * stranger, or a Segment client with the key in the body) cannot hold, and the same share of `maxInflightBytes`,
   * so a keyed client is served whatever strangers do (default a quarter of `maxConnections`).
   */
  readonly reservedConnections?: number;
  /**
   * On close: how long an idle connection is kept for a request its client may be sending (default 5 s: the keep-alive
   * timeout clients were told, so none sends on a connection the drain is closing).
   */
  readonly drainIdleMs?: number;
  /** On close: how long requests under way may take before their connections are cut (default 10 s). */
  readonly drainTimeoutMs?: number;
  /**
   * A store write under way longer than this (ms, default 10 s, PostgreSQL's statement timeout) makes `/health` 503
   * with the cause: a stalled database is reported while it stalls, not after.
   */
  readonly writeTimeoutMs?: number;
  /**
   * Where the collector logs (storage failures, retention), one line each: a message and, for a structured log,
   * fields (`level`, `cause`, …). Default: stderr as text, prefixed `dlt-collector: ` (`createLog("json")` writes
   * JSON lines).
   */
  readonly log?: Log;
  /**
   * Serve Prometheus metrics at `http://metricsHost:metricsPort/metrics` (0 picks a free port); default: none, and
   * nothing is counted. In a `--workers` worker the port is the primary's, which serves the sum of its workers'.
   */
  readonly metricsPort?: number;
  /** Interface of the metrics listener (default 127.0.0.1: metrics are for the operator's scraper, not the internet). */
  readonly metricsHost?: string;
  /** A store of your own; default the one `db` names. */
  readonly store?: EventStore;
  /** Serve the dashboard at the base path (default true). */
  readonly dashboard?: boolean;
  /**
   * Token the dashboard asks for. Default: none when no write key is configured (an open collector has open
   * reads), else a random one (see `dashboardUrl`).
   */
  readonly readToken?: string;
  /**
   * What is kept (see the README's "What this server keeps"): `"default"` (the default) is dlt-ts's events and what
   * Python dlt 1.x sends that identifies nobody; `{ file }` a plan file of another tool; a `Plan` (`compilePlan`);
   * `"none"` stores every message as sent (Segment's raw API).
   */
  readonly plan?: PlanChoice | Plan;
}

/** A running collector. */
export interface Collector {
  /** Base URL, e.g. `http://127.0.0.1:8080` (with the base path) — what `dlthub_telemetry_endpoint` takes. */
  readonly url: string;
  readonly store: EventStore;
  /** The plan enforced at ingest; undefined with `plan: "none"`. */
  readonly plan: Plan | undefined;
  /** The dashboard's URL, with its read token when one is needed; undefined when the dashboard is off. */
  readonly dashboardUrl: string | undefined;
  /** The file the generated read token is kept in (beside the DuckDB file); undefined when given or not kept. */
  readonly readTokenFile: string | undefined;
  /** Where the metrics are served (`…/metrics`); undefined without `metricsPort`. */
  readonly metricsUrl: string | undefined;
  /** Commits made so far (group commit: far fewer than requests under load). */
  commits(): number;
  /**
   * Graceful stop: stops accepting, serves the requests that arrive on open connections (answered with
   * `Connection: close`), commits everything acknowledged, closes the database.
   */
  close(): Promise<void>;
}

export const DEFAULTS = {
  host: "127.0.0.1",
  port: 8080,
  basePath: "/",
  dbPath: "telemetry.duckdb",
  maxBodyBytes: 500 * 1024,
  maxPendingEvents: 50_000,
  maxConnections: 1024,
  evictIdleMs: 1000,
  maxInflightBytes: 16 * 1024 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  bodyTimeoutMs: 10_000,
  drainIdleMs: KEEP_ALIVE_MS,
  drainTimeoutMs: 10_000,
  metricsHost: "127.0.0.1",
  writeTimeoutMs: 10_000,
} as const;

/** The store cannot be opened or written: the message is one line naming it and the cause. */
export class StoreUnavailableError extends Error {
  constructor(
    readonly location: string,
    readonly reason: string,
  ) {
    super(`cannot write the database ${location}: ${reason}`);
    this.name = "StoreUnavailableError";
  }
}

/**
 * The read token kept in `<db>.read-token` (created `0600` with a random token the first time, read back after):
 * undefined when that file cannot be used (then the token is random for this start). A file that is a link, not
 * this user's, or open to others is not trusted.
 */
function keptReadToken(db: string): { token: string; file: string } | undefined {
  const file = `${db}.read-token`;
  try {
    const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const st = fstatSync(fd);
      const mine = typeof process.getuid !== "function" || st.uid === process.getuid();
      if (!st.isFile() || !mine || (st.mode & 0o077) !== 0 || st.size > 1024) return undefined;
      const token = readFileSync(fd, "utf8").trim();
      return /^[A-Za-z0-9_-]{16,200}$/.test(token) ? { token, file } : undefined;
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") return undefined;
  }
  const token = randomBytes(18).toString("base64url");
  try {
    writeFileSync(file, `${token}\n`, { flag: "wx", mode: 0o600 });
    return { token, file };
  } catch {
    return undefined;
  }
}

/**
 * Opens the store `db` names: a `postgres://` URL is PostgreSQL, a `clickhouse(s)://` or `http(s)://` URL or `chdb:DIR`
 * ClickHouse, anything else a DuckDB file. `progress` is told how the aggregates of an older database are built.
 */
export function openStore(db: string, progress?: OpenProgress): Promise<EventStore> {
  const options = progress ? { progress } : {};
  if (isPostgresUrl(db)) return PostgresStore.open(db, options);
  if (isClickHouseDb(db)) return ClickHouseStore.open(db, options);
  return DuckDbStore.open(db, options);
}

/** A progress line on stderr while the aggregates of an older database are built, only on a terminal. */
function ttyProgress(): OpenProgress | undefined {
  if (process.stderr.isTTY !== true) return undefined;
  let shown = 0;
  return (done, total) => {
    const now = performance.now();
    if (now - shown < 200 && done < total) return;
    shown = now;
    const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
    process.stderr.write(
      `\rbuilding the dashboard's aggregates: ${done.toLocaleString("en-US")} of ${total.toLocaleString("en-US")} events (${pct} %)\x1b[K${done >= total ? "\n" : ""}`,
    );
  };
}

/** `db` as an operator may see it: a URL without its password. */
export const redactDb = (db: string): string => (isPostgresUrl(db) ? redactUrl(db) : isClickHouseDb(db) ? redactClickHouse(db) : db);

/** Opens the store and tries a write: a database that cannot take events fails the start, not every request. */
async function openAndProbe(options: CollectorOptions): Promise<EventStore> {
  const db = options.db ?? options.dbPath ?? DEFAULTS.dbPath;
  let store: EventStore;
  try {
    store = options.store ?? (await openStore(db, options.openProgress ?? ttyProgress()));
  } catch (e) {
    throw new StoreUnavailableError(redactDb(db), causeOf(e));
  }
  try {
    await store.probe();
  } catch (e) {
    await store.close().catch(() => undefined);
    throw new StoreUnavailableError(store.location, causeOf(e));
  }
  return store;
}

/**
 * Runs the store's housekeeping (retention, PostgreSQL's partitions ahead and dedup ids) at start and then daily. A
 * failed round is logged and tried again at the next; it never stops the collector.
 */
class Housekeeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: EventStore,
    private readonly retainDays: number | undefined,
    private readonly log: Log,
    private readonly rawDays: number | undefined,
  ) {}

  async run(): Promise<void> {
    const r = await this.store.housekeep(this.retainDays, Date.now(), this.rawDays);
    if (r.removed > 0) {
      const before = new Date(r.cutoff!).toISOString();
      this.log(`retention (${this.retainDays} days): removed ${r.removed} events received before ${before}`, {
        retain_days: this.retainDays,
        removed: r.removed,
        before,
      });
    }
    if ((r.rawRemoved ?? 0) > 0) {
      const before = new Date(r.rawCutoff!).toISOString();
      this.log(`raw events (${this.rawDays} days): removed ${r.rawRemoved} events received before ${before}; their aggregates stay`, {
        raw_days: this.rawDays,
        removed: r.rawRemoved,
        before,
      });
    }
  }

  daily(): void {
    this.timer = setInterval(() => {
      this.running = this.run().catch((e: unknown) =>
        this.log(`housekeeping failed (tried again in a day): ${causeOf(e)}`, { level: "error", cause: causeOf(e) }),
      );
    }, 86_400_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  settled(): Promise<void> {
    return this.running;
  }
}

export async function startCollector(options: CollectorOptions = {}): Promise<Collector> {
  const basePath = options.basePath ?? DEFAULTS.basePath;
  const prefix = basePrefix(basePath);
  const writeKeys = writeKeysOf(options.writeKeys ?? []);
  const db = options.db ?? options.dbPath ?? DEFAULTS.dbPath;
  const dbFile = options.store === undefined && !isPostgresUrl(db) && !isClickHouseDb(db) ? db : undefined;
  // A start that fails (a port in use) leaves no new database file behind.
  const createdHere = dbFile !== undefined && !existsSync(dbFile);
  // A plan file that cannot be used stops the start before the store is opened (a PlanError names the file and key).
  const choice = options.plan ?? "default";
  const plan = typeof choice === "string" || !("definition" in choice) ? loadPlan(choice) : choice;
  const store = await openAndProbe(options);
  const abandon = async (): Promise<void> => {
    await store.close();
    if (createdHere) for (const f of [dbFile, `${dbFile}.wal`, `${dbFile}.read-token`]) rmSync(f, { force: true });
  };
  const log = options.log ?? createLog("text");
  const retainDays = options.retainDays;
  // Raw events kept longer than the aggregates would be kept for nothing: the retention cuts both.
  const rawDays = options.rawDays !== undefined && (retainDays === undefined || options.rawDays < retainDays) ? options.rawDays : undefined;
  const housekeeping = new Housekeeper(store, retainDays, log, rawDays);
  try {
    await housekeeping.run();
  } catch (e) {
    await store.close();
    throw new StoreUnavailableError(store.location, causeOf(e));
  }
  const keyed = writeKeys.length > 0;
  let tokenFile: string | undefined;
  let readToken = options.readToken;
  if (readToken === undefined && keyed) {
    // Kept beside a DuckDB file so a bookmark of the dashboard survives a restart; elsewhere, random per start.
    const kept = dbFile === undefined ? undefined : keptReadToken(dbFile);
    readToken = kept?.token ?? randomBytes(18).toString("base64url");
    tokenFile = kept?.file;
  }
  const dashboard = options.dashboard !== false;
  let http: CollectorServer | undefined;
  let metrics: CollectorMetrics | undefined;
  let metricsServer: MetricsServer | undefined;
  if (options.metricsPort !== undefined) {
    const m = collectorMetrics({
      queuedEvents: () => http?.gauges.queuedEvents() ?? 0,
      openConnections: () => http?.gauges.openConnections() ?? 0,
      inflightBytes: () => http?.gauges.inflightBytes() ?? 0,
      storeUp: () => http?.gauges.storeUp() ?? 1,
    });
    metrics = m.metrics;
    // A worker's metrics go to the primary, which serves them summed on the one metrics port.
    if (cluster.isWorker) shareWithPrimary(m.registry);
    else {
      try {
        metricsServer = await serveMetrics(options.metricsHost ?? DEFAULTS.metricsHost, options.metricsPort, async () => ({
          text: await m.registry.metrics(),
          contentType: m.registry.contentType,
        }));
      } catch (e) {
        await abandon();
        throw e;
      }
    }
  }
  try {
    http = await listen(store, options.host ?? DEFAULTS.host, options.port ?? DEFAULTS.port, {
      basePath,
      writeKeys,
      maxBodyBytes: options.maxBodyBytes ?? DEFAULTS.maxBodyBytes,
      maxPendingEvents: options.maxPendingEvents ?? DEFAULTS.maxPendingEvents,
      maxConnections: options.maxConnections ?? DEFAULTS.maxConnections,
      evictIdleMs: options.evictIdleMs ?? DEFAULTS.evictIdleMs,
      maxInflightBytes: options.maxInflightBytes ?? DEFAULTS.maxInflightBytes,
      headersTimeoutMs: options.headersTimeoutMs ?? DEFAULTS.headersTimeoutMs,
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
      bodyTimeoutMs: options.bodyTimeoutMs ?? DEFAULTS.bodyTimeoutMs,
      reservedConnections: Math.min(
        options.reservedConnections ?? Math.floor((options.maxConnections ?? DEFAULTS.maxConnections) / 4),
        options.maxConnections ?? DEFAULTS.maxConnections,
      ),
      drainIdleMs: options.drainIdleMs ?? DEFAULTS.drainIdleMs,
      drainTimeoutMs: options.drainTimeoutMs ?? DEFAULTS.drainTimeoutMs,
      writeTimeoutMs: options.writeTimeoutMs ?? DEFAULTS.writeTimeoutMs,
      log,
      ...(metrics ? { metrics } : {}),
      plan,
      ...(dashboard
        ? {
            extraRoutes: dashboardRoutes(store, readToken, prefix, {
              writeKeyLabels: [...new Set(writeKeys.map((k) => k.label))],
              retainDays,
              rawDays,
            }),
          }
        : {}),
    });
  } catch (e) {
    await metricsServer?.close();
    await abandon();
    throw e;
  }
  housekeeping.daily();
  const server = http;
  return {
    url: server.url,
    metricsUrl: metricsServer?.url,
    store,
    readTokenFile: tokenFile,
    plan,
    dashboardUrl: dashboard ? `${server.url}/${readToken ? `?token=${encodeURIComponent(readToken)}` : ""}` : undefined,
    commits: () => server.committer.commits,
    async close() {
      housekeeping.stop();
      await server.close();
      await metricsServer?.close();
      await housekeeping.settled();
      await store.close();
    },
  };
}
