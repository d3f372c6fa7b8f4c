/**
 * The ClickHouse store, through the official client `@clickhouse/client`, on one code path for two transports:
 *
 * - `clickhouse://user:password@host:8123/database` (`clickhouses://` for TLS; `http(s)://…` too): a ClickHouse
 *   server over HTTP, shared by any number of collectors (`--workers`, many machines);
 * - `chdb:DIR`: ClickHouse in the collector's own process (chDB, npm `chdb`, an optional peer dependency), its
 *   `chdb/connection` plugged into the same client with `createClient({ connection })`; one process per directory.
 *
 * Schema in `clickhouse-schema.ts`. A group of stamped messages is written as its NDJSON lines into `events_input`,
 * whose materialized view extracts the typed columns into `events` inside the insert (JavaScript builds no rows).
 *
 * Durability: inserts are synchronous (`async_insert = 0`, and over HTTP `wait_end_of_query = 1`, so an error is an
 * error status, not a truncated 200), and the table fsyncs each part and its directory before the insert returns: the
 * collector answers 200 only after ClickHouse has the rows on disk.
 *
 * Dedup, exact: before an insert the group's ids are looked up in `events` (through the `by_id` projection, a primary
 * key read of the id column) and only the ids not stored go in; a collector's inserts take turns, so two groups of
 * one collector cannot both miss an id. `ReplacingMergeTree` would deduplicate only eventually (and never across the
 * day partitions a replay lands in), insert dedup tokens only whole identical blocks. Not covered: two collectors
 * storing one id in the same instant (a client that retries after a timeout while its first request is still being
 * committed elsewhere) — each may find it absent; a window of one commit, named in DESIGN.md.
 */
import { Readable } from "node:stream";
import { resolve } from "node:path";
import { mkdirSync } from "node:fs";
import { createClient, type ClickHouseClient, type ClickHouseSettings } from "@clickhouse/client";
import type { Cell, DashboardApi, Filter, Rows } from "../dashboard/apis.js";
import type { StoredMessage } from "../stamp.js";
import { CLICKHOUSE_DASHBOARD } from "./clickhouse-dashboard.js";
import {
  CLICKHOUSE_ROLLUP,
  CLICKHOUSE_ROLLUP_SQL,
  CREATE_ROLLUP_STATE,
  CREATE_ROLLUP_TABLES,
  CREATE_ROLLUP_VIEWS,
  finished,
  ROLLUP_STATE,
  selectFor,
} from "./clickhouse-rollup.js";
import { CLICKHOUSE_SCHEMA_VERSION, MAX_MS, MIN_MS, MODIFY_EXTRACT, partitionId, SCHEMA } from "./clickhouse-schema.js";
import { DAY_MS, namesOf, ROLLUP_TABLES } from "./rollup.js";
import {
  randomPad,
  retentionCutoff,
  type DashboardSource,
  type EventStore,
  type Housekeeping,
  type OpenProgress,
  type RefusedCount,
} from "./types.js";

/** Whether `db` names a ClickHouse store: a `clickhouse(s)://` or `http(s)://` URL, or `chdb:DIR`. */
export const isClickHouseDb = (db: string): boolean => /^(clickhouses?|https?):\/\//i.test(db) || isChdb(db);

/** Whether `db` is the embedded store, `chdb:DIR`. */
export const isChdb = (db: string): boolean => /^chdb:/i.test(db);

/**
 * `chdb:DIR`, or `chdb:DIR?database=NAME` for a database of its own in that directory (chDB binds one directory per
 * process; databases let several stores of one process, tests' above all, share it).
 */
