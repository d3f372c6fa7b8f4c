// `dlt` pointed at a live collector: its events are read back from the collector's database.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startCollector, type Collector } from "../src/index.js";
import { tempDb } from "./helpers.js";
import { tempDir } from "@dlt-ts/telemetry/testing";

const DLT = fileURLToPath(new URL("../../../dlt/bin/dlt.js", import.meta.url));

function dlt(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DLT, ...args], { env: { PATH: process.env["PATH"], TMPDIR: tmpdir(), ...env }, cwd, stdio: "ignore" });
    child.on("error", reject);
    child.on("exit", resolve);
  });
}

async function until(c: Collector, sql: string, want: number, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const n = Number((await c.store.query(sql))[0]?.["n"]);
    if (n >= want) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${want} rows of ${sql} (have ${n})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("dlt CLI runs reach a collector with a write key, and read back typed", async () => {
  const c = await startCollector({ port: 0, dbPath: tempDb(), writeKeys: ["team-key"] });
  try {
    const home = tempDir("e2e-home-");
    mkdirSync(join(home, ".dlt"));
    const cwd = tempDir("e2e-cwd-");
    const env = { HOME: home, TMPDIR: home, RUNTIME__DLTHUB_TELEMETRY_ENDPOINT: c.url, RUNTIME__DLTHUB_TELEMETRY_SEGMENT_WRITE_KEY: "team-key" };
    for (let i = 0; i < 3; i++) assert.equal(await dlt(["telemetry"], env, cwd), 0);
    await until(c, "SELECT count(*) AS n FROM events WHERE event = 'command_telemetry'", 3);
    const rows = await c.store.query(
      "SELECT event_category, event_name, success, library_name, runtime_name, count(*) AS n FROM events GROUP BY ALL",
    );
    assert.deepEqual(
      rows.map((r) => ({ ...r, n: Number(r["n"]) })),
      [{ event_category: "command", event_name: "telemetry", success: true, library_name: "dlt-ts", runtime_name: "node", n: 3 }],
    );
    // Three runs on a fresh machine: one install of this version (the first event's `first_run_of_version`), which the
    // default plan keeps and the dashboard counts.
    const installs = await c.store.dashboard("installs", { from: Date.now() - 86_400_000, to: Date.now() + 60_000, bucket: "day" });
    assert.deepEqual(
      installs.map((r) => [String(r["version"]).split(" ")[0], Number(r["n"])]),
      [["dlt-ts", 1]],
    );
  } finally {
    await c.close();
  }
});

test("a pipeline run reaches the collector: its three step events and pipeline_run read back with one transaction id", async () => {
  const c = await startCollector({ port: 0, dbPath: tempDb() });
  try {
    const dir = tempDir("e2e-pipe-");
    const index = fileURLToPath(new URL("../../../dlt/dist/src/index.js", import.meta.url));
    const { writeFileSync } = await import("node:fs");
    writeFileSync(
      join(dir, "run.mjs"),
      `import { pipeline } from ${JSON.stringify(index)};\n` +
        `await pipeline({ pipelineName: "e2e", destination: "duckdb" }).run([{ id: 1, nested: { a: 1 }, list: [{ x: 1 }] }], { tableName: "t" });\n`,
    );
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, [join(dir, "run.mjs")], {
        cwd: dir,
        env: { PATH: process.env["PATH"], HOME: dir, TMPDIR: dir, RUNTIME__DLTHUB_TELEMETRY_ENDPOINT: c.url },
        stdio: "ignore",
      });
      child.on("error", reject);
      child.on("exit", resolve);
    });
    assert.equal(code, 0);
    await until(c, "SELECT count(*) AS n FROM events WHERE event_category = 'pipeline'", 4);
    const rows = await c.store.query(
      "SELECT event_name, success, destination_name, transaction_id FROM events WHERE event_category = 'pipeline' ORDER BY elapsed, event_name",
    );
    assert.deepEqual(
      rows.map((r) => [r["event_name"], r["success"], r["destination_name"]]),
      [
        ["extract", true, "duckdb"],
        ["normalize", true, "duckdb"],
        ["load", true, "duckdb"],
        ["run", true, "duckdb"],
      ],
    );
    assert.equal(new Set(rows.map((r) => r["transaction_id"])).size, 1);
  } finally {
    await c.close();
  }
});
