/**
 * The PostgreSQL store: for more than one machine. Any number of collectors (and `--workers` processes) share one
 * database; no state lives in a collector that another would need. Its schema is in `postgres-schema.ts`.
 *
 * A group of stamped messages is one statement, so one transaction: the messages go as one text parameter (NDJSON,
 * the same lines the DuckDB store writes to its scratch file), PostgreSQL splits and parses them (`jsonb`), records
 * their ids in `event_ids` and inserts the events whose ids were new, extracting the typed columns itself — the
 * JavaScript side builds no rows. Measured against `COPY` into a staging table and multi-row `VALUES`
 * (`bench/postgres-write.mjs`, figures in `bench/RESULTS.md`).
 *
 * Failure: the pool's connect timeout and the server's `statement_timeout` bound a write, so a database that is down
 * or stalled fails the group (the collector answers 503 + Retry-After and `/health` says why) instead of holding
 * requests; the pool opens new connections when the database is back, so the collector recovers without a restart.
 */
import pg from "pg";
import type { Cell, DashboardApi, Filter, Rows } from "../dashboard/apis.js";
import type { StoredMessage } from "../stamp.js";
import { COLUMNS, upsertRefused, valueIn } from "./columns.js";
import { POSTGRES_DASHBOARD } from "./postgres-dashboard.js";
import {
  createPartition,
  DEDUP_DAYS,
  MIGRATIONS,
  partitionDay,
  POSTGRES_KINDS,
  POSTGRES_ROLLUP,
  ROLLUP_STATE,
  SCHEMA_LOCK,
} from "./postgres-schema.js";
import { insertRollups, merged, namesOf, ROLLUP_TABLES } from "./rollup.js";
import { DEFAULT_ROLL_UP, PENDING_NAMES, PENDING_TABLE, RollUpTrigger, type RollUpPolicy } from "./rollup-pending.js";
import { rollupSql, type RollupQuery } from "./rollup-dashboard.js";
import {
  randomPad,
  retentionCutoff,
  type DashboardSource,
  type EventStore,
  type Housekeeping,
  type OpenProgress,
  type RefusedCount,
} from "./types.js";

const DAY_MS = 86_400_000;
/** Partitions made per transaction (see `ensurePartitionDays`). */
const PARTITIONS_PER_TRANSACTION = 20;

/** Whether `db` names a PostgreSQL database (a URL) rather than a DuckDB file. */
export const isPostgresUrl = (db: string): boolean => /^postgres(ql)?:\/\//i.test(db);

/** The URL as an operator may see it: without its password. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "a PostgreSQL database (unparsable URL)";
  }
}

/** How to open the store. */
export interface PostgresOptions {
  /** Connections in the pool (default 4: the dashboard takes at most all but one, so a commit always finds one). */
  readonly poolSize?: number;
  /** How long a write or query may run before it fails (default 10 s). */
  readonly statementTimeoutMs?: number;
  /**
   * How long a dashboard query may run (default 60 s): an all-time view scans every stored event (2.6 s on a million,
   * bench/RESULTS.md), so a write's 10 s would fail the dashboard of a few million events.
   */
  readonly dashboardTimeoutMs?: number;
  /** How long to wait for a connection (default 5 s). */
  readonly connectTimeoutMs?: number;
  /** Days of partitions created ahead of today (default 3). */
  readonly daysAhead?: number;
  /** When the pending events are added to the aggregates (default: 20,000 of this collector's, or 1 s after the first). */
  readonly rollUp?: RollUpPolicy;
}

// The stored columns and their values from `j`, the message as jsonb (see POSTGRES_KINDS).
const NAMES = COLUMNS.map((c) => `"${c.name}"`).join(", ");
const VALUES = COLUMNS.map((c) => valueIn(POSTGRES_KINDS, c)).join(", ");

