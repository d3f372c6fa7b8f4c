// The README's pipeline example, run as printed (from inside the package, so `dlt-ts` resolves as for a user),
// in a fresh working directory: its output, its DuckDB file's tables, and its telemetry events.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startFakeCollector, tempDir } from "@dlt-ts/telemetry/testing";
import { query } from "./helpers/duck.js";

const PKG_DIR = fileURLToPath(new URL("../..", import.meta.url));

test("the README pipeline example runs as printed: its output, its tables and its four events per run", async () => {
  const readme = readFileSync(join(PKG_DIR, "README.md"), "utf8");
  const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(code, "README has a js example");
  const printed = /and prints:\n\n```\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(printed, "README shows the output");
  const file = join(PKG_DIR, `.readme-example-${process.pid}.mjs`);
  writeFileSync(file, code);
  const rx = await startFakeCollector();
  try {
    const cwd = tempDir("dlt-readme-");
    const r = spawnSync(process.execPath, [file], {
      cwd,
      env: { PATH: process.env["PATH"], HOME: cwd, TMPDIR: cwd, RUNTIME__DLTHUB_TELEMETRY_ENDPOINT: rx.url },
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    const [tables, summary] = r.stdout.trimEnd().split("\n");
    const [wantTables, wantSummary] = printed.trimEnd().split("\n");
    assert.equal(tables, wantTables);
    assert.match(summary!, new RegExp(`^${wantSummary!.replace(/[.()]/g, "\\$&").replace("0\\.0", "\\d+\\.\\d").replace("…", "\\d+\\.\\d+")}$`));
    const db = join(cwd, "chess.duckdb");
    assert.deepEqual(await query(db, "SELECT username, rating__blitz FROM chess_data.players ORDER BY username"), [
      { username: "magnuscarlsen", rating__blitz: 3269 },
      { username: "rpragchess", rating__blitz: 3120 },
    ]);
    assert.deepEqual(
      await query(db, "SELECT t.year FROM chess_data.players__titles t JOIN chess_data.players p ON t._dlt_parent_id = p._dlt_id ORDER BY 1"),
      [{ year: 2004 }, { year: 2018 }],
    );
    assert.deepEqual(await query(db, "SELECT white, epoch_ms(played_at) AS ms FROM chess_data.games"), [
      { white: "magnuscarlsen", ms: Date.parse("2024-05-01T10:00:00Z") },
    ]);
    const events = await rx.waitForEvents(8);
    const run = ["pipeline_extract", "pipeline_normalize", "pipeline_load", "pipeline_run"];
    assert.deepEqual(
      events.map((e) => e["event"]),
      [...run, ...run],
    );
  } finally {
    await rx.close();
    rmSync(file, { force: true });
  }
});