export function parseChdb(db: string): { dir: string; database: string | undefined } {
  const rest = db.slice("chdb:".length);
  const q = rest.indexOf("?");
  const dir = resolve((q < 0 ? rest : rest.slice(0, q)) || ".");
  if (q < 0) return { dir, database: undefined };
  const params = new URLSearchParams(rest.slice(q + 1));
  const database = params.get("database") ?? undefined;
  const unknown = [...params.keys()].filter((k) => k !== "database");
  if (unknown.length > 0) throw new Error(`${db}: unknown parameter ${unknown[0]} (chdb:DIR?database=NAME)`);
  if (database !== undefined && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(database))
    throw new Error(`${db}: database must be letters, digits and _, got ${JSON.stringify(database)}`);
  return { dir, database };
}

/** The npm package `chdb:` needs, named in the error when it is not installed. */
export const CHDB_PACKAGE = "chdb";

/** How to open the store. */
export interface ClickHouseOptions {
  /** How long a request may take (HTTP only; default 30 s). */
  readonly requestTimeoutMs?: number;
  /** The module chDB's connection is imported from (default `chdb/connection`; tests name a missing one). */
  readonly chdbModule?: string;
  /** Told how far the aggregates of a store made before them are built (see `backfill`). */
  readonly progress?: OpenProgress;
}

/** The URL as an operator may see it: without its password. */
export function redactClickHouse(db: string): string {
  if (isChdb(db)) return db;
  try {
    const u = new URL(db);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "a ClickHouse server (unparsable URL)";
  }
}

/** The part of chDB's connection the store needs beside what it hands the client. */
interface ChdbModule {
  createChdbConnection(opts: { path: string }): unknown;
}

/** chDB's root module: `drainPending` waits until a closed session is really gone (one data dir per process). */
interface ChdbRoot {
  drainPending?(): Promise<void>;
}

async function embeddedClient(dir: string, moduleName: string): Promise<{ client: ClickHouseClient; drain: () => Promise<void> }> {
  let mod: ChdbModule;
  try {
    mod = (await import(moduleName)) as ChdbModule;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
      throw new Error(`chdb:${dir} needs the npm package "${CHDB_PACKAGE}" (embedded ClickHouse, ~550 MB): npm install ${CHDB_PACKAGE}`);
    }
    throw e;
  }
  const root = (await import(CHDB_PACKAGE).catch(() => ({}))) as ChdbRoot;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const connection = mod.createChdbConnection({ path: dir });
  // The client's hook takes any Connection of @clickhouse/client-common, which chDB's implements.
  const client = createClient({ connection } as unknown as Parameters<typeof createClient>[0]);
  return { client, drain: async () => void (await root.drainPending?.()) };
}

function serverClient(url: string, options: ClickHouseOptions): ClickHouseClient {
  const u = new URL(url);
  const tls = /^(clickhouses|https):$/i.test(u.protocol);
  const port = u.port || (tls ? "8443" : "8123");
  const database = decodeURIComponent(u.pathname.replace(/^\/+|\/+$/g, "")) || "default";
  // Synchronous inserts that report an error as an error (not in the middle of a 200's body).
  const settings: ClickHouseSettings = { async_insert: 0, wait_end_of_query: 1 };
  return createClient({
    url: `${tls ? "https" : "http"}://${u.hostname.includes(":") ? `[${u.hostname.replace(/^\[|\]$/g, "")}]` : u.hostname}:${port}`,
    username: decodeURIComponent(u.username) || "default",
    password: decodeURIComponent(u.password),
    database,
    request_timeout: options.requestTimeoutMs ?? 30_000,
    clickhouse_settings: settings,
    application: "dlt-collector",
  });
}