/**
 * The insert of a group, from the rows of `source` (`x`: one message's JSON text). One statement: the dedup ids and
 * the events commit together. Shared by the live path and `migrate` (a replay of a stored id, or an event that is
 * already there with the same `received_at`, is skipped). Measured shape (`bench/postgres-write.mjs`): only the text
 * and the id are materialized (a CTE of 1,000 parsed `jsonb` values cost 30 ms of a 110 ms statement); each new
 * message is parsed once more for its columns, behind `OFFSET 0` so that the ~40 references to `j` share one parse
 * (without the fence the planner inlines `x::jsonb` into each of them). `event_ids.received_at` is when this
 * database first stored the id: the dedup window runs from there. The new events' columns the aggregates read go to
 * `rollup_pending` in the same statement (`rollup-pending.ts`: no `GROUP BY` here; the roll-up adds them later).
 */
export const insertFrom = (source: string): string => `
  WITH batch AS MATERIALIZED (
    SELECT x, (x::json) ->> 'messageId' AS id FROM ${source}
  ), fresh AS (
    INSERT INTO event_ids (message_id, received_at) SELECT id, now() FROM batch ORDER BY id
    ON CONFLICT (message_id) DO NOTHING RETURNING message_id
  ), new AS (
    INSERT INTO events (${NAMES})
    SELECT ${VALUES} FROM (SELECT x::jsonb AS j FROM batch JOIN fresh ON fresh.message_id = batch.id OFFSET 0) AS m
    ON CONFLICT DO NOTHING
    RETURNING ${PENDING_NAMES}
  ), pending AS (
    INSERT INTO ${PENDING_TABLE} (${PENDING_NAMES}) SELECT ${PENDING_NAMES} FROM new
  )
  SELECT count(*) AS n FROM new`;

/**
 * The roll-up, one statement: takes the pending rows (`DELETE … RETURNING` sees only committed ones, so a concurrent
 * commit is taken whole or left for the next roll-up) and adds them to the four aggregate tables.
 */
const ROLL_UP = `WITH taken AS (DELETE FROM ${PENDING_TABLE} RETURNING *), ${insertRollups(POSTGRES_ROLLUP, "taken")
  .map((sql, i) => `rolled${i} AS (${sql})`)
  .join(", ")}
  SELECT count(*) AS n FROM taken`;

/**
 * The dashboard from the aggregates, in PostgreSQL's dialect (as `postgres-dashboard.ts` writes the raw queries).
 */
const POSTGRES_ROLLUP_SQL = rollupSql({
  ...POSTGRES_ROLLUP,
  placeholder: (n) => `$${n}`,
  time: (p) => `to_timestamp(${p}::float8 / 1000)`,
  epochMs: (e) => `floor(extract(epoch FROM ${e}) * 1000)::bigint`,
  collate: `COLLATE "C"`,
  nullsLast: "NULLS LAST",
  unnestList: (e) => `unnest(string_to_array(${e}, ','))`,
  ratio: (a, b) => `round((${a})::numeric / nullif(${b}, 0), 4)`,
  minMs: -210_866_803_200_000,
  pending: () => PENDING_TABLE,
});

/** The advisory lock of compacting and rolling up the aggregates (one collector at a time; the others skip). */
const ROLLUP_LOCK = 0x646c742d726f6c6cn;

/** A roll-up in this many merges the aggregates' rows of the hours around now (see `compact`): about a minute of traffic. */
const COMPACT_EVERY = 50;

/** The live path's insert: the group as one NDJSON text parameter (JSON text never holds a raw newline). */
const INSERT = insertFrom(`unnest(string_to_array($1::text, E'\\n')) AS lines(x)`);

/** The refused counts of a group, as four arrays (one row per index). */
const REFUSED_ROWS = "SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[])";
const UPSERT_REFUSED = upsertRefused(REFUSED_ROWS);
/** The refused counts of another store, copied: a second copy changes nothing. */
const COPY_REFUSED = upsertRefused(REFUSED_ROWS, "max");
const countArrays = (refused: readonly RefusedCount[]): unknown[] => [
  refused.map((r) => r.day),
  refused.map((r) => r.reason),
  refused.map((r) => r.event),
  refused.map((r) => r.n),
];

