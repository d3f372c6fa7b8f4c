// sourceConfig(): a source's settings as dlt reads them, and files that cannot hurt the pipeline.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "@dlt-ts/telemetry/testing";
import { sourceConfig } from "../src/index.js";

function project(): string {
  const dir = tempDir("source-config-");
  mkdirSync(join(dir, ".dlt"));
  return dir;
}

test("config.toml, then secrets.toml, then SOURCES__<NAME>__<KEY> env", () => {
  const dir = project();
  writeFileSync(join(dir, ".dlt", "config.toml"), '[sources.chess]\nbase_url = "https://api.chess.com"\nplayers = ["a"]\n');
  writeFileSync(join(dir, ".dlt", "secrets.toml"), '[sources.chess]\napi_key = "k"\nplayers = ["b"]\n');
  process.env["SOURCES__CHESS__BASE_URL"] = "http://127.0.0.1:1";
  try {
    assert.deepEqual(sourceConfig("chess", dir), { base_url: "http://127.0.0.1:1", players: ["b"], api_key: "k" });
  } finally {
    delete process.env["SOURCES__CHESS__BASE_URL"];
  }
});

test("a config.toml that is a link to /dev/zero fails at once, naming the file", () => {
  const dir = project();
  symlinkSync("/dev/zero", join(dir, ".dlt", "config.toml"));
  const started = performance.now();
  assert.throws(
    () => sourceConfig("chess", dir),
    (e: Error) => e.message.startsWith(join(dir, ".dlt", "config.toml")),
  );
  assert.ok(performance.now() - started < 1000, "bounded: no read of an endless file");
});