/** Rows of `JSONCompactEachRowWithNamesAndTypes` as objects; 64-bit integers and decimals as numbers. */
function rowsOf(data: unknown[][]): Record<string, Cell>[] {
  const [names, types, ...rows] = data as [string[], string[], ...Cell[][]];
  const numeric = (types ?? []).map((t) => /^(Nullable\(|LowCardinality\()*(U?Int|Float|Decimal)/.test(t));
  return rows.map((row) => {
    const out: Record<string, Cell> = {};
    row.forEach((v, i) => {
      out[names[i]!] = numeric[i] && typeof v === "string" ? Number(v) : v;
    });
    return out;
  });
}

/** A ClickHouse parameter's type for a value of `query`. */
const paramType = (v: string | number | boolean | null): string =>
  v === null ? "Nullable(String)" : typeof v === "boolean" ? "Bool" : typeof v === "number" ? (Number.isInteger(v) ? "Int64" : "Float64") : "String";

/**
 * ClickHouse names the part an insert was writing (`tmp_insert_20261204_7_7_0`), a new name for every insert: without
 * it one cause (a full disk) is one cause, logged once, not once per request (see `health.ts`).
 */
function stableCause(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  const message = e.message.replace(/\b(tmp_insert_)?([0-9]{6,8}|all)_\d+_\d+_\d+(_\d+)?\b/g, "<part>");
  if (message === e.message) return e;
  const out = new Error(message, { cause: e });
  out.name = e.name;
  return out;
}

/** The most ids one lookup names (over HTTP they travel in the URL). */
const LOOKUP_IDS = 2_000;

export class ClickHouseStore implements EventStore {
  private turn: Promise<unknown> = Promise.resolve();
  /** Raw events are kept from here (epoch ms; `--raw-days`), or all of them. */
  private rawFrom: number | undefined;

  private constructor(
    private readonly client: ClickHouseClient,
    readonly location: string,
    private readonly drain: () => Promise<void>,
  ) {}

  /** Opens the store `db` names (a URL, or `chdb:DIR`) and creates or migrates its schema. */
  static async open(db: string, options: ClickHouseOptions = {}): Promise<ClickHouseStore> {
    const embedded = isChdb(db) ? parseChdb(db) : undefined;
    const { client, drain } = embedded
      ? await embeddedClient(embedded.dir, options.chdbModule ?? "chdb/connection")
      : { client: serverClient(db, options), drain: () => Promise.resolve() };
    const store = new ClickHouseStore(client, redactClickHouse(db), drain);
    try {
      if (embedded?.database) {
        // chDB's connections keep their own current database (`USE`): several stores can share one directory.
        await client.command({ query: `CREATE DATABASE IF NOT EXISTS \`${embedded.database}\`` });
        await client.command({ query: `USE \`${embedded.database}\`` });
      }
      await store.migrate();
      await store.backfill(options.progress);
    } catch (e) {
      await client.close().catch(() => undefined);
      await drain().catch(() => undefined);
      throw e;
    }
    return store;
  }

  /**
   * Creates what is missing (every statement is idempotent, so several collectors may run it at once) and replaces
   * the extraction's query unless a newer collector recorded a newer schema.
   */
  private async migrate(): Promise<void> {
    for (const sql of SCHEMA) {
      try {
        await this.client.command({ query: sql });
      } catch (e) {
        // Two collectors creating one table at once: the second's IF NOT EXISTS can still see it appear.
        if (!/already exists/i.test(String((e as Error).message))) throw e;
      }
    }
    const recorded = Number((await this.rows("SELECT max(version) AS v FROM _dlt_collector_schema"))[0]?.["v"] ?? 0);
    if (recorded <= CLICKHOUSE_SCHEMA_VERSION) {
      if (recorded > 0) await this.client.command({ query: MODIFY_EXTRACT });
      if (recorded < CLICKHOUSE_SCHEMA_VERSION)
        await this.client.command({ query: `INSERT INTO _dlt_collector_schema (version) VALUES (${CLICKHOUSE_SCHEMA_VERSION})` });
    }
  }

  /**
   * The aggregates (`clickhouse-rollup.ts`), and those of the events stored before them. `_dlt_collector_rollup`
   * records when the views were made (every event inserted since is aggregated by them) and, per table, how far the
   * older events have been added: one UTC day of `received_at` per `INSERT … SELECT` (one part, so bounded memory and
   * a day is added whole or not at all), then its mark, so a killed backfill resumes at its last day. Not covered: a
   * kill between a day's part and its mark adds that day to that table twice (a window of one statement), and
   * collectors of one server started together on an older store each backfill it (start one first).
   */
  private async backfill(progress: OpenProgress | undefined): Promise<void> {
    for (const ddl of [...CREATE_ROLLUP_TABLES, CREATE_ROLLUP_STATE]) await this.command(ddl);
    const state = async (): Promise<Map<string, number>> =>
      new Map(
        (await this.rows(`SELECT kind, toUnixTimestamp64Micro(max(at)) AS at FROM ${ROLLUP_STATE} GROUP BY kind`)).map((r) => [
          String(r["kind"]),
          Number(r["at"]),
        ]),
      );
    const at = (us: number): string => `fromUnixTimestamp64Micro(toInt64(${us}), 'UTC')`;
    const oldest = async (from: number, to: number): Promise<number | undefined> => {
      const t = (
        await this.rows(
          `SELECT toUnixTimestamp64Micro(minOrNull(received_at)) AS t FROM events WHERE received_at >= ${at(from)} AND received_at < ${at(to)}`,
        )
      )[0]?.["t"];
      return t === null || t === undefined ? undefined : Number(t);
    };
    if (!(await state()).has("created")) {
      // Where the older events start (all of them are older: the views do not exist yet), then the views.
      const now = Date.now() * 1000;
      const start = (await oldest(MIN_MS * 1000, MAX_MS * 1000)) ?? now;
      const values = ROLLUP_TABLES.map((t) => `('${t}', ${at(start)})`).join(", ");
      await this.command(`INSERT INTO ${ROLLUP_STATE} VALUES ('created', ${at(now)}), ${values}`);
    }
    for (const ddl of CREATE_ROLLUP_VIEWS) await this.command(ddl);
    const marks = await state();
    const createdAt = marks.get("created")!;
    const count = async (from: number, to: number): Promise<number> =>
      Number((await this.rows(`SELECT count() AS n FROM events WHERE received_at >= ${at(from)} AND received_at < ${at(to)}`))[0]?.["n"] ?? 0);
    const from = Math.min(...ROLLUP_TABLES.map((t) => marks.get(t) ?? createdAt));
    if (from >= createdAt) return;
    const total = await count(from, createdAt);
    let done = 0;
    const DAY_US = DAY_MS * 1000;
    for (let start = from; start < createdAt; ) {
      const first = (await oldest(start, createdAt)) ?? createdAt;
      const end = Math.min(createdAt, Math.floor(first / DAY_US) * DAY_US + DAY_US);
      for (const table of ROLLUP_TABLES) {
        if ((marks.get(table) ?? createdAt) >= end) continue;
        const chunk = `(SELECT * FROM events WHERE received_at >= ${at(Math.max(start, marks.get(table)!))} AND received_at < ${at(end)}) AS e`;
        await this.command(`INSERT INTO ${table} (${namesOf(CLICKHOUSE_ROLLUP, table)}) ${selectFor(table, chunk)}`);
        await this.command(`INSERT INTO ${ROLLUP_STATE} VALUES ('${table}', ${at(end)})`);
      }
      if (first < createdAt) done += await count(start, end);
      start = end;
      progress?.(done, total);
    }
  }

  private async command(sql: string): Promise<void> {
    try {
      await this.client.command({ query: sql });
    } catch (e) {
      // Two collectors creating one table at once: the second's IF NOT EXISTS can still see it appear.
      if (!/already exists/i.test(String((e as Error).message))) throw e;
    }
  }

  private async rows(sql: string, params: Record<string, unknown> = {}): Promise<Record<string, Cell>[]> {
    const r = await this.client.query({ query: sql, format: "JSONCompactEachRowWithNamesAndTypes", query_params: params });
    return rowsOf(await r.json<unknown[]>());
  }

  /** One insert at a time: the dedup lookup and the insert of a group must not interleave with another's. */
  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const run = this.turn.then(work);
    this.turn = run.catch(() => undefined);
    return run;
  }

  /**
   * The group, then the plan's refused counts. ClickHouse has no transaction across two tables: when the counts fail
   * after the events went in, the group is answered 503 and its retry (deduplicated) adds the counts again.
   */
  insert(messages: readonly StoredMessage[], refused: readonly RefusedCount[] = []): Promise<number> {
    if (messages.length === 0 && refused.length === 0) return Promise.resolve(0);
    return this.inTurn(async () => {
      const n = await this.insertNew(messages);
      if (refused.length > 0) await this.insertRefused(refused);
      return n;
    });
  }

  private async insertRefused(refused: readonly RefusedCount[]): Promise<void> {
    await this.client.insert({
      table: "refused",
      values: refused.map((r) => ({ day: r.day, reason: r.reason, event: r.event, n: r.n })),
      format: "JSONEachRow",
    });
  }

  /** Copies refused counts of another store (`migrate`): each key's count becomes the larger of the two. */
  copyRefused(refused: readonly RefusedCount[]): Promise<void> {
    if (refused.length === 0) return Promise.resolve();
    return this.inTurn(async () => {
      const have = new Map<string, number>();
      for (const r of await this.rows("SELECT day, reason, event, sum(n) AS n FROM refused GROUP BY day, reason, event")) {
        have.set(JSON.stringify([r["day"], r["reason"], r["event"]]), Number(r["n"]));
      }
      const more = refused.map((r) => ({ ...r, n: r.n - (have.get(JSON.stringify([r.day, r.reason, r.event])) ?? 0) })).filter((r) => r.n > 0);
      if (more.length > 0) await this.insertRefused(more);
    });
  }

  private insertNew(messages: readonly StoredMessage[]): Promise<number> {
    if (messages.length === 0) return Promise.resolve(0);
    return (async () => {
      // The first of duplicates within one group wins; ids already stored are dropped.
      const byId = new Map<string, string>();
      for (const m of messages) if (!byId.has(m.messageId)) byId.set(m.messageId, m.json);
      const ids = [...byId.keys()];
      for (let i = 0; i < ids.length; i += LOOKUP_IDS) {
        const stored = await this.rows("SELECT message_id FROM events WHERE message_id IN {ids:Array(String)}", {
          ids: ids.slice(i, i + LOOKUP_IDS),
        });
        for (const r of stored) byId.delete(String(r["message_id"]));
      }
      if (byId.size === 0) return 0;
      await this.insertLines([...byId.values()].join("\n") + "\n");
      return byId.size;
    })();
  }

  /** Inserts NDJSON lines of stamped messages as they are (no dedup: `insert` and `migrate` look ids up first). */
  private async insertLines(ndjson: string): Promise<void> {
    try {
      await this.client.insert({
        table: "events_input",
        values: Readable.from([Buffer.from(ndjson)], { objectMode: false }),
        format: "TabSeparatedRaw",
      });
    } catch (e) {
      throw stableCause(e);
    }
  }

  /**
   * Inserts NDJSON lines of stamped messages (`migrate`), skipping the ids already stored; returns how many were new.
   */
  insertNdjson(lines: readonly string[]): Promise<number> {
    const messages = lines.map((json) => ({ json, messageId: String((JSON.parse(json) as { messageId?: unknown }).messageId ?? "") }));
    return this.insert(messages);
  }

  /**
   * The insert path itself, leaving nothing behind: a probe message received on 1970-01-01 goes through the extraction
   * into `events` (a part written to the table's own disk, with its projection and fsyncs), then its day's partition
   * is dropped. ClickHouse has no rollback; no live event is ever received that day. Then one committed write.
   */
  async probe(padBytes = 0): Promise<void> {
    const at = new Date(0).toISOString();
    const line = JSON.stringify({
      type: "track",
      messageId: "dlt-collector-probe",
      event: "probe",
      anonymousId: "probe",
      timestamp: at,
      receivedAt: at,
      ...(padBytes > 0 ? { properties: { pad: randomPad(padBytes) } } : {}),
    });
    await this.inTurn(async () => {
      await this.insertLines(line + "\n");
      await this.client.command({ query: `ALTER TABLE events DROP PARTITION ID '${partitionId(0)}'` });
    });
    await this.client.command({ query: "INSERT INTO _dlt_collector_probe VALUES (1, now64(6))" });
  }

  async dashboard(api: DashboardApi, filter: Filter, source: DashboardSource = "aggregates"): Promise<Rows> {
    const q =
      api === "events" || api === "refused" || source === "events"
        ? CLICKHOUSE_DASHBOARD[api](filter)
        : CLICKHOUSE_ROLLUP_SQL[api](filter, this.rawFrom);
    return finished(q, await this.rows(q.sql, Object.fromEntries(q.params.map((v, i) => [`p${i + 1}`, String(v)]))));
  }

  /** Nothing to do: the engine merges the aggregates' parts (every read groups them meanwhile). */
  compact(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Drops the day partitions of `events` past the retention (whole UTC days, as PostgreSQL drops its partitions) and
   * deletes the aggregates' buckets before it; with `rawDays`, drops the partitions received before that (shorter)
   * cutoff too, the aggregates staying. Nothing to merge: the engine merges the aggregates.
   */
  async housekeep(retainDays: number | undefined, now = Date.now(), rawDays?: number): Promise<Housekeeping> {
    const cutoff = retainDays === undefined ? undefined : retentionCutoff(retainDays, now);
    const rawCutoff = rawDays === undefined ? undefined : Math.max(retentionCutoff(rawDays, now), cutoff ?? -Infinity);
    const removed = cutoff === undefined ? 0 : await this.dropBefore(cutoff);
    if (cutoff !== undefined) {
      const before = `fromUnixTimestamp64Milli(toInt64(${Math.max(cutoff, MIN_MS)}), 'UTC')`;
      for (const table of ROLLUP_TABLES) await this.client.command({ query: `DELETE FROM ${table} WHERE bucket_start < ${before}` });
      await this.client.command({ query: `DELETE FROM refused WHERE day < ${cutoff}` });
    }
    const rawRemoved = rawCutoff === undefined ? 0 : await this.dropBefore(rawCutoff);
    // Edges of a range before this come from the aggregates: a day's margin for events whose `timestamp` (the
    // client's, corrected) is later than the day they were received in.
    this.rawFrom = rawCutoff === undefined ? undefined : rawCutoff + DAY_MS;
    return rawDays === undefined ? { removed, cutoff } : { removed, cutoff, rawRemoved, rawCutoff };
  }

  /** Drops the partitions of `events` received before `cutoff` (a UTC day's start); returns how many rows they held. */
  private async dropBefore(cutoff: number): Promise<number> {
    const parts = await this.rows(
      `SELECT partition_id AS id, sum(rows) AS n FROM system.parts
       WHERE database = currentDatabase() AND table = 'events' AND active AND partition_id < {cut:String} GROUP BY id ORDER BY id`,
      { cut: partitionId(cutoff) },
    );
    let removed = 0;
    for (const p of parts) {
      // Another collector may have dropped it meanwhile: dropping a partition that is gone is not an error.
      const id = String(p["id"]);
      if (!/^\d{8}$/.test(id)) continue;
      await this.client.command({ query: `ALTER TABLE events DROP PARTITION ID '${id}'` });
      removed += Number(p["n"]);
    }
    return removed;
  }

  async query(sql: string, params: readonly (string | number | boolean | null)[] = []): Promise<Record<string, Cell>[]> {
    let n = 0;
    const named: Record<string, unknown> = {};
    const text = sql.replace(/'(?:[^'\\]|\\.|'')*'|"(?:[^"]|"")*"|\?/g, (m) => {
      if (m !== "?") return m;
      const v = params[n]!;
      named[`q${++n}`] = v;
      return `{q${n}:${paramType(v)}}`;
    });
    return this.rows(text, named);
  }

  async close(): Promise<void> {
    await this.turn;
    await this.client.close();
    await this.drain();
  }
}