/** The probe's message (received now, so into today's partition): inserted through the real insert path, then rolled back. */
const probeLine = (padBytes: number): string => {
  const now = new Date().toISOString();
  return JSON.stringify({
    type: "track",
    messageId: "dlt-collector-probe",
    event: "probe",
    anonymousId: "probe",
    timestamp: now,
    receivedAt: now,
    ...(padBytes > 0 ? { properties: { pad: randomPad(padBytes) } } : {}),
  });
};

/**
 * PostgreSQL's `jsonb` refuses the escape `\u0000` (its text type cannot hold NUL), which JSON and DuckDB allow: it
 * becomes U+FFFD, as lone surrogates do (stamp.ts), so such a message is stored rather than failing its group.
 */
export const withoutNul = (json: string): string => (json.includes("\\u0000") ? json.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, "$1\\ufffd") : json);

/**
 * `?` placeholders (outside quotes) as PostgreSQL's `$n`, so tools and tests can query either store alike (so
 * `jsonb`'s own `?` operators cannot be written in `query`: use `jsonb_exists()`).
 */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|\?/g, (m) => (m === "?" ? `$${++n}` : m));
}

/**
 * `sslmode=require`, `prefer` and `verify-ca` as node-postgres 8 reads them (verify-full: the certificate and the host
 * are checked), said as `verify-full`: pg would print a seven-line warning about its next major version before any
 * error of ours. Unchanged with `uselibpqcompat=true` (libpq's meanings, asked for).
 */
export function verifiedSslMode(url: string): string {
  try {
    const u = new URL(url);
    const mode = u.searchParams.get("sslmode");
    if (u.searchParams.get("uselibpqcompat") === "true" || (mode !== "require" && mode !== "prefer" && mode !== "verify-ca")) return url;
    u.searchParams.set("sslmode", "verify-full");
    return u.toString();
  } catch {
    return url;
  }
}

/** "no partition of relation found for row": a group holds a day no partition was made for yet. */
/** The oldest server the SQL runs on: the dashboard's `split_part(…, -1)` (the last part) came with PostgreSQL 14. */
export const MIN_SERVER_VERSION_NUM = 140_000;

/** Why this server cannot hold the collector's events, or undefined when it can. */
export function serverVersionProblem(versionNum: number, version: string): string | undefined {
  if (Number.isFinite(versionNum) && versionNum >= MIN_SERVER_VERSION_NUM) return undefined;
  return `PostgreSQL ${version} is too old: the collector needs PostgreSQL 14 or newer`;
}

const isMissingPartition = (e: unknown): boolean => (e as { code?: string })?.code === "23514" && /no partition/i.test(String((e as Error).message));

// Numbers as numbers: counts (int8) and rounded rates (numeric) are JavaScript numbers, as the DuckDB store gives them.
const TYPES = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === 20 || oid === 1700) return (s: string) => Number(s);
    return pg.types.getTypeParser(oid, format as "text");
  },
} as unknown as pg.CustomTypesConfig;

/** At most `size` tasks at once; the others wait their turn, in order, for as long as it takes. */
class Turns {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly size: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running < this.size) this.running++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      // The turn passes to the next waiting task, or is given back.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

export class PostgresStore implements EventStore {
  /**
   * The dashboard's queries take at most all connections but one, and wait their turn here rather than in the pool:
   * the page asks for 20 APIs at once, each a scan that takes seconds on a million events, and in the pool they
   * would take every connection (a commit would wait behind them: slow 200s, then 503s) and the last ones would
   * fail after the pool's connect timeout (500s on the page).
   */
  private readonly reads: Turns;
  /** Roll-ups since this collector last compacted the aggregates. */
  private rollUps = 0;
  /** Raw events are kept from here (epoch ms; `--raw-days`), or all of them. */
  private rawFrom: number | undefined;
  /** When this collector rolls up the pending events: on a connection of its own, beside the commits. */
  private readonly trigger: RollUpTrigger;

