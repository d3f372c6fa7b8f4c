/**
 * `@dlt-ts/collector`: a self-hosted, Segment-compatible endpoint for dlt-ts telemetry (or any Segment client).
 *
 * @example
 * const c = await startCollector({ port: 0, dbPath: "telemetry.duckdb" });
 * // point dlt (Python dlt, or dlt-ts) at it: RUNTIME__DLTHUB_TELEMETRY_ENDPOINT=c.url
 * const rows = await c.store.query("SELECT event, count(*) AS n FROM events GROUP BY event");
 * await c.close();
 */
import { listen, basePrefix, type CollectorServer } from "./server.js";
import { randomBytes } from "node:crypto";
import { dashboardRoutes } from "./dashboard/routes.js";
import { causeOf } from "./health.js";
import { writeKeysOf, type WriteKey } from "./auth.js";
import { DuckDbStore } from "./store/duckdb.js";
import type { EventStore } from "./store/types.js";

export type { EventStore, Cell } from "./store/types.js";
export type { StoredMessage } from "./stamp.js";
export { validateMessage, MESSAGE_TYPES, MAX_MESSAGE_BYTES } from "./validate.js";
export { DuckDbStore, CREATE_EVENTS, type DuckDbOptions } from "./store/duckdb.js";
export type { ClientLimits } from "./limits.js";
export { parseWriteKey, hashLabel, type WriteKey } from "./auth.js";
export { QUERIES, type Filter } from "./dashboard/queries.js";

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
  /** DuckDB file (default `telemetry.duckdb` in the working directory). */
  readonly dbPath?: string;
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
  /** On close: how long an idle connection is kept for a request its client may be sending (default 1 s). */
  readonly drainIdleMs?: number;
  /** On close: how long requests under way may take before their connections are cut (default 10 s). */
  readonly drainTimeoutMs?: number;
  /** Where storage failures are logged, one line each (default stderr, prefixed `dlt-collector: `). */
  readonly log?: (line: string) => void;
  /** A store of your own (e.g. PostgreSQL); default DuckDB at `dbPath`. */
  readonly store?: EventStore;
  /** Serve the dashboard at the base path (default true). */
  readonly dashboard?: boolean;
  /**
   * Token the dashboard asks for. Default: none when no write key is configured (an open collector has open
   * reads), else a random one (see `dashboardUrl`).
   */
  readonly readToken?: string;
}

/** A running collector. */
export interface Collector {
  /** Base URL, e.g. `http://127.0.0.1:8080` (with the base path) — what `dlthub_telemetry_endpoint` takes. */
  readonly url: string;
  readonly store: EventStore;
  /** The dashboard's URL, with its read token when one is needed; undefined when the dashboard is off. */
  readonly dashboardUrl: string | undefined;
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
  drainIdleMs: 1000,
  drainTimeoutMs: 10_000,
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

/** Opens the store and tries a write: a database that cannot take events fails the start, not every request. */
async function openStore(options: CollectorOptions): Promise<EventStore> {
  const dbPath = options.dbPath ?? DEFAULTS.dbPath;
  let store: EventStore;
  try {
    store = options.store ?? (await DuckDbStore.open(dbPath));
  } catch (e) {
    throw new StoreUnavailableError(dbPath, causeOf(e));
  }
  try {
    await store.probe();
  } catch (e) {
    await store.close().catch(() => undefined);
    throw new StoreUnavailableError(store.location, causeOf(e));
  }
  return store;
}

export async function startCollector(options: CollectorOptions = {}): Promise<Collector> {
  const basePath = options.basePath ?? DEFAULTS.basePath;
  const prefix = basePrefix(basePath);
  const writeKeys = writeKeysOf(options.writeKeys ?? []);
  const store = await openStore(options);
  const keyed = writeKeys.length > 0;
  const readToken = options.readToken ?? (keyed ? randomBytes(18).toString("base64url") : undefined);
  const dashboard = options.dashboard !== false;
  let http: CollectorServer;
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
      drainIdleMs: options.drainIdleMs ?? DEFAULTS.drainIdleMs,
      drainTimeoutMs: options.drainTimeoutMs ?? DEFAULTS.drainTimeoutMs,
      log: options.log ?? ((line) => void process.stderr.write(`dlt-collector: ${line}\n`)),
      ...(dashboard ? { extraRoutes: dashboardRoutes(store, readToken, prefix, { writeKeyLabels: [...new Set(writeKeys.map((k) => k.label))] }) } : {}),
    });
  } catch (e) {
    await store.close();
    throw e;
  }
  return {
    url: http.url,
    store,
    dashboardUrl: dashboard ? `${http.url}/${readToken ? `?token=${encodeURIComponent(readToken)}` : ""}` : undefined,
    commits: () => http.committer.commits,
    async close() {
      await http.close();
      await store.close();
    },
  };
}
