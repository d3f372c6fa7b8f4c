// `dlt-collector migrate` on a million events: events/s and peak RSS.
// Seeds a DuckDB file with N realistic stamped messages (received over 90 days, so ~90 partitions; written with SQL,
// the `message` column is what migrate reads), then, on an embedded PostgreSQL with its durable defaults:
//   baseline — the bare transfer: every message read from the file (DuckDB's chunks) and COPYed as text into an
//              unindexed table, in this process (no parsing, no typed columns, no dedup, no partitions);
//   migrate  — `dlt-collector migrate --from … --to …` in its own process (peak RSS sampled from /proc every 100 ms:
//              VmHWM, the kernel's high-water mark), then a second run (idempotent: adds nothing).
// Usage: node bench/migrate.mjs [events, default 1000000]
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

const N = Number(process.argv[2] ?? 1_000_000);
const here = (p) => new URL(p, import.meta.url).pathname;
const require = createRequire(here("../packages/collector/package.json"));
const { DuckDBInstance } = await import(require.resolve("@duckdb/node-api"));
const pg = require("pg");
const { from: copyFrom } = require("pg-copy-streams");
const { CREATE_EVENTS } = await import(here("../packages/collector/dist/src/store/duckdb.js"));
const { testPostgres } = await import(here("../packages/collector/dist/test/postgres-server.js"));

const dir = mkdtempSync(join(tmpdir(), "bench-migrate-"));
const file = join(dir, "telemetry.duckdb");
const now = Date.now();
let server;
try {
  {
    const t0 = performance.now();
    const instance = await DuckDBInstance.create(file);
    const c = await instance.connect();
    await c.run(CREATE_EVENTS);
    // Only message_id, the NOT NULL columns and the message: migrate reads the message alone.
    await c.run(`
      INSERT INTO events (message_id, type, "timestamp", received_at, message)
      SELECT id, 'track', ts, ts, to_json({
        type: 'track', messageId: id, anonymousId: md5(i::VARCHAR), event: ev,
        timestamp: strftime(ts, '%Y-%m-%dT%H:%M:%S.%g') || 'Z', receivedAt: strftime(ts, '%Y-%m-%dT%H:%M:%S.%g') || 'Z',
        properties: {event_category: split_part(ev, '_', 1), event_name: split_part(ev, '_', 2), elapsed: (i % 1000) / 100.0,
                     success: i % 20 <> 0, destination_name: ['duckdb','postgres','bigquery'][(i % 3) + 1], transaction_id: md5((i // 3)::VARCHAR)},
        context: {ci_run: i % 5 = 0, cpu: 8, exec_info: ['docker'], library: {name: 'dlt-ts', version: '0.1.0'},
                  os: {name: 'Linux', version: '6.1'}, runtime: {name: 'node', version: '20.20.2'}}
      })::VARCHAR
      FROM (SELECT i, 'm' || i AS id, make_timestamp(CAST((${now} - (i * ${90 * 86_400_000} // ${N})) AS BIGINT) * 1000) AS ts,
                   ['command_init','command_telemetry','pipeline_extract','pipeline_normalize','pipeline_load'][(i % 5) + 1] AS ev
            FROM range(${N}) r(i))`);
    await c.run("CHECKPOINT");
    c.closeSync();
    instance.closeSync();
    console.log(`seeded ${N.toLocaleString("en-US")} events into a DuckDB file in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  server = await testPostgres({ embedded: true, durable: true });

  // --- baseline: the bare transfer ---------------------------------------------------------------------------------
  let baseEps;
  {
    const url = await server.database();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query("CREATE TABLE raw (x text)");
    const instance = await DuckDBInstance.create(file, { access_mode: "READ_ONLY" });
    const c = await instance.connect();
    const t0 = performance.now();
    const result = await c.stream("SELECT message FROM events");
    async function* lines() {
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) return;
        yield chunk
          .getRows()
          .map(([m]) => String(m).replaceAll("\\", "\\\\") + "\n")
          .join("");
      }
    }
    await pipeline(Readable.from(lines()), client.query(copyFrom("COPY raw (x) FROM STDIN")));
    const s = (performance.now() - t0) / 1000;
    c.closeSync();
    instance.closeSync();
    await client.end();
    baseEps = N / s;
    console.log(`baseline: read + COPY as text        ${Math.round(baseEps).toLocaleString("en-US").padStart(8)} events/s  (${s.toFixed(1)} s)`);
  }

  // --- dlt-collector migrate -----------------------------------------------------------------------------------------
  const url = await server.database();
  const run = () =>
    new Promise((resolve, reject) => {
      const t0 = performance.now();
      const child = spawn(process.execPath, [here("../packages/collector/bin/dlt-collector.js"), "migrate", "--from", file, "--to", url], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      let peak = 0;
      child.stdout.on("data", (d) => (out += d));
      const sample = setInterval(() => {
        try {
          peak = Math.max(peak, Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))[1]) / 1024);
        } catch {
          /* exiting */
        }
      }, 100);
      child.on("exit", (code) => {
        clearInterval(sample);
        if (code !== 0) reject(new Error(`migrate exited ${code}`));
        else resolve({ seconds: (performance.now() - t0) / 1000, peak, out });
      });
    });
  const first = await run();
  const eps = N / first.seconds;
  console.log(
    `dlt-collector migrate                ${Math.round(eps).toLocaleString("en-US").padStart(8)} events/s  (${first.seconds.toFixed(1)} s, process included), peak RSS ${first.peak.toFixed(0)} MB`,
  );
  process.stdout.write(first.out.replace(/^/gm, "  "));
  const second = await run();
  console.log(`second run (idempotent)              ${second.seconds.toFixed(1)} s, peak RSS ${second.peak.toFixed(0)} MB`);
  process.stdout.write(second.out.replace(/^/gm, "  "));
  console.log(`ratio to the bare transfer: ${(eps / baseEps).toFixed(2)}`);
} finally {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
}