  private constructor(
    private readonly pool: pg.Pool,
    readonly location: string,
    private readonly daysAhead: number,
    /** Days (epoch ms at their start) known to have a partition. */
    private readonly partitions: Set<number>,
    poolSize: number,
    private readonly dashboardTimeoutMs: number,
    rollUp: RollUpPolicy,
  ) {
    this.reads = new Turns(Math.max(1, poolSize - 1));
    this.trigger = new RollUpTrigger(() => this.rollUpOnce(false), rollUp);
  }

  /**
   * Connects, creates or migrates the schema (under an advisory lock: several collectors may start at once), and
   * creates the partitions of yesterday, today and `daysAhead` days ahead.
   */
  static async open(url: string, options: PostgresOptions & { readonly progress?: OpenProgress } = {}): Promise<PostgresStore> {
    const statementTimeout = options.statementTimeoutMs ?? 10_000;
    const pool = new pg.Pool({
      connectionString: verifiedSslMode(url),
      max: options.poolSize ?? 4,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      idleTimeoutMillis: 30_000,
      // UTC buckets for the dashboard; a server-side bound on every statement.
      // work_mem: the dashboard's sorts (percentiles, distinct counts) over a month of events stay in memory (the
      // default 4 MB spilled 15-37 MB per sort to disk at 1M events).
      options: `-c timezone=UTC -c statement_timeout=${statementTimeout} -c work_mem=32MB`,
      // A bound on the client side too: a server that stops answering (a stopped host) never answers the timeout.
      query_timeout: statementTimeout + 2_000,
      application_name: "dlt-collector",
      types: TYPES,
    });
    // An idle connection the server closes (a restart) emits 'error' on the pool: the pool drops it and opens another
    // on demand; without a listener the process would die.
    pool.on("error", () => undefined);
    const store = new PostgresStore(
      pool,
      redactUrl(url),
      options.daysAhead ?? 3,
      new Set(),
      options.poolSize ?? 4,
      options.dashboardTimeoutMs ?? 60_000,
      options.rollUp ?? DEFAULT_ROLL_UP,
    );
    try {
      await store.migrate();
      await store.ensurePartitions(Date.now() - DAY_MS, Date.now() + store.daysAhead * DAY_MS);
      await store.backfill(options.progress);
      // What a killed collector left pending (unless another collector is rolling up now).
      await store.rollUpOnce(false);
    } catch (e) {
      await store.trigger.stop();
      await pool.end().catch(() => undefined);
      throw e;
    }
    return store;
  }

  /** Runs the migrations this database lacks, one collector at a time (a transaction-scoped advisory lock). */
  private async migrate(): Promise<void> {
    await this.transaction(async (c) => {
      const version = await c.query<{ server_version_num: string; server_version: string }>(
        "SELECT current_setting('server_version_num') AS server_version_num, current_setting('server_version') AS server_version",
      );
      const problem = serverVersionProblem(Number(version.rows[0]?.server_version_num), version.rows[0]?.server_version ?? "?");
      if (problem) throw new Error(problem);
      await c.query("SELECT pg_advisory_xact_lock($1)", [SCHEMA_LOCK.toString()]);
      await c.query("CREATE TABLE IF NOT EXISTS _dlt_collector_schema (version integer NOT NULL)");
      const r = await c.query<{ version: number }>("SELECT version FROM _dlt_collector_schema");
      const done = r.rows[0]?.version ?? 0;
      for (let i = done; i < MIGRATIONS.length; i++) await c.query(MIGRATIONS[i]!);
      if (r.rows.length === 0) await c.query("INSERT INTO _dlt_collector_schema VALUES ($1)", [MIGRATIONS.length]);
      else if (done < MIGRATIONS.length) await c.query("UPDATE _dlt_collector_schema SET version = $1", [MIGRATIONS.length]);
    });
  }

