// `npm start` (scripts/start.mjs), the project's main job, run as a user would on a fresh machine (with `--once`
// so that it stops by itself): the demo's commands and pipeline runs land in the collector's DuckDB file, and the
// dashboard URL it prints works.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DuckDBInstance } from "@duckdb/node-api";
import { tempDir } from "@dlt-ts/telemetry/testing";

const START = fileURLToPath(new URL("../../../../scripts/start.mjs", import.meta.url));

/** Runs `npm start`'s script with `--once` in the demo folder; its exit code and output. */
async function start(demo: string): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [START, "--once"], {
    env: { PATH: process.env["PATH"], HOME: demo, TMPDIR: demo, DLT_DEMO_DIR: demo, DLT_DEMO_PORT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  return { code, out };
}

test("npm start: a collector, the demo's events stored in its DuckDB file, the dashboard URL printed, and a second start counting its own events", async () => {
  const demo = tempDir("demo-");
  const { code, out } = await start(demo);
  assert.equal(code, 0, out);
  assert.match(out, /^13 of 13 demo events stored \(5 commands, 2 pipeline runs of 3 steps and pipeline_run\)\.$/m);
  assert.match(out, /\$ dlt init chess duckdb {2}→ exit 0/);
  assert.match(out, /\$ dlt init chess bigquery .*→ exit 1/);
  assert.match(out, /node pokemon_pipeline\.mjs {2}→ Loaded 2 tables \(6 rows\)/);
  assert.match(out, /Dashboard: http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+/);

  const instance = await DuckDBInstance.create(join(demo, "telemetry.duckdb"));
  const c = await instance.connect();
  try {
    const rows = (await c.runAndReadAll("SELECT event, count(*) AS n FROM events GROUP BY event ORDER BY event")).getRowObjectsJson();
    const counts = Object.fromEntries(rows.map((r) => [String(r["event"]), Number(r["n"])]));
    assert.deepEqual(counts, {
      command_init: 3,
      command_telemetry: 2,
      pipeline_extract: 2,
      pipeline_load: 2,
      pipeline_normalize: 2,
      pipeline_run: 2,
    });
  } finally {
    c.closeSync();
    instance.closeSync();
  }
  // The file keeps the first run's events; the second run reports its own.
  const again = await start(demo);
  assert.equal(again.code, 0, again.out);
  assert.match(again.out, /^13 of 13 demo events stored/m);
});
