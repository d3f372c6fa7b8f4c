import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { alive } from "./fixtures/run-host.js";

const TESTING = fileURLToPath(new URL("../src/testing.js", import.meta.url));

test("tempDir: the folder is gone when the process exits, after the host's own exit hooks, and a sender started for it is stopped", () => {
  // A host that makes a folder, starts a long-lived "sender" naming it (as a detached sender names its data dir),
  // and adds an exit hook that writes into it after tempDir was called (as a telemetry client's hand-off does).
  const host = `
    const { tempDir } = await import(${JSON.stringify(TESTING)});
    const { spawn } = await import("node:child_process");
    const { mkdirSync, writeFileSync } = await import("node:fs");
    const dir = tempDir("tempdir-test-");
    process.on("exit", () => { mkdirSync(dir + "/late", { recursive: true }); writeFileSync(dir + "/late/spool.json", "{}"); });
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)", dir], { detached: true, stdio: "ignore" });
    child.unref();
    console.log(JSON.stringify({ dir, pid: child.pid }));
  `;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", host], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const { dir, pid } = JSON.parse(r.stdout) as { dir: string; pid: number };
  assert.equal(existsSync(dir), false, "the folder is removed");
  assert.equal(alive(pid), false, "the process started for the folder was stopped");
});