  private async transaction<T>(work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    let broken: unknown;
    try {
      await c.query("BEGIN");
      const result = await work(c);
      await c.query("COMMIT");
      return result;
    } catch (e) {
      broken = e;
      await c.query("ROLLBACK").catch(() => undefined);
      throw e;
    } finally {
      // A connection whose query failed at the network level is not given back to the pool.
      c.release(broken !== undefined && !(broken as { code?: string }).code ? (broken as Error) : undefined);
    }
  }

  /** Creates the partitions of the UTC days from `from` to `to` (epoch ms) that are not known to exist. */
  async ensurePartitions(from: number, to: number): Promise<void> {
    const days: number[] = [];
    for (let d = Math.floor(from / DAY_MS) * DAY_MS; d <= to; d += DAY_MS) days.push(d);
    await this.ensurePartitionDays(days);
  }

  /**
   * Creates the partitions of these UTC days (epoch ms, any time in the day) that are not known to exist, a few per
   * transaction: the schema lock other collectors wait on at start is held for a moment each time, not for the run.
   */
  async ensurePartitionDays(days: readonly number[]): Promise<void> {
    const missing = [...new Set(days.map((d) => Math.floor(d / DAY_MS) * DAY_MS))].filter((d) => !this.partitions.has(d));
    for (let i = 0; i < missing.length; i += PARTITIONS_PER_TRANSACTION) {
      const round = missing.slice(i, i + PARTITIONS_PER_TRANSACTION);
      await this.transaction(async (c) => {
        // Serialized with other collectors: two concurrent CREATE … IF NOT EXISTS of one name can still collide.
        await c.query("SELECT pg_advisory_xact_lock($1)", [SCHEMA_LOCK.toString()]);
        for (const d of round) await c.query(createPartition(d));
      });
      for (const d of round) this.partitions.add(d);
    }
  }

  async insert(messages: readonly StoredMessage[], refused: readonly RefusedCount[] = []): Promise<number> {
    if (refused.length > 0) {
      // The group and the counts in one transaction: both are committed when the requests are answered.
      const lines = this.linesOf(messages);
      const counts = countArrays(refused);
      const both = (): Promise<number> =>
        this.transaction(async (c) => {
          const n = lines === "" ? 0 : Number((await c.query<{ n: number }>(INSERT, [lines])).rows[0]?.n ?? 0);
          await c.query(UPSERT_REFUSED, counts);
          return n;
        });
      let n: number;
      try {
        n = await both();
      } catch (e) {
        if (!isMissingPartition(e)) throw e;
        await this.ensurePartitionsOf(lines);
        n = await both();
      }
      this.trigger.added(n);
      return n;
    }
    if (messages.length === 0) return 0;
    return this.insertLines(this.linesOf(messages));
  }

  /** A group as NDJSON, the first of duplicates within it only (replays of stored ids are skipped by event_ids). */
  private linesOf(messages: readonly StoredMessage[]): string {
    // The first of duplicates within one group wins (replays of stored ids are skipped by event_ids).
    const seen = new Set<string>();
    const lines: string[] = [];
    for (const m of messages) {
      if (seen.has(m.messageId)) continue;
      seen.add(m.messageId);
      lines.push(withoutNul(m.json));
    }
    return lines.join("\n");
  }

  /** Copies refused counts of another store (`migrate`): each row's count is the larger of the two, so a rerun adds nothing. */
  async copyRefused(refused: readonly RefusedCount[]): Promise<void> {
    if (refused.length > 0) await this.pool.query(COPY_REFUSED, countArrays(refused));
  }

  /** Inserts NDJSON lines of stamped messages; a day without a partition (a clock past the days made ahead, or
   * `migrate` of old events) gets one, and the group is tried again. */
  async insertLines(ndjson: string): Promise<number> {
    const insert = async (): Promise<number> => Number((await this.pool.query<{ n: number }>(INSERT, [ndjson])).rows[0]?.n ?? 0);
    let n: number;
    try {
      n = await insert();
    } catch (e) {
      if (!isMissingPartition(e)) throw e;
      await this.ensurePartitionsOf(ndjson);
      n = await insert();
    }
    // The roll-up, when due, runs on another connection: this group's requests are answered meanwhile.
    this.trigger.added(n);
    return n;
  }

