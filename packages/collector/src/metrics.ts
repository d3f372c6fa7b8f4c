/**
 * The collector's metrics, in Prometheus' text format (prom-client), served on a port of their own
 * (`--metrics-port`), never on the port clients send events to: that one faces the internet, metrics are for the
 * operator's scraper on a private interface (127.0.0.1 by default). With `--workers N` the primary serves the sum
 * of its workers' (prom-client's cluster aggregator).
 *
 * Off by default: with no metrics port, the collector counts nothing (`NO_METRICS`), so the hot path pays nothing
 * for metrics nobody reads (bench/collector-metrics.mjs measures the cost when they are on).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/** Why a request was refused, as a bounded label: a refusal's text can hold numbers, field paths or key names. */
export const REQUEST_REFUSAL_REASONS = [
  "missing_write_key",
  "invalid_write_key",
  "malformed_json",
  "invalid_body",
  "invalid_message",
  "too_large",
  "unsupported_encoding",
  "busy",
  "overloaded",
  "storage_unavailable",
  "shutting_down",
  "wrong_method",
  "incomplete_body",
  "other",
] as const;
export type RequestRefusalReason = (typeof REQUEST_REFUSAL_REASONS)[number];

/** The bounded reason of a refusal's text (see `REQUEST_REFUSAL_REASONS`). */
export function refusalReason(text: string): RequestRefusalReason {
  if (text.startsWith("missing write key")) return "missing_write_key";
  if (text.startsWith("invalid write key")) return "invalid_write_key";
  if (text.startsWith("body: malformed JSON")) return "malformed_json";
  if (/over the \d+-byte limit|too large|is over/.test(text)) return "too_large";
  if (text.startsWith("Content-Encoding") || text.startsWith("body is not valid gzip")) return "unsupported_encoding";
  if (text.startsWith("too many")) return "busy";
  if (text.startsWith("shutting down")) return "shutting_down";
  if (text.startsWith("overloaded")) return "overloaded";
  if (text.startsWith("storage unavailable")) return "storage_unavailable";
  if (text.startsWith("use ")) return "wrong_method";
  if (text.startsWith("request closed") || text.startsWith("request body could not")) return "incomplete_body";
  if (text.startsWith("body") || text.startsWith("batch:") || text.startsWith("sentAt")) return "invalid_body";
  if (/^[\w[\].]+: /.test(text)) return "invalid_message";
  return "other";
}

/** What the request path reports. Every method is cheap: a counter or a histogram bucket. */
export interface CollectorMetrics {
  /** Events stored (after their commit). */
  accepted(events: number): void;
  /** Events the plan refused (the request itself was answered 200), by the plan's bounded reason. */
  planRefused(reason: string, events: number): void;
  /** A request refused, with its status and text (reduced to a bounded reason). */
  refused(status: number, text: string): void;
  /** A request answered: its duration, by kind of route. */
  request(route: "ingest" | "health" | "dashboard" | "other", seconds: number): void;
  /** A group commit done (or failed): its duration. */
  commit(seconds: number, ok: boolean): void;
}

/** Counts nothing: the collector with no metrics port. */
export const NO_METRICS: CollectorMetrics = { accepted() {}, planRefused() {}, refused() {}, request() {}, commit() {} };

/** Values read when a scrape comes (gauges cost nothing between scrapes). */
export interface MetricsGauges {
  queuedEvents(): number;
  openConnections(): number;
  inflightBytes(): number;
  /** 1 when the last write succeeded (or none failed since start), 0 while writes fail. */
  storeUp(): number;
}

/** Seconds: from a fast single-event commit to dlt's 1 s client timeout and past it. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A registry with the collector's metrics, and the `CollectorMetrics` that feeds it. */
export function collectorMetrics(gauges: MetricsGauges): { registry: Registry; metrics: CollectorMetrics } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "dlt_collector_" });
  const accepted = new Counter({
    name: "dlt_collector_events_accepted_total",
    help: "Events stored and acknowledged with 200.",
    registers: [registry],
  });
  const planRefused = new Counter({
    name: "dlt_collector_events_refused_total",
    help: "Events the tracking plan refused (not stored; their request was answered 200), by reason.",
    labelNames: ["reason"] as const,
    registers: [registry],
  });
  const refused = new Counter({
    name: "dlt_collector_requests_refused_total",
    help: "Requests answered with an error, by status and reason.",
    labelNames: ["status", "reason"] as const,
    registers: [registry],
  });
  const requests = new Histogram({
    name: "dlt_collector_request_duration_seconds",
    help: "Time from a request's arrival to its answer, by kind of route.",
    labelNames: ["route"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const commits = new Histogram({
    name: "dlt_collector_store_commit_duration_seconds",
    help: "Time of one group commit to the store, by outcome.",
    labelNames: ["outcome"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const gauge = (name: string, help: string, read: () => number): Gauge =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  gauge("dlt_collector_commit_queue_events", "Events waiting for a group commit.", gauges.queuedEvents);
  gauge("dlt_collector_open_connections", "Open client connections (under the cap).", gauges.openConnections);
  gauge("dlt_collector_inflight_bytes", "Request body bytes held now, all requests together.", gauges.inflightBytes);
  gauge("dlt_collector_store_up", "1 while the store takes writes, 0 while they fail.", gauges.storeUp);
  return {
    registry,
    metrics: {
      accepted: (n) => accepted.inc(n),
      planRefused: (reason, n) => planRefused.inc({ reason }, n),
      refused: (status, text) => refused.inc({ status: String(status), reason: refusalReason(text) }),
      request: (route, seconds) => requests.observe({ route }, seconds),
      commit: (seconds, ok) => commits.observe({ outcome: ok ? "ok" : "failed" }, seconds),
    },
  };
}

/** The metrics listener: `GET /metrics` and nothing else. */
export interface MetricsServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `read()`'s text at `/metrics` on host:port. */
export async function serveMetrics(host: string, port: number, read: () => Promise<{ text: string; contentType: string }>): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://metrics").pathname;
    if (path !== "/metrics")
      return void res
        .writeHead(404, { "content-type": "application/json" })
        .end(JSON.stringify({ error: `no route ${path}: metrics are at /metrics` }));
    if (req.method !== "GET" && req.method !== "HEAD")
      return void res.writeHead(405, { allow: "GET", "content-type": "application/json" }).end(JSON.stringify({ error: "use GET for /metrics" }));
    read().then(
      ({ text, contentType }) => void res.writeHead(200, { "content-type": contentType, "cache-control": "no-store" }).end(text),
      () => void res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: "metrics could not be collected" })),
    );
  });
  server.keepAliveTimeout = 5000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shown = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shown}:${addr.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** In a `--workers` worker: its registry answers the primary's aggregator. */
export function shareWithPrimary(registry: Registry): void {
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one is what makes prom-client answer the primary's requests in this worker.
  new AggregatorRegistry();
}

/** In the `--workers` primary: the sum of every worker's metrics. */
export function clusterMetrics(): () => Promise<{ text: string; contentType: string }> {
  const aggregator = new AggregatorRegistry();
  return async () => ({ text: await aggregator.clusterMetrics(), contentType: aggregator.contentType });
}
