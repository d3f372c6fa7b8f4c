// --workers N: N collector processes on one port and one PostgreSQL database; a worker that dies is replaced; SIGTERM
// drains them all (exit 0); a worker that cannot start stops the start with one line; DuckDB refuses --workers.
import { test } from "node:test";
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

test("--workers 2: two processes serve one port, one metrics port sums them; a killed worker is replaced; SIGTERM drains all, exit 0", async () => {
  const server = await testPostgres();
  try {
    const db = await server.database();
    const { child, url, stderr, stdout } = await startChild(["--port", "0", "--db", db, "--workers", "2", "--write-key", "k", "--metrics-port", "0"]);
    try {
      const workers = childrenOf(child.pid!);
      assert.equal(workers.length, 2, `two workers: ${workers}`);
      const ids: string[] = [];
      for (let i = 0; i < 40; i++) {
        const e = dltEvent();
        ids.push(e["messageId"] as string);
        assert.equal((await post(url, "/v1/track", e, { auth: "k" })).status, 200);
      }
      // The primary serves the sum of its workers' metrics: every event, whichever worker took it.
      const metricsUrl = /metrics: (\S+)/.exec(await pollUntil(stdout, (o) => /metrics: /.test(o), 15_000))![1]!;
      const scraped = await (await fetch(metricsUrl)).text();
      assert.match(scraped, /^dlt_collector_events_accepted_total 40$/m, scraped);
      process.kill(workers[0]!, "SIGKILL");
      const replaced = await pollUntil(
        () => childrenOf(child.pid!),
        (w) => w.length === 2 && !w.includes(workers[0]!),
        15_000,
      );
      assert.equal(replaced.length, 2, "the dead worker is replaced");
      assert.match(stderr(), new RegExp(`worker ${workers[0]} exited \\(SIGKILL\\); starting another`));
      for (let i = 0; i < 10; i++) {
        const e = dltEvent();
        ids.push(e["messageId"] as string);
        // The replacement may still be starting: the other worker serves meanwhile.
        assert.equal((await post(url, "/v1/track", e, { auth: "k" })).status, 200);
      }
      const c = new pg.Client({ connectionString: db });
      await c.connect();
      try {
        assert.equal((await c.query("SELECT count(*)::int AS n FROM events WHERE message_id = ANY($1)", [ids])).rows[0].n, 50);
      } finally {
        await c.end();
      }
      // One read token for all workers (a random one, printed once): any worker opens the dashboard with it.
      const token = /dashboard: \S+\?token=(\S+)/.exec(await pollUntil(stdout, (o) => /dashboard: /.test(o), 15_000))?.[1];
      assert.ok(token, "a dashboard token was printed");
      for (let i = 0; i < 6; i++) assert.equal((await post(url, "/api/summary", undefined, { method: "GET", bearer: token })).status, 200);
      child.kill("SIGTERM");
      assert.equal(await exited(child), 0, stderr());
      assert.deepEqual(childrenOf(child.pid!), [], "no worker outlives the primary");
    } finally {
      child.kill("SIGKILL");
    }
  } finally {
    await server.close();
  }
});

test("--workers with a DuckDB file is a usage error; a worker that cannot reach its database stops the start with one line", async () => {
  const duck = spawnSync(process.execPath, [COLLECTOR_BIN, "--db", tempDb(), "--workers", "2"], {
    encoding: "utf8",
    env: { PATH: process.env["PATH"] },
  });
  assert.equal(duck.status, 2);
  assert.match(duck.stderr, /^error: --workers needs a PostgreSQL --db/);
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
