// Settings files that cannot hurt the user: an unreadable opt-out still opts out, hostile files cost nothing,
// secrets.toml is read in dlt's order, and a switch writes where it holds. Real `dlt` processes, a loopback receiver.
import { describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "smol-toml";
import { startFakeCollector } from "@dlt-ts/telemetry/testing";
import { freshUser, removeUser, runDlt } from "./cli-helpers.js";

describe("a settings file that cannot be used: telemetry off, and nothing sent", () => {
  test("a config.toml holding an opt-out that the user cannot read (EACCES), or in a folder they cannot search: DISABLED, that file decides, nothing is sent", async (t) => {
    const rx = await startFakeCollector();
    t.after(() => rx.close());
    const u = freshUser(rx.url);
    t.after(() => removeUser(u));
    const file = join(u.home, ".dlt", "config.toml");
    writeFileSync(file, "[runtime]\ndlthub_telemetry = false\n");
    chmodSync(file, 0o000);
    const r = await runDlt(["telemetry", "--explain"], { env: u.env, cwd: u.project, permissionsApply: true });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Telemetry is DISABLED\ndisabled: ~\/\.dlt\/config\.toml cannot be read \(EACCES\)\n/);
    assert.match(r.stdout, /^ {2}\* global {10}off {2}~\/\.dlt\/config\.toml cannot be read \(EACCES\): counts as off$/m);
    assert.equal(r.stderr, `warning: ${file} cannot be read (EACCES): telemetry is off for this run\n`);
    // A folder that cannot be searched hides whether its files are there at all: the same (the highest, secrets.toml).
    chmodSync(file, 0o644);
    chmodSync(join(u.home, ".dlt"), 0o000);
    const hidden = await runDlt(["telemetry"], { env: u.env, cwd: u.project, permissionsApply: true });
    chmodSync(join(u.home, ".dlt"), 0o755);
    assert.equal(hidden.stdout, "Telemetry is DISABLED\ndisabled: ~/.dlt/secrets.toml cannot be read (EACCES)\n");
    assert.equal(rx.connections, 0);
  });

  test("a misplaced opt-out (dlthub_telemetry = false with no [runtime] header): DISABLED, that file decides, one warning says where the key belongs, nothing is sent", async (t) => {
    const rx = await startFakeCollector();
    t.after(() => rx.close());
    // Its folders go when the test process exits (tempDir), after the sender of its last run is stopped: removed here,
    // that sender still recording its delivery in the ledger would race the removal.
    const u = freshUser(rx.url);
    const file = join(u.home, ".dlt", "config.toml");
    writeFileSync(file, "dlthub_telemetry=false\n");
    const r = await runDlt(["telemetry", "--explain"], { env: u.env, cwd: u.project });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^Telemetry is DISABLED\ndisabled: dlthub_telemetry at the top level of ~\/\.dlt\/config\.toml \(it belongs under \[runtime\]; counted as an opt-out\)\n/,
    );
    assert.match(r.stdout, /^ {2}\* global {10}off {2}~\/\.dlt\/config\.toml$/m);
    assert.equal(
      r.stderr,
      `warning: ${file}: dlthub_telemetry = false is at the top level; it belongs under [runtime] (runtime.dlthub_telemetry): counted as an opt-out\n`,
    );
    // Its place fixed, the same run sends: the receiver would have seen the misplaced one's event too.
    writeFileSync(file, "[runtime]\ndlthub_telemetry = true\n");
    const on = await runDlt(["telemetry"], { env: u.env, cwd: u.project });
    assert.match(on.stdout, /^Telemetry is ENABLED\n/);
    assert.equal(on.stderr, "");
    await rx.waitForRequests(1);
    assert.equal(rx.connections, 1, "only the run with the key in its place sent");
  });

  test("a repository's .dlt/config.toml -> /dev/zero, or a FIFO: the command finishes at once with a warning, sends nothing", async (t) => {
    const rx = await startFakeCollector();
    t.after(() => rx.close());
    const u = freshUser(rx.url);
    t.after(() => removeUser(u));
    const file = join(u.project, ".dlt", "config.toml");
    mkdirSync(join(u.project, ".dlt"));
    for (const make of [() => symlinkSync("/dev/zero", file), () => execFileSync("mkfifo", [file])]) {
      execFileSync("rm", ["-f", file]);
      make();
      // Killed (code null) if it hangs on the FIFO or reads /dev/zero for ever.
      const r = await runDlt(["telemetry"], { env: u.env, cwd: u.project, timeoutMs: 15_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Telemetry is DISABLED\ndisabled: .*\.dlt\/config\.toml is not a regular file\n$/);
      assert.equal(r.stderr, `warning: ${file} is not a regular file: telemetry is off for this run\n`);
    }
    assert.equal(rx.connections, 0);
  });
});

