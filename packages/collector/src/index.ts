/**
 * `@dlt-ts/collector`: a self-hosted, Segment-compatible endpoint for dlt-ts telemetry (or any Segment client).
 *
 * @example
 * const c = await startCollector({ port: 0, dbPath: "telemetry.duckdb" });
 * // point dlt at it: RUNTIME__DLTHUB_TELEMETRY_ENDPOINT=c.url
 * const rows = await c.store.query("SELECT event, count(*) AS n FROM events GROUP BY event");
 * await c.close();
 */
import { listen, type CollectorServer, type ServerOptions } from "./server.js";
import { randomBytes } from "node:crypto";
import { dashboardRoutes } from "./dashboard/routes.js";
import { DuckDbStore } from "./store/duckdb.js";
import type { EventStore } from "./store/types.js";

export type { EventStore, Cell } from "./store/types.js";
export type { StoredMessage } from "./stamp.js";
export { validateMessage, MESSAGE_TYPES, MAX_MESSAGE_BYTES } from "./validate.js";
export { DuckDbStore, CREATE_EVENTS } from "./store/duckdb.js";
export { QUERIES, type Filter } from "./dashboard/queries.js";

/** How to start a collector. Every field has a default. */
export interface CollectorOptions {
  /** Interface to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** Port (default 8080; 0 picks a free one). */
  readonly port?: number;
  /** DuckDB file (default `telemetry.duckdb` in the working directory). */
  readonly dbPath?: string;
  /** Accepted write keys; none accepts every request. */
  readonly writeKeys?: readonly string[];
  /** Largest request body (default 500 KB, Segment's limit). */
  readonly maxBodyBytes?: number;
  /** Events waiting for a commit before 503 (default 50,000). */
  readonly maxPendingEvents?: number;
  /** A store of your own (e.g. PostgreSQL); default DuckDB at `dbPath`. */
  readonly store?: EventStore;
  /** Serve the dashboard at `/` (default true). */
  readonly dashboard?: boolean;
  /**
   * Token the dashboard asks for. Default: none when no write key is configured (an open collector has open
   * reads), else a random one (see `dashboardUrl`).
   */
  readonly readToken?: string;
}

/** A running collector. */
export interface Collector {
  /** Base URL, e.g. `http://127.0.0.1:8080` — what `dlthub_telemetry_endpoint` takes. */
  readonly url: string;
  readonly store: EventStore;
  /** The dashboard's URL, with its read token when one is needed; undefined when the dashboard is off. */
  readonly dashboardUrl: string | undefined;
  /** Commits made so far (group commit: far fewer than requests under load). */
  commits(): number;
  /** Graceful stop: no new requests, everything acknowledged committed, database closed. */
  close(): Promise<void>;
}

export const DEFAULTS = { host: "127.0.0.1", port: 8080, dbPath: "telemetry.duckdb", maxBodyBytes: 500 * 1024, maxPendingEvents: 50_000 } as const;

export async function startCollector(options: CollectorOptions = {}): Promise<Collector> {
  const store = options.store ?? (await DuckDbStore.open(options.dbPath ?? DEFAULTS.dbPath));
  const keyed = (options.writeKeys ?? []).length > 0;
  const readToken = options.readToken ?? (keyed ? randomBytes(18).toString("base64url") : undefined);
  const dashboard = options.dashboard !== false;
  let http: CollectorServer;
  try {
    http = await listen(store, options.host ?? DEFAULTS.host, options.port ?? DEFAULTS.port, {
      writeKeys: options.writeKeys ?? [],
      maxBodyBytes: options.maxBodyBytes ?? DEFAULTS.maxBodyBytes,
      maxPendingEvents: options.maxPendingEvents ?? DEFAULTS.maxPendingEvents,
      ...(dashboard ? { extraRoutes: dashboardRoutes(store, readToken) } : {}),
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
