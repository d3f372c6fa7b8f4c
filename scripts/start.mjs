#!/usr/bin/env node
// `npm start`: the whole system on this machine. Starts dlt-collector (embedded DuckDB + dashboard), points this
// checkout's `dlt` at it, runs a small demo (commands, `dlt init`, a pipeline run), waits until its events are
// stored, and prints the dashboard's URL. Ctrl-C stops the collector. Everything lives in ./.demo (git-ignored).
// For tests: DLT_DEMO_DIR (instead of ./.demo), DLT_DEMO_PORT (instead of 8080-if-free), and `--once` (stop the
// collector and exit once the URL is printed).
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = fileURLToPath(new URL("..", import.meta.url));
const demo = process.env.DLT_DEMO_DIR || join(root, ".demo");
const once = process.argv.includes("--once");
const home = join(demo, "home");
const project = join(demo, "project");
const DLT = join(root, "packages/dlt/bin/dlt.js");
const COLLECTOR = join(root, "packages/collector/bin/dlt-collector.js");
const WRITE_KEY = "demo-write-key";

rmSync(project, { recursive: true, force: true });
mkdirSync(join(home, ".dlt"), { recursive: true });
mkdirSync(project, { recursive: true });

const portFree = (port) =>
  new Promise((resolve) => {
    const s = createServer()
      .once("error", () => resolve(false))
      .listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });

function run(cmd, args, env, cwd = project) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("exit", (code) => resolve({ code, out: out.trim() }));
  });
}

const port = process.env.DLT_DEMO_PORT ? Number(process.env.DLT_DEMO_PORT) : (await portFree(8080)) ? 8080 : 0;
const collector = spawn(process.execPath, [COLLECTOR, "--port", String(port), "--db", join(demo, "telemetry.duckdb"), "--write-key", WRITE_KEY], {
  stdio: ["ignore", "pipe", "inherit"],
});
const { url, dashboard } = await new Promise((resolve, reject) => {
  let out = "";
  collector.stdout.on("data", (d) => {
    out += d;
    const m = /listening on (\S+)\n[\s\S]*dashboard: (\S+)\n/.exec(out);
    if (m) resolve({ url: m[1], dashboard: m[2] });
  });
  collector.on("exit", (code) => reject(new Error(`dlt-collector exited with ${code}`)));
});
// The collector never outlives this script, whichever way it ends (Ctrl-C, kill, a crash of the demo).
const stop = () => collector.kill("SIGTERM");
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
process.on("exit", stop);
process.on("uncaughtException", (e) => {
  console.error(e);
  process.exitCode = 1;
  stop();
});

const env = {
  HOME: home,
  DLT_DATA_DIR: join(home, ".dlt"),
  RUNTIME__DLTHUB_TELEMETRY: "true",
  RUNTIME__DLTHUB_TELEMETRY_ENDPOINT: url,
  RUNTIME__DLTHUB_TELEMETRY_SEGMENT_WRITE_KEY: WRITE_KEY,
  DO_NOT_TRACK: "",
};
console.log(`collector: ${url} (DuckDB at ${join(demo, "telemetry.duckdb")})`);
// Events of this run only: the DuckDB file keeps earlier runs' events (a second `npm start` adds to them).
const startedAt = Date.now();
console.log("demo: running dlt against it …");
// Each `dlt init` gets its own project folder, as a user would do.
const chessDir = join(project, "chess");
const pokemonDir = join(project, "pokemon");
for (const d of [chessDir, pokemonDir]) mkdirSync(d, { recursive: true });
const steps = [
  ["dlt telemetry", [DLT, "telemetry"], project],
  ["dlt init chess duckdb", [DLT, "init", "chess", "duckdb"], chessDir],
  ["dlt init pokemon duckdb", [DLT, "init", "pokemon", "duckdb"], pokemonDir],
  ["dlt init chess bigquery (fails: unsupported destination)", [DLT, "init", "chess", "bigquery"], project],
  ["dlt telemetry --explain", [DLT, "telemetry", "--explain"], project],
];
for (const [label, args, cwd] of steps) {
  const r = await run(process.execPath, args, env, cwd);
  console.log(`  $ ${label}  → exit ${r.code}`);
}
// Run the scaffolded pokemon pipeline (no network needed) as a user would, compiled from its TypeScript.
mkdirSync(join(pokemonDir, "node_modules"), { recursive: true });
symlinkSync(join(root, "packages/dlt"), join(pokemonDir, "node_modules", "dlt-ts"));
const js = ts.transpileModule(readFileSync(join(pokemonDir, "pokemon_pipeline.ts"), "utf8"), {
  compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
}).outputText;
writeFileSync(join(pokemonDir, "pokemon_pipeline.mjs"), js);
const runs = 2;
for (let i = 0; i < runs; i++) {
  const r = await run(process.execPath, ["pokemon_pipeline.mjs"], env, pokemonDir);
  console.log(`  $ node pokemon_pipeline.mjs  → ${r.out.split("\n").pop()}`);
}

// Wait (bounded) until this run's events are stored: one per command, and per pipeline run one per step and
// `pipeline_run`.
const expected = steps.length + runs * 4;
const deadline = Date.now() + 30_000;
let stored = 0;
// The APIs take the read token as a Bearer (`?token=` opens the page only).
const page = new URL(dashboard);
const token = page.searchParams.get("token");
const summaryUrl = new URL(`api/summary?from=${startedAt}`, `${page.origin}${page.pathname}`);
while (Date.now() < deadline) {
  try {
    const r = await fetch(summaryUrl, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    stored = Number((await r.json()).rows[0].events);
    if (stored >= expected) break;
  } catch {}
  await new Promise((r) => setTimeout(r, 250));
}
console.log(`\n${stored} of ${expected} demo events stored (${steps.length} commands, ${runs} pipeline runs of 3 steps and pipeline_run).`);
console.log(`Dashboard: ${dashboard}`);
if (once) {
  collector.kill("SIGTERM");
  await new Promise((r) => collector.once("exit", r));
  process.exit(stored >= expected ? 0 : 1);
}
console.log("Press Ctrl-C to stop the collector.");
