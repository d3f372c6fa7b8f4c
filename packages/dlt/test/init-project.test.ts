// `dlt init` in a real project: what it prints next works as printed (install, run, rows in DuckDB), several
// pipelines share one project, and nothing the user wrote in .dlt is ever lost (`--force` included). The event
// carries a source name only when it is a public one.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parse as parseToml } from "smol-toml";
import { runInProcessGroup, startFakeCollector, startLockfileRegistry, tempDir } from "@dlt-ts/telemetry/testing";
import { initCommand } from "../src/init/index.js";
import { PACKAGE_DIR } from "../src/init/next-steps.js";
import { freshUser, runDlt, type RunResult } from "./cli-helpers.js";
import { query } from "./helpers/duck.js";

const parse = (text: string): unknown => JSON.parse(JSON.stringify(parseToml(text)));

/** The commands `dlt init` printed under "Next:". */
function printedSteps(stdout: string): string[] {
  const at = stdout.indexOf("Next:\n");
  assert.ok(at >= 0, stdout);
  return stdout
    .slice(at + 6)
    .split("\n")
    .filter((l) => l.startsWith("  "))
    .map((l) => l.trim());
}

const REPO = dirname(dirname(PACKAGE_DIR));

/** Runs a printed command in a shell, as the user would type it; on timeout, npm and all it started are killed. */
const shell = (command: string, cwd: string, env: NodeJS.ProcessEnv): Promise<RunResult> =>
  runInProcessGroup("sh", ["-c", command], { cwd, env, timeoutMs: 100_000 });

test("dlt init in an empty folder: the printed install and run steps work as printed, and the rows land in DuckDB", async (t) => {
  const u = freshUser("http://127.0.0.1:9", { RUNTIME__DLTHUB_TELEMETRY: "false" });
  const r = await runDlt(["init", "pokemon", "duckdb"], { env: u.env, cwd: u.project });
  assert.equal(r.code, 0, r.stderr);
  const steps = printedSteps(r.stdout);
  assert.deepEqual(steps, [`npm install ${PACKAGE_DIR} tsx`, "npx tsx pokemon_pipeline.ts"], "dlt-ts from this checkout, tsx to run TypeScript");
  assert.equal((JSON.parse(readFileSync(join(u.project, "package.json"), "utf8")) as { type: string }).type, "module");

  // npm from a registry on loopback that serves the repository's lockfile from the tarballs `npm ci` cached, with a
  // cache of its own: the printed steps resolve `tsx` as they would online, and nothing leaves the machine.
  // (npm under Node 22+ writes a compile cache into TMPDIR: the user's own.)
  const registry = await startLockfileRegistry({ lockfile: join(REPO, "package-lock.json") });
  t.after(() => registry.close());
  const env = {
    ...u.env,
    PATH: process.env["PATH"],
    npm_config_registry: registry.url,
    npm_config_cache: join(u.tmp, "npm-cache"),
    npm_config_audit: "false",
    npm_config_fund: "false",
    npm_config_update_notifier: "false",
  };
  const install = await shell(steps[0]!, u.project, env);
  assert.equal(install.code, 0, `${install.stderr}\nnot in the lockfile: ${registry.unknown.join(", ")}; not cached: ${registry.missing.join(", ")}`);
  const run = await shell(steps[1]!, u.project, env);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^Loaded 2 tables \(6 rows\) into pokemon\.duckdb\/pokemon_data/);
  assert.deepEqual(await query(join(u.project, "pokemon.duckdb"), "SELECT id, name FROM pokemon_data.items ORDER BY id"), [
    { id: 1, name: "item 1" },
    { id: 2, name: "item 2" },
    { id: 3, name: "item 3" },
  ]);
  // Installed now: a second pipeline in the same project needs only its run step.
  const second = await runDlt(["init", "chess", "duckdb"], { env: u.env, cwd: u.project });
  assert.deepEqual(printedSteps(second.stdout), ["npx tsx chess_pipeline.ts"]);
});

