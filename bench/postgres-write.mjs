// The PostgreSQL store's write path, measured: how to send a group of stamped events to PostgreSQL in one
// transaction. Each variant runs the store's own statement (dedup into event_ids, typed columns extracted from jsonb
// in SQL, the day partition) on a fresh database of an embedded PostgreSQL with its durable defaults (fsync on,
// synchronous_commit on), one connection, groups one after the other:
//   ndjson  — the store's choice: the group as ONE text parameter (NDJSON), split and parsed by PostgreSQL
//   values  — a multi-row INSERT: VALUES ($1), ($2), … one parameter per event
//   copy    — COPY of the lines into a temporary staging table, then the same INSERT … SELECT from it
// Baseline in the same run: COPY of the same lines into a plain text table (no parsing, no index, no dedup): the
// floor of what PostgreSQL costs to take the bytes durably.
// Usage: node bench/postgres-write.mjs [events per variant, default 100000] [group sizes, default 100,1000]
import { createRequire } from "node:module";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";

const N = Number(process.argv[2] ?? 100_000);
const GROUPS = (process.argv[3] ?? "100,1000").split(",").map(Number);
const here = (p) => new URL(p, import.meta.url).pathname;
const require = createRequire(here("../packages/collector/package.json"));
const pg = require("pg");
const { from: copyFrom } = require("pg-copy-streams");
const { testPostgres } = await import(here("../packages/collector/dist/test/postgres-server.js"));
const { PostgresStore, insertFrom, withoutNul } = await import(here("../packages/collector/dist/src/store/postgres.js"));
const { stamp } = await import(here("../packages/collector/dist/src/stamp.js"));

const ctx = {
  ci_run: false,
  cpu: 8,
  exec_info: ["docker"],
  library: { name: "dlt-ts", version: "0.1.0" },
  os: { name: "Linux", version: "6.1.0" },
  runtime: { name: "node", version: "20.20.2" },
};
const steps = ["extract", "normalize", "load"];
const events = (n, tag) =>
  Array.from({ length: n }, (_, i) => {
    const now = Date.now();
    return stamp(
      {
        messageId: `${tag}-${i}-${crypto.randomUUID()}`,
        anonymousId: crypto.randomUUID(),
        timestamp: new Date(now).toISOString(),
        event: `pipeline_${steps[i % 3]}`,
        properties: {
          event_category: "pipeline",
          event_name: steps[i % 3],
          elapsed: 1 + i / 10,
          success: i % 17 !== 0,
          destination_name: "duckdb",
          transaction_id: `t${i >> 2}`,
        },
        context: ctx,
      },
      "track",
      now,
      new Date(now).toISOString(),
      null,
    ).json;
  });

// COPY's text format: backslash is its escape character (JSON text has no raw tab or newline).
const copyLine = (json) => json.replaceAll("\\", "\\\\") + "\n";

const variants = {
  async baseline(c, lines) {
    await c.query("BEGIN");
    await pipeline(Readable.from([lines.map(copyLine).join("")]), c.query(copyFrom("COPY raw (x) FROM STDIN")));
    await c.query("COMMIT");
  },
  async ndjson(c, lines) {
    await c.query(insertFrom(`unnest(string_to_array($1::text, E'\\n')) AS lines(x)`), [lines.map(withoutNul).join("\n")]);
  },
  async values(c, lines) {
    await c.query(insertFrom(`(VALUES ${lines.map((_, i) => `($${i + 1})`).join(", ")}) AS lines(x)`), lines.map(withoutNul));
  },
  async copy(c, lines) {
    await c.query("BEGIN");
    await pipeline(Readable.from([lines.map((l) => copyLine(withoutNul(l))).join("")]), c.query(copyFrom("COPY staging (x) FROM STDIN")));
    await c.query(insertFrom("staging"));
    await c.query("TRUNCATE staging");
    await c.query("COMMIT");
  },
};

const server = await testPostgres({ embedded: true, durable: true });
try {
  console.log(`PostgreSQL write path: ${N.toLocaleString("en-US")} events per variant, one connection, durable commits`);
  for (const group of GROUPS) {
    const results = {};
    for (const [name, run] of Object.entries(variants)) {
      const url = await server.database();
      const store = await PostgresStore.open(url); // the schema and today's partitions
      await store.close();
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query("CREATE TABLE raw (x text)");
      await c.query("CREATE TEMP TABLE staging (x text)");
      const lines = events(N, name);
      const t0 = performance.now();
      for (let i = 0; i < lines.length; i += group) await run(c, lines.slice(i, i + group));
      const s = (performance.now() - t0) / 1000;
      const table = name === "baseline" ? "raw" : "events";
      const stored = Number((await c.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
      await c.end();
      if (stored !== N) throw new Error(`${name}: stored ${stored} of ${N}`);
      results[name] = N / s;
    }
    console.log(`\ngroups of ${group} events`);
    for (const [name, eps] of Object.entries(results)) {
      console.log(
        `  ${name.padEnd(9)} ${Math.round(eps).toLocaleString("en-US").padStart(8)} events/s   ratio to baseline ${(eps / results.baseline).toFixed(2)}`,
      );
    }
  }
} finally {
  await server.close();
}
