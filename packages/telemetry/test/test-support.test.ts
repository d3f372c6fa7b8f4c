// What keeps the suite from leaning on the network or leaving processes behind: the lockfile registry the installing
// tests use, the process-group runner that kills what a timed-out command started, and the test runner's check
// that no process outlives the run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runInProcessGroup, startLockfileRegistry, tempDir } from "../src/testing.js";
import { alive, until } from "./fixtures/run-host.js";

const REPO = fileURLToPath(new URL("../../../../", import.meta.url));

test("the lockfile registry serves the lockfile's versions with their integrity, and a JSON 404 for anything else", async (t) => {
  const registry = await startLockfileRegistry({ lockfile: join(REPO, "package-lock.json") });
  t.after(() => registry.close());
  const lock = JSON.parse(readFileSync(join(REPO, "package-lock.json"), "utf8")) as {
    packages: Record<string, { version: string; integrity: string }>;
  };
  const tsx = lock.packages["node_modules/tsx"]!;
  const packument = (await (await fetch(`${registry.url}tsx`)).json()) as {
    "dist-tags": { latest: string };
    versions: Record<string, { dist: { tarball: string; integrity: string }; bin?: unknown }>;
  };
  assert.equal(packument["dist-tags"].latest, tsx.version);
  const version = packument.versions[tsx.version]!;
  assert.equal(version.dist.integrity, tsx.integrity);
  assert.deepEqual(version.bin, { tsx: "dist/cli.mjs" });
  // The tarball is the cached one: its bytes hash to the lockfile's integrity.
  const bytes = Buffer.from(await (await fetch(version.dist.tarball)).arrayBuffer());
  const { createHash } = await import("node:crypto");
  assert.equal(`sha512-${createHash("sha512").update(bytes).digest("base64")}`, tsx.integrity);

  const scoped = await fetch(`${registry.url}@types%2fnode`);
  assert.equal(scoped.status, 200);
  const unknown = await fetch(`${registry.url}left-pad`);
  assert.equal(unknown.status, 404);
  assert.match(((await unknown.json()) as { error: string }).error, /left-pad is not in .*package-lock\.json/);
  assert.deepEqual(registry.unknown, ["left-pad"]);
});

test("the lockfile registry leaves nothing in TMPDIR when it asks npm where the cache is (npm_config_cache unset)", async (t) => {
  // CI's shell has no npm_config_cache, so the registry runs `npm config get cache`; npm under Node 22+ then wrote its
  // compile cache into the test run's TMPDIR, and the run failed on the entry left there.
  const dir = tempDir("registry-tmp-");
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tmp = join(dir, "tmp");
  const script = join(dir, "start.mjs");
  const testing = new URL("../src/testing.js", import.meta.url).href;
  writeFileSync(
    script,
    `import { mkdirSync } from "node:fs";
mkdirSync(${JSON.stringify(tmp)});
const { startLockfileRegistry } = await import(${JSON.stringify(testing)});
const registry = await startLockfileRegistry({ lockfile: ${JSON.stringify(join(REPO, "package-lock.json"))} });
await registry.close();
`,
  );
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_config_cache$/i.test(k)));
  const r = await runInProcessGroup(process.execPath, [script], { cwd: dir, env: { ...env, TMPDIR: tmp }, timeoutMs: 30_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(tmp), []);
});

test("a command that times out is killed with everything it started", async () => {
  // The shell starts a grandchild, prints its pid, then waits on it: only killing the group ends both.
  const r = await runInProcessGroup("sh", ["-c", "sleep 300 & echo $!; wait"], { cwd: REPO, env: { PATH: process.env["PATH"] }, timeoutMs: 300 });
  assert.equal(r.timedOut, true);
  assert.equal(r.signal, "SIGKILL");
  const grandchild = Number(r.stdout.trim());
  assert.ok(grandchild > 0, r.stdout);
  await until(() => !alive(grandchild), 5_000, `sleep ${grandchild} to be killed with its timed-out parent`);
});

test("the test runner fails a run that leaves a process behind, names it and kills it", async (t) => {
  const dir = tempDir("runner-leak-");
  t.after(() => import("node:fs").then((fs) => fs.rmSync(dir, { recursive: true, force: true })));
  const leaker = join(dir, "leaker.test.mjs");
  writeFileSync(
    leaker,
    [
      'import { test } from "node:test";',
      'import { spawn } from "node:child_process";',
      'import { tmpdir } from "node:os";',
      // A test that starts a process in its TMPDIR and forgets it: it passes, and the process outlives it.
      'test("forgets a child", () => { spawn("sleep", ["300"], { cwd: tmpdir(), detached: true, stdio: "ignore" }).unref(); });',
    ].join("\n"),
  );
  const r = await runInProcessGroup(process.execPath, [join(REPO, "scripts/run-tests.mjs"), leaker], {
    cwd: REPO,
    env: { PATH: process.env["PATH"], TMPDIR: dir },
    timeoutMs: 60_000,
  });
  assert.notEqual(r.code, 0, r.stdout);
  const listed = /tests left 1 processes running[^\n]*\n#\s+(\d+) sleep 300/.exec(r.stderr);
  assert.ok(listed, r.stderr);
  // SIGKILL is delivered, not waited for: the process is gone a moment later.
  await until(() => !alive(Number(listed[1])), 5_000, "the listed process to be killed");
});
