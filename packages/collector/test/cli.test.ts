// The dlt-collector command line, as an operator meets it: version, help, and usage errors that say what is wrong
// in one line and exit 2 (as `dlt` does) instead of printing the whole help.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { COLLECTOR_BIN } from "./helpers.js";

const collector = (...args: string[]) =>
  spawnSync(process.execPath, [COLLECTOR_BIN, ...args], { encoding: "utf8", env: { PATH: process.env["PATH"] } });
const VERSION = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

test("dlt-collector --version prints the version", () => {
  for (const flag of ["--version", "-v"]) {
    const r = collector(flag);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, `${VERSION}\n`);
  }
});

test("a bad flag or value: one line naming it, a hint, exit 2", () => {
  const unknown = collector("--bogus");
  assert.equal(unknown.status, 2);
  assert.equal(unknown.stderr, "error: unknown option '--bogus'\n(run `dlt-collector --help` for usage)\n");
  const badPort = collector("--port", "eighty");
  assert.equal(badPort.status, 2);
  assert.equal(
    badPort.stderr,
    "error: option '--port <port>' argument 'eighty' is invalid. --port must be an integer >= 0\n(run `dlt-collector --help` for usage)\n",
  );
});

test("--help lists every flag with its env twin, the write keys' variable once", () => {
  const r = collector("--help");
  assert.equal(r.status, 0);
  const help = r.stdout.replace(/\s+/g, " ");
  assert.equal(help.split("DLT_COLLECTOR_WRITE_KEYS").length - 1, 1, help);
  for (const flag of ["--host", "--port", "--db", "--write-key", "--read-token", "--no-dashboard", "--version"]) assert.ok(help.includes(flag), flag);
});
