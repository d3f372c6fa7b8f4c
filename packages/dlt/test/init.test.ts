// dlt init: a scaffolded chess pipeline run end to end against a loopback stand-in for the chess.com API; the
// refusals; and `dlt --disable-telemetry init chess duckdb` sending nothing.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { parse as parseToml } from "smol-toml";
import { type FakeCollector, snapshotEvent, startFakeCollector } from "@dlt-ts/telemetry/testing";
import { freshUser, type RunResult, runDlt, runNode } from "./cli-helpers.js";
import { query } from "./helpers/duck.js";

const parse = (text: string): unknown => JSON.parse(JSON.stringify(parseToml(text)));
const DLT_PKG = fileURLToPath(new URL("../../", import.meta.url));

/** A stand-in for api.chess.com: two players, two monthly archives each, games with nested objects. */
async function chessApi(): Promise<{ url: string; close(): Promise<void> }> {
  const game = (p: string, m: number, i: number) => ({
    url: `https://www.chess.com/game/live/${p}-${m}-${i}`,
    time_class: "blitz",
    end_time: 1700000000 + m * 1000 + i,
    rated: true,
    white: { username: p, rating: 2800 + i, result: "win" },
    black: { username: "opponent", rating: 2700, result: "checkmated" },
  });
  let base = "";
  const server = createServer((req, res) => {
    const u = req.url ?? "";
    let body: unknown;
    let m: RegExpExecArray | null;
    if ((m = /^\/pub\/player\/(\w+)$/.exec(u))) body = { player_id: m[1] === "alice" ? 1 : 2, username: m[1], followers: 10, joined: 1600000000 };
    else if ((m = /^\/pub\/player\/(\w+)\/games\/archives$/.exec(u)))
      body = { archives: [1, 2, 3].map((mo) => `https://api.chess.com/pub/player/${m![1]}/games/2024/0${mo}`) };
    else if ((m = /^\/pub\/player\/(\w+)\/games\/2024\/0(\d)$/.exec(u))) body = { games: [0, 1].map((i) => game(m![1]!, Number(m![2]), i)) };
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url: base, close: () => new Promise((r) => server.close(() => r())) };
}

// One user runs `dlt init chess duckdb`; the tests read what it wrote and sent, then run the pipeline it scaffolded,
// in order (the second run merges into what the first loaded).
describe("init chess duckdb, in order", () => {
  let rx: FakeCollector;
  let api: Awaited<ReturnType<typeof chessApi>>;
  let u: ReturnType<typeof freshUser>;
  let r: RunResult;
  let runEnv: NodeJS.ProcessEnv;
  const db = (): string => join(u.project, "chess.duckdb");
  before(async () => {
    rx = await startFakeCollector();
    api = await chessApi();
    u = freshUser(rx.url);
    r = await runDlt(["init", "chess", "duckdb"], { env: u.env, cwd: u.project });
  });
  after(async () => {
    await rx.close();
    await api.close();
  });

  test("scaffolds the source's settings with a commented opt-out, a secrets.toml, and a .gitignore for both", async () => {
    assert.equal(r.code, 0, r.stderr);
    const config = parse(readFileSync(join(u.project, ".dlt", "config.toml"), "utf8")) as { sources: { chess: { base_url: string } } };
    assert.equal(config.sources.chess.base_url, "https://api.chess.com");
    assert.match(readFileSync(join(u.project, ".dlt", "config.toml"), "utf8"), /^# \[runtime\]\n# dlthub_telemetry = false$/m);
    assert.ok(existsSync(join(u.project, ".dlt", "secrets.toml")));
    assert.match(readFileSync(join(u.project, ".gitignore"), "utf8"), /^\.dlt\/secrets\.toml\nchess\.duckdb\n/);
  });

  test("sends command_init with the source and destination names", async () => {
    const [event] = await rx.waitForEvents(1);
    assert.deepEqual(snapshotEvent(event!)["properties"], {
      destination_name: "duckdb",
      elapsed: "<seconds>",
      event_category: "command",
      event_name: "init",
      pipeline_name: "chess",
      success: true,
      first_run_of_version: true,
    });
  });

  test("the scaffolded pipeline loads players and games into chess.duckdb", async () => {
    // Run the scaffolded TypeScript as a user would, with dlt-ts resolvable from the project.
    const tsSource = readFileSync(join(u.project, "chess_pipeline.ts"), "utf8");
    const js = ts.transpileModule(tsSource, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    writeFileSync(join(u.project, "chess_pipeline.mjs"), js);
    mkdirSync(join(u.project, "node_modules"));
    symlinkSync(DLT_PKG, join(u.project, "node_modules", "dlt-ts"));
    writeFileSync(
      join(u.project, ".dlt", "config.toml"),
      readFileSync(join(u.project, ".dlt", "config.toml"), "utf8").replace('["magnuscarlsen", "rpragchess"]', '["alice", "bob"]'),
    );
    runEnv = { ...u.env, PATH: process.env["PATH"], SOURCES__CHESS__BASE_URL: api.url, RUNTIME__DLTHUB_TELEMETRY: "false" };
    const run = await runNode(["chess_pipeline.mjs"], { cwd: u.project, env: runEnv });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^Loaded 2 tables \(10 rows\) into chess\.duckdb\/chess_data/);
    assert.deepEqual(await query(db(), "SELECT player_id, username FROM chess_data.players_profiles ORDER BY player_id"), [
      { player_id: 1, username: "alice" },
      { player_id: 2, username: "bob" },
    ]);
    const games = await query(
      db(),
      "SELECT count(*) AS n, count(DISTINCT white__username) AS players, max(white__rating) AS top FROM chess_data.players_games",
    );
    assert.deepEqual(games, [{ n: 8, players: 2, top: 2801 }], "the latest 2 archives of 2 games for each of 2 players");
  });

  test("a second run merges on the primary key: it adds nothing twice", async () => {
    assert.equal((await runNode(["chess_pipeline.mjs"], { cwd: u.project, env: runEnv })).code, 0);
    assert.equal((await query(db(), "SELECT count(*) AS n FROM chess_data.players_games"))[0]?.["n"], 8);
  });
});

test("init refuses: unknown destination (lists the supported), existing files without --force, invalid source name", async () => {
  const rx = await startFakeCollector();
  try {
    const u = freshUser(rx.url);
    const bad = await runDlt(["init", "chess", "bigquery"], { env: u.env, cwd: u.project });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /destination "bigquery" is not supported\. Supported destinations: duckdb/);
    assert.equal(existsSync(join(u.project, "chess_pipeline.ts")), false);
    const [failed] = await rx.waitForEvents(1);
    assert.deepEqual((failed?.["properties"] as Record<string, unknown>)["success"], false, "still tracked, as a failed command_init");
    assert.equal((failed?.["properties"] as Record<string, unknown>)["destination_name"], "bigquery");

    const name = await runDlt(["init", "Not-Valid", "duckdb"], { env: u.env, cwd: u.project });
    assert.equal(name.code, 1);
    assert.match(name.stderr, /invalid source name "Not-Valid"/);

    assert.equal((await runDlt(["init", "pokemon", "duckdb"], { env: u.env, cwd: u.project })).code, 0);
    writeFileSync(join(u.project, "pokemon_pipeline.ts"), "// my edits\n");
    const again = await runDlt(["init", "pokemon", "duckdb"], { env: u.env, cwd: u.project });
    assert.equal(again.code, 1);
    assert.match(
      again.stderr,
      /^error: pokemon_pipeline\.ts exists already \(run again with --force to replace it; your \.dlt files are kept either way\)$/m,
    );
    assert.equal(readFileSync(join(u.project, "pokemon_pipeline.ts"), "utf8"), "// my edits\n", "never overwritten without --force");
    assert.equal((await runDlt(["init", "pokemon", "duckdb", "--force"], { env: u.env, cwd: u.project })).code, 0);
    assert.notEqual(readFileSync(join(u.project, "pokemon_pipeline.ts"), "utf8"), "// my edits\n");
  } finally {
    await rx.close();
  }
});

test("dlt --disable-telemetry init chess duckdb: switches off, scaffolds, sends nothing", async () => {
  const rx = await startFakeCollector();
  try {
    const u = freshUser(rx.url);
    const r = await runDlt(["--disable-telemetry", "init", "chess", "duckdb"], { env: u.env, cwd: u.project });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(u.project, "chess_pipeline.ts")));
    assert.deepEqual(parse(readFileSync(join(u.home, ".dlt", "config.toml"), "utf8")), { runtime: { dlthub_telemetry: false } });
    // The project's freshly written .dlt/config.toml keeps telemetry commented out (the global file decides).
    assert.match((await runDlt(["telemetry"], { env: u.env, cwd: u.project })).stdout, /DISABLED\nset in ~\/\.dlt\/config\.toml/);
    const control = freshUser(rx.url);
    await runDlt(["telemetry"], { env: control.env, cwd: control.project });
    await rx.waitForEvents(1);
    assert.equal(rx.connections, 1, "only the control run connected");
  } finally {
    await rx.close();
  }
});