  /**
   * Creates the partitions of the days NDJSON lines of stamped messages were received: the days the lines hold, not
   * the range between them (an event of 1901 and one of 9999 are two partitions).
   */
  private async ensurePartitionsOf(ndjson: string): Promise<void> {
    const days = ndjson.split("\n").map((line) => Date.parse((JSON.parse(line) as { receivedAt?: string }).receivedAt ?? "") || Date.now());
    await this.ensurePartitionDays(days);
  }

  async probe(padBytes = 0): Promise<void> {
    await this.ensurePartitions(Date.now(), Date.now());
    const c = await this.pool.connect();
    let broken: unknown;
    try {
      // The insert path itself (parsing, extraction, dedup table, the partition), then rolled back.
      await c.query("BEGIN");
      try {
        await c.query(INSERT, [probeLine(padBytes)]);
      } finally {
        await c.query("ROLLBACK").catch((e: unknown) => (broken = e));
      }
      // A committed write: a database that is read-only (a standby, a full disk, revoked grants) fails here.
      await c.query("INSERT INTO _dlt_collector_probe VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET checked_at = now()");
    } catch (e) {
      broken ??= e;
      throw e;
    } finally {
      c.release(broken !== undefined && !(broken as { code?: string }).code ? (broken as Error) : undefined);
    }
  }

  /**
   * The aggregates of the events stored before them (migration 3 recorded when they were made, and where the events
   * start): one UTC day of `received_at` (a partition) per transaction, under an advisory lock, so several collectors
   * starting at once share the work and a killed backfill resumes where it stopped.
   */
  private async backfill(progress: OpenProgress | undefined): Promise<void> {
    const ms = (e: string): string => `floor(extract(epoch FROM ${e}) * 1000)::bigint`;
    const state = await this.pool.query<{ created: number; done: number }>(
      `SELECT ${ms("created_at")} AS created, ${ms("done_until")} AS done FROM ${ROLLUP_STATE}`,
    );
    const createdAt = Number(state.rows[0]?.created);
    if (!(Number(state.rows[0]?.done) < createdAt)) return;
    const total = Number(
      (
        await this.pool.query<{ n: number }>(
          `SELECT count(*) AS n FROM events WHERE received_at >= to_timestamp($1::float8 / 1000) AND received_at < to_timestamp($2::float8 / 1000)`,
          [state.rows[0]!.done, createdAt],
        )
      ).rows[0]?.n,
    );
    let done = 0;
    for (;;) {
      const step = await this.transaction(async (c) => {
        await c.query("SELECT pg_advisory_xact_lock($1)", [ROLLUP_LOCK.toString()]);
        const now = await c.query<{ done: number }>(`SELECT ${ms("done_until")} AS done FROM ${ROLLUP_STATE} FOR UPDATE`);
        const from = Number(now.rows[0]?.done);
        if (!(from < createdAt)) return undefined;
        const next = await c.query<{ at: number | null }>(
          `SELECT ${ms("min(received_at)")} AS at FROM events WHERE received_at >= to_timestamp($1::float8 / 1000) AND received_at < to_timestamp($2::float8 / 1000)`,
          [from, createdAt],
        );
        const start = next.rows[0]?.at === null || next.rows[0]?.at === undefined ? createdAt : Number(next.rows[0].at);
        const end = Math.min(createdAt, Math.floor(start / DAY_MS) * DAY_MS + DAY_MS);
        const chunk = `(SELECT * FROM events WHERE received_at >= to_timestamp(${from}::float8 / 1000) AND received_at < to_timestamp(${end}::float8 / 1000)) AS e`;
        await c.query("SET LOCAL statement_timeout = 0");
        for (const sql of insertRollups(POSTGRES_ROLLUP, chunk)) await c.query(sql);
        const k = await c.query<{ n: number }>(`SELECT count(*) AS n FROM ${chunk}`);
        await c.query(`UPDATE ${ROLLUP_STATE} SET done_until = to_timestamp($1::float8 / 1000)`, [end]);
        return Number(k.rows[0]?.n ?? 0);
      });
      if (step === undefined) break;
      done += step;
      progress?.(done, total);
    }
  }

