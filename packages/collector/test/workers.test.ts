// --workers N: N collector processes on one port and one PostgreSQL database; a worker that dies is replaced; SIGTERM
// drains them all (exit 0); a worker that cannot start stops the start with one line; DuckDB refuses --workers.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import pg from "pg";
import { COLLECTOR_BIN, dltEvent, exited, pollUntil, post, startChild, tempDb } from "./helpers.js";
import { testPostgres } from "./postgres-server.js";

/** Pids of the live processes whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) === pid && fields[0] !== "Z") out.push(Number(p));
    } catch {
      /* gone */
    }
  }
  return out.sort();
}

// One PostgreSQL server and one collector of two workers for the five tests, on purpose (starting them is most of the
// cost): the tests run in order, each on what the one before left.
describe("--workers 2 on one PostgreSQL database", () => {
  let server: Awaited<ReturnType<typeof testPostgres>>;
  let db = "";
  let collector: Awaited<ReturnType<typeof startChild>>;
  let workers: number[] = [];
  const ids: string[] = [];
  const track = async (): Promise<void> => {
    const e = dltEvent();
    ids.push(e["messageId"] as string);
    assert.equal((await post(collector.url, "/v1/track", e, { auth: "k" })).status, 200);
  };
  const stored = async (): Promise<number> => {
    const c = new pg.Client({ connectionString: db });
    await c.connect();
    try {
      return (await c.query("SELECT count(*)::int AS n FROM events WHERE message_id = ANY($1)", [ids])).rows[0].n as number;
    } finally {
      await c.end();
    }
  };

  before(async () => {
    server = await testPostgres();
    db = await server.database();
    collector = await startChild(["--port", "0", "--db", db, "--workers", "2", "--write-key", "k", "--metrics-port", "0"]);
  });
  after(async () => {
    collector?.child.kill("SIGKILL");
    await server?.close();
  });

  test("two processes serve one port, and every event either takes is stored", async () => {
    workers = childrenOf(collector.child.pid!);
    assert.equal(workers.length, 2, `two workers: ${workers}`);
    for (let i = 0; i < 40; i++) await track();
    assert.equal(await stored(), 40);
  });

  test("one metrics port serves the sum of the workers' metrics", async () => {
    const metricsUrl = /metrics: (\S+)/.exec(await pollUntil(collector.stdout, (o) => /metrics: /.test(o), 15_000))![1]!;
    const scraped = await (await fetch(metricsUrl)).text();
    assert.match(scraped, /^dlt_collector_events_accepted_total 40$/m, scraped);
  });

  test("a killed worker is replaced, and the other serves meanwhile", async () => {
    process.kill(workers[0]!, "SIGKILL");
    const replaced = await pollUntil(
      () => childrenOf(collector.child.pid!),
      (w) => w.length === 2 && !w.includes(workers[0]!),
      15_000,
    );
    assert.equal(replaced.length, 2, "the dead worker is replaced");
    assert.match(collector.stderr(), new RegExp(`worker ${workers[0]} exited \\(SIGKILL\\); starting another`));
    // The replacement may still be starting: the other worker serves meanwhile.
    for (let i = 0; i < 10; i++) await track();
    assert.equal(await stored(), 50);
  });

  test("one read token, printed once, opens the dashboard on any worker", async () => {
    const token = /dashboard: \S+\?token=(\S+)/.exec(await pollUntil(collector.stdout, (o) => /dashboard: /.test(o), 15_000))?.[1];
    assert.ok(token, "a dashboard token was printed");
    for (let i = 0; i < 6; i++) assert.equal((await post(collector.url, "/api/summary", undefined, { method: "GET", bearer: token })).status, 200);
  });

  test("SIGTERM drains all workers and exits 0, and no worker outlives the primary", async () => {
    collector.child.kill("SIGTERM");
    assert.equal(await exited(collector.child), 0, collector.stderr());
    assert.deepEqual(childrenOf(collector.child.pid!), [], "no worker outlives the primary");
  });
});

test("--workers with a DuckDB file is a usage error", () => {
  const duck = spawnSync(process.execPath, [COLLECTOR_BIN, "--db", tempDb(), "--workers", "2"], {
    encoding: "utf8",
    env: { PATH: process.env["PATH"] },
  });
  assert.equal(duck.status, 2);
  assert.match(duck.stderr, /^error: --workers needs a PostgreSQL --db/);
});

test("a worker that cannot reach its database stops the start with one line, without the password", () => {
  const r = spawnSync(process.execPath, [COLLECTOR_BIN, "--port", "0", "--db", "postgres://u:secret@127.0.0.1:1/x", "--workers", "2"], {
    encoding: "utf8",
    env: { PATH: process.env["PATH"] },
    timeout: 30_000,
  });
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stderr.split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^dlt-collector: cannot write the database postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/x: .*ECONNREFUSED/);
  assert.doesNotMatch(r.stderr, /secret/);
});
