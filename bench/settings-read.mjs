// Settings resolution, in-process: what a host pays per client to read its settings. Since secrets.toml became a
// source, four files are looked up (project and global secrets.toml and config.toml) through the bounded reader
// (open, fstat, read from the fd). Baseline, measured in the same run: the old way, a plain readFileSync of the
// two config.toml paths and the same TOML parse. Also: a hostile `config.toml -> /dev/zero` and a 300 MB file,
// which must resolve as fast as a normal one (before the bounded reader they hung, or took seconds and GBs).
// Usage: node bench/settings-read.mjs [calls per round, default 2000]
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "./lib.mjs";

const require = createRequire(import.meta.url);
const { resolveSettings } = require("@dlt-ts/telemetry");
const { parse } = require("smol-toml");

const CALLS = Number(process.argv[2] ?? 2000);
const ROUNDS = 15;
const root = mkdtempSync(join(tmpdir(), "bench-settings-"));
const make = (name) => {
  const home = join(root, name, "home");
  const project = join(root, name, "project");
  mkdirSync(join(home, ".dlt"), { recursive: true });
  mkdirSync(project, { recursive: true });
  return { home, project, config: join(home, ".dlt", "config.toml") };
};
const options = (u) => ({
  library: { name: "dlt-ts", version: "0.1.0" },
  configDirName: ".dlt",
  envPrefix: "DLT",
  defaultEndpoint: "http://127.0.0.1:9",
  settings: {
    section: "runtime",
    enabled: "dlthub_telemetry",
    endpoint: "dlthub_telemetry_endpoint",
    writeKey: "dlthub_telemetry_segment_write_key",
  },
  env: { HOME: u.home },
  cwd: u.project,
});

const normal = make("normal");
writeFileSync(normal.config, '[runtime]\ndlthub_telemetry = true\nlog_level = "INFO"\n');
const normalOptions = options(normal);
const oldWay = () => {
  const text = readFileSync(normal.config, "utf8");
  try {
    readFileSync(join(normal.project, ".dlt", "config.toml"), "utf8");
  } catch {}
  return parse(text);
};

const perCall = (fn) => {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) fn();
  return Number(process.hrtime.bigint() - t0) / 1e3 / CALLS;
};
perCall(oldWay);
perCall(() => resolveSettings(normalOptions));
const base = [];
const now = [];
for (let r = 0; r < ROUNDS; r++) {
  base.push(perCall(oldWay));
  now.push(perCall(() => resolveSettings(normalOptions)));
}
const b = median(base);
const n = median(now);
console.log(`settings read per client (median of ${ROUNDS} rounds x ${CALLS} calls):`);
console.log(`  baseline, 2 x readFileSync + parse: ${b.toFixed(1)} us`);
console.log(`  resolveSettings, 4 bounded reads + parse + layers: ${n.toFixed(1)} us (ratio ${(n / b).toFixed(2)})`);

const zero = make("zero");
symlinkSync("/dev/zero", zero.config);
const big = make("big");
closeSync(openSync(big.config, "w"));
truncateSync(big.config, 300 * 1024 * 1024);
for (const [name, u] of [
  ["config.toml -> /dev/zero", zero],
  ["a 300 MB config.toml", big],
]) {
  const o = options(u);
  const hostile = [];
  for (let r = 0; r < ROUNDS; r++) hostile.push(perCall(() => resolveSettings(o)));
  const h = median(hostile);
  console.log(`  ${name}: ${h.toFixed(1)} us (ratio ${(h / n).toFixed(2)} to a normal file): ${resolveSettings(o).reason}`);
}
rmSync(root, { recursive: true, force: true });