describe("secrets.toml, in dlt's order", () => {
  /** A project whose config.toml opts in and names a dead endpoint, and whose secrets.toml names the receiver and a key. */
  async function project(t: TestContext, sends: boolean) {
    const rx = await startFakeCollector();
    t.after(() => rx.close());
    const u = freshUser("http://127.0.0.1:9");
    // A run that sends leaves its folders to go when the test process exits (tempDir), after its sender is stopped:
    // removed here, that sender still recording its delivery in the ledger would race the removal.
    if (!sends) t.after(() => removeUser(u));
    const { RUNTIME__DLTHUB_TELEMETRY_ENDPOINT: _unset, ...env } = u.env;
    mkdirSync(join(u.project, ".dlt"));
    writeFileSync(join(u.project, ".dlt", "config.toml"), '[runtime]\ndlthub_telemetry = true\ndlthub_telemetry_endpoint = "http://127.0.0.1:9"\n');
    writeFileSync(
      join(u.project, ".dlt", "secrets.toml"),
      `[runtime]\ndlthub_telemetry_endpoint = "${rx.url}"\ndlthub_telemetry_segment_write_key = "from-secrets"\n`,
    );
    return { rx, u, env };
  }

  test("the write key and endpoint in .dlt/secrets.toml are used over .dlt/config.toml", async (t) => {
    const { rx, u, env } = await project(t, true);
    const on = await runDlt(["telemetry"], { env, cwd: u.project });
    assert.match(on.stdout, /ENABLED\nset in .*\.dlt\/config\.toml/);
    const [req] = await rx.waitForRequests(1);
    assert.equal(req?.headers["authorization"], "Basic " + Buffer.from("from-secrets:").toString("base64"));
  });

  test("a global secrets.toml opt-out beats a project config.toml opt-in", async (t) => {
    const { rx, u, env } = await project(t, false);
    writeFileSync(join(u.home, ".dlt", "secrets.toml"), "[runtime]\ndlthub_telemetry = false\n");
    const off = await runDlt(["telemetry"], { env, cwd: u.project });
    assert.equal(off.stdout, "Telemetry is DISABLED\nset in ~/.dlt/secrets.toml\n");
    assert.equal(rx.connections, 0, "the disabled run sent nothing");
  });
});

describe("--disable-telemetry writes where the switch holds", () => {
  /** A user whose project's .dlt/secrets.toml turns telemetry on, beside a comment and a source's key. */
  function secretsOptIn(t: TestContext) {
    const u = freshUser("http://127.0.0.1:9");
    t.after(() => removeUser(u));
    mkdirSync(join(u.project, ".dlt"));
    const secrets = join(u.project, ".dlt", "secrets.toml");
    writeFileSync(secrets, '# my secrets\n[runtime]\ndlthub_telemetry = true\n\n[sources.chess]\napi_key = "k"\n');
    return { u, secrets };
  }

  test("into a secrets.toml that turns it on, keeping its comments and other keys", async (t) => {
    const { u, secrets } = secretsOptIn(t);
    const r = await runDlt(["--disable-telemetry"], { env: u.env, cwd: u.project });
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, "Telemetry switched OFF\n", ""]);
    const text = readFileSync(secrets, "utf8");
    assert.match(text, /# my secrets/);
    assert.deepEqual(JSON.parse(JSON.stringify(parse(text))), { runtime: { dlthub_telemetry: false }, sources: { chess: { api_key: "k" } } });
    const status = await runDlt(["telemetry"], { env: u.env, cwd: u.project });
    assert.match(status.stdout, /^Telemetry is DISABLED\n/);
  });

  test("and says so when the env keeps telemetry on in later runs", async (t) => {
    const { u } = secretsOptIn(t);
    const kept = await runDlt(["--disable-telemetry"], { env: { ...u.env, RUNTIME__DLTHUB_TELEMETRY: "true" }, cwd: u.project });
    assert.equal(kept.stderr, "note: telemetry stays on in later runs: enabled by RUNTIME__DLTHUB_TELEMETRY\n");
  });

  test("on a symlinked config.toml (a dotfiles repository) it edits the file it points to and keeps the link", async (t) => {
    const u = freshUser("http://127.0.0.1:9");
    t.after(() => removeUser(u));
    const real = join(u.home, "dotfiles-config.toml");
    writeFileSync(real, '# from my dotfiles\n[runtime]\nlog_level = "INFO"\n');
    const link = join(u.home, ".dlt", "config.toml");
    symlinkSync(real, link);
    const r = await runDlt(["--disable-telemetry"], { env: u.env, cwd: u.project });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(lstatSync(link).isSymbolicLink(), "the link is kept");
    assert.match(readFileSync(real, "utf8"), /^# from my dotfiles\n\[runtime\]\nlog_level = "INFO"\ndlthub_telemetry = false\n$/);
  });
});