  /**
   * Adds the pending events to the aggregates now (`rollup-pending.ts`), waiting for a roll-up another collector is
   * doing; each collector does it on its own when they are due, before housekeeping and at close.
   */
  async rollUp(): Promise<void> {
    await this.rollUpOnce(true);
  }

  /**
   * One roll-up in one transaction, under the advisory lock: `wait` waits for it, else a collector that finds it held
   * skips (false: the one holding it is rolling up).
   */
  private async rollUpOnce(wait: boolean): Promise<boolean> {
    const took = await this.transaction(async (c) => {
      if (wait) await c.query("SELECT pg_advisory_xact_lock($1)", [ROLLUP_LOCK.toString()]);
      else {
        const locked = await c.query<{ ok: boolean }>("SELECT pg_try_advisory_xact_lock($1) AS ok", [ROLLUP_LOCK.toString()]);
        if (!locked.rows[0]?.ok) return false;
      }
      // A queue left by a long outage of the roll-up can be large: no bound but the work.
      await c.query("SET LOCAL statement_timeout = 0");
      await c.query(ROLL_UP);
      return true;
    });
    // Rows are appended per roll-up now, not per commit: merged every so many of them, off the commit path too.
    if (took && ++this.rollUps >= COMPACT_EVERY) {
      this.rollUps = 0;
      // The buckets live traffic lands in (today's day, the last hours); older ones are merged by the daily housekeeping.
      await this.compact(Math.floor((Date.now() - 6 * 3_600_000) / DAY_MS) * DAY_MS, Date.now() + 3_600_000).catch(() => undefined);
    }
    return took;
  }

  /**
   * Merges the aggregates' rows of the hours in `[from, to)` into one per group, in one statement (the rows it
   * deletes are the rows it merges, so a concurrent insert's rows are never lost), by one collector at a time.
   */
  async compact(from: number, to: number): Promise<void> {
    await this.transaction(async (c) => {
      const locked = await c.query<{ ok: boolean }>("SELECT pg_try_advisory_xact_lock($1) AS ok", [ROLLUP_LOCK.toString()]);
      if (!locked.rows[0]?.ok) return;
      await c.query("SET LOCAL statement_timeout = 0");
      for (const table of ROLLUP_TABLES) {
        await c.query(
          `WITH old AS (DELETE FROM ${table} WHERE bucket_start >= to_timestamp($1::float8 / 1000) AND bucket_start < to_timestamp($2::float8 / 1000) RETURNING *)
           INSERT INTO ${table} (${namesOf(POSTGRES_ROLLUP, table)}) ${merged(POSTGRES_ROLLUP, table, "old")}`,
          [Math.max(from, -210_866_803_200_000), to],
        );
      }
    });
  }

  async dashboard(api: DashboardApi, filter: Filter, source: DashboardSource = "aggregates"): Promise<Rows> {
    const q: RollupQuery =
      api === "events" || api === "refused" || source === "events" ? POSTGRES_DASHBOARD[api](filter) : POSTGRES_ROLLUP_SQL[api](filter, this.rawFrom);
    const { sql, params } = q;
    const rows = await this.reads.run(() =>
      this.transaction(async (c) => {
        // Its own bound, on the server (SET LOCAL: this transaction only) and on the client.
        await c.query(`SET LOCAL statement_timeout = ${this.dashboardTimeoutMs}`);
        // node-postgres reads a query's own query_timeout (lib/client.js); its types do not list it.
        const query: pg.QueryConfig<unknown[]> & { query_timeout: number } = {
          text: sql,
          values: params,
          query_timeout: this.dashboardTimeoutMs + 2_000,
        };
        return (await c.query<Record<string, Cell>>(query)).rows;
      }),
    );
    return q.finish ? q.finish(rows) : rows;
  }