// One project: dlt init chess, the user's own edits, then dlt init pokemon; each test reads what that left.
describe("a second dlt init in a project the user edited", () => {
  let u: ReturnType<typeof freshUser>;
  let config: string;
  let secrets: string;
  let second: RunResult;
  before(async () => {
    u = freshUser("http://127.0.0.1:9", { RUNTIME__DLTHUB_TELEMETRY: "false" });
    assert.equal((await runDlt(["init", "chess", "duckdb"], { env: u.env, cwd: u.project })).code, 0);
    config = join(u.project, ".dlt", "config.toml");
    secrets = join(u.project, ".dlt", "secrets.toml");
    // The user's own edits: an opt-out, a comment, a changed value, a secret.
    const edited = readFileSync(config, "utf8")
      .replace("# [runtime]\n# dlthub_telemetry = false", "[runtime]\ndlthub_telemetry = false # our policy")
      .replace("max_archives = 2", "max_archives = 5");
    writeFileSync(config, `# team settings, do not remove\n${edited}`);
    writeFileSync(secrets, '[sources.chess]\napi_key = "s3cret"\n');
    second = await runDlt(["init", "pokemon", "duckdb"], { env: u.env, cwd: u.project });
  });

  test("adds its pipeline to the project and says what it added", () => {
    assert.equal(second.code, 0, second.stderr);
    assert.match(
      second.stdout,
      /created pokemon_pipeline\.ts; added \[sources\.pokemon\] settings to \.dlt\/config\.toml; added pokemon\.duckdb, pokemon\.duckdb\.wal to \.gitignore/,
    );
    assert.ok(existsSync(join(u.project, "chess_pipeline.ts")) && existsSync(join(u.project, "pokemon_pipeline.ts")));
  });

  test("merges the config, keeping every comment and key and the user's opt-out", () => {
    const text = readFileSync(config, "utf8");
    for (const kept of ["# team settings, do not remove", "dlthub_telemetry = false # our policy", "# The chess.com public API."])
      assert.ok(text.includes(kept), kept);
    assert.deepEqual(parse(text), {
      sources: {
        chess: { base_url: "https://api.chess.com", players: ["magnuscarlsen", "rpragchess"], max_archives: 5 },
        pokemon: { count: 3 },
      },
      runtime: { dlthub_telemetry: false },
    });
  });

  test("leaves secrets.toml untouched", () => {
    assert.equal(readFileSync(secrets, "utf8"), '[sources.chess]\napi_key = "s3cret"\n');
  });

  test("then --force replaces the script only: the merged config, its opt-out and the secrets stay as they are", async () => {
    const text = readFileSync(config, "utf8");
    // --force replaces the script only: the merged config, its opt-out and the secrets stay as they are.
    writeFileSync(join(u.project, "chess_pipeline.ts"), "// my edits\n");
    const forced = await runDlt(["init", "chess", "duckdb", "--force"], { env: u.env, cwd: u.project });
    assert.equal(forced.code, 0, forced.stderr);
    assert.notEqual(readFileSync(join(u.project, "chess_pipeline.ts"), "utf8"), "// my edits\n");
    assert.equal(readFileSync(config, "utf8"), text);
    assert.equal(readFileSync(secrets, "utf8"), '[sources.chess]\napi_key = "s3cret"\n');
    assert.match(
      (await runDlt(["telemetry"], { env: { ...u.env, RUNTIME__DLTHUB_TELEMETRY: "" }, cwd: u.project })).stdout,
      /DISABLED\nset in .*\.dlt\/config\.toml/,
    );
  });
});

test("a broken .dlt/config.toml stops init before anything is written, naming the file", async () => {
  const u = freshUser("http://127.0.0.1:9", { RUNTIME__DLTHUB_TELEMETRY: "false" });
  mkdirSync(join(u.project, ".dlt"));
  writeFileSync(join(u.project, ".dlt", "config.toml"), "[sources.chess\nbase_url = 1\n");
  const r = await runDlt(["init", "chess", "duckdb"], { env: u.env, cwd: u.project });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /\.dlt\/config\.toml:1/);
  assert.equal(existsSync(join(u.project, "chess_pipeline.ts")), false);
  assert.equal(readFileSync(join(u.project, ".dlt", "config.toml"), "utf8"), "[sources.chess\nbase_url = 1\n");
  assert.equal(existsSync(join(u.project, "package.json")), false);
});

test("command_init carries a public source's name as typed, and `custom` for a name the user made up", async () => {
  const rx = await startFakeCollector();
  try {
    const u = freshUser(rx.url);
    for (const source of ["chess", "acme_salesforce_prod"]) {
      const dir = join(u.project, source);
      mkdirSync(dir);
      assert.equal((await runDlt(["init", source, "duckdb"], { env: u.env, cwd: dir })).code, 0);
    }
    const events = await rx.waitForEvents(2);
    const names = events.map((e) => (e["properties"] as Record<string, unknown>)["pipeline_name"]).sort();
    assert.deepEqual(names, ["chess", "custom"]);
    assert.ok(!rx.requests.some((q) => q.body.toString().includes("acme")), "the made-up name never leaves the machine");
  } finally {
    await rx.close();
  }
});

test("initCommand refuses a config.toml it cannot merge, with the file and line, and writes nothing", async () => {
  const dir = tempDir("init-broken-");
  mkdirSync(join(dir, ".dlt"));
  writeFileSync(join(dir, ".dlt", "config.toml"), "[sources.chess\nbase_url = 1\n");
  const err: string[] = [];
  const r = await initCommand({ source: "chess", destination: "duckdb", force: false, cwd: dir, out: () => undefined, err: (l) => err.push(l) });
  assert.equal(r.exitCode, 1);
  assert.match(err.join("\n"), /^error: \.dlt\/config\.toml:1:15: illegal character in key \(fix it, or move it away, and run dlt init again\)$/m);
  assert.deepEqual(readdirSync(dir), [".dlt"]);
});
