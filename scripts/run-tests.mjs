#!/usr/bin/env node
// Runs every compiled test file with node's own test runner (its TAP summary is what CI reads).
// Usage: node scripts/run-tests.mjs [substring …]  — only files whose path contains one of the substrings.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

const filters = process.argv.slice(2);
const files = [];
function walk(dir) {
  let entries;
  try { entries = readdirSync(dir); } catch { return; }
  for (const name of entries) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith(".test.js")) files.push(p);
  }
}
for (const pkg of readdirSync("packages")) walk(join("packages", pkg, "dist", "test"));
const selected = files.filter((f) => filters.length === 0 || filters.some((s) => f.includes(s))).sort();
if (selected.length === 0) {
  console.error("no test files found (did `tsc -b` run?)");
  process.exit(1);
}
const r = spawnSync(process.execPath, ["--test", "--test-concurrency=2", "--test-timeout=120000", ...selected], {
  stdio: "inherit",
});
process.exit(r.status ?? 1);