  /**
   * Drops the partitions of whole days past the retention, prunes dedup ids older than `DEDUP_DAYS`, and creates the
   * partitions ahead. Dropping a partition needs a brief exclusive lock on `events`: it waits at most 5 s for
   * running inserts, else this round is skipped (and tried the next day, or at the next start).
   */
  async housekeep(retainDays: number | undefined, now = Date.now(), rawDays?: number): Promise<Housekeeping> {
    await this.ensurePartitions(now - DAY_MS, now + this.daysAhead * DAY_MS);
    // The aggregates whole first: the hours the retention cuts include what was pending.
    await this.rollUp();
    let removed = 0;
    let rawRemoved = 0;
    const cutoff = retainDays === undefined ? undefined : retentionCutoff(retainDays, now);
    const rawCutoff = rawDays === undefined ? undefined : Math.max(retentionCutoff(rawDays, now), cutoff ?? -Infinity);
    const dropBefore = rawCutoff ?? cutoff;
    if (dropBefore !== undefined) {
      const parts = await this.pool.query<{ name: string }>(
        "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'events'::regclass",
      );
      const old = parts.rows.map((r) => r.name).filter((n) => (partitionDay(n) ?? Infinity) < dropBefore);
      for (const name of old.sort()) {
        const n = await this.transaction(async (c) => {
          await c.query("SELECT pg_advisory_xact_lock($1)", [SCHEMA_LOCK.toString()]);
          await c.query("SET LOCAL lock_timeout = '5s'");
          const n = await c.query<{ n: number }>(`SELECT count(*) AS n FROM "${name}"`).catch(() => ({ rows: [{ n: 0 }] }));
          await c.query(`DROP TABLE IF EXISTS "${name}"`);
          return Number(n.rows[0]?.n ?? 0);
        });
        const day = partitionDay(name);
        if (day !== undefined) this.partitions.delete(day);
        // A day before the retention's cutoff is gone for good; one only past `--raw-days` lives on in the aggregates.
        if (cutoff !== undefined && (day ?? Infinity) < cutoff) removed += n;
        else rawRemoved += n;
      }
    }
    if (cutoff !== undefined) {
      for (const table of ROLLUP_TABLES) await this.pool.query(`DELETE FROM ${table} WHERE bucket_start < to_timestamp($1::float8 / 1000)`, [cutoff]);
    }
    // Edges of a range before this come from the aggregates (a day's margin, as on DuckDB).
    this.rawFrom = rawCutoff === undefined ? undefined : rawCutoff + DAY_MS;
    // The last days' buckets, where late events land; rows appended to older ones stay unmerged (they count the same).
    await this.compact(Math.floor(now / DAY_MS) * DAY_MS - 3 * DAY_MS, 8.64e15);
    await this.pool.query("DELETE FROM event_ids WHERE received_at < $1", [new Date(now - DEDUP_DAYS * DAY_MS).toISOString()]);
    if (cutoff !== undefined) await this.pool.query("DELETE FROM refused WHERE day < $1", [cutoff]);
    return rawDays === undefined ? { removed, cutoff } : { removed, cutoff, rawRemoved, rawCutoff };
  }

  async query(sql: string, params: readonly (string | number | boolean | null)[] = []): Promise<Record<string, Cell>[]> {
    return (await this.pool.query<Record<string, Cell>>(numbered(sql), params as unknown[])).rows;
  }

  async close(): Promise<void> {
    await this.trigger.stop();
    // This collector's queued events into the aggregates (`migrate` finishes here too); an error leaves them queued
    // for the next roll-up, still counted by the dashboard.
    if (this.trigger.queued > 0) await this.rollUp().catch(() => undefined);
    await this.pool.end();
  }
}
