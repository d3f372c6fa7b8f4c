// The habits people bring to a CLI: `help`, typo suggestions, usage hints, refused extra words, and
// `dlt telemetry enable|disable` (as `next telemetry disable`). In-process through main(); the telemetry switch
// itself in real processes, since it writes the user's files and decides what the process sends.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startFakeCollector, tempDir } from "@dlt-ts/telemetry/testing";
import { dltInProcess as dlt, freshUser, runDlt } from "./cli-helpers.js";

// This file owns its process env: nothing it runs in-process may send or write outside a temp HOME.
const home = tempDir("dlt-habits-");
process.env["HOME"] = home;
process.env["DLT_DATA_DIR"] = join(home, ".dlt");
process.env["DO_NOT_TRACK"] = "1";

describe("help, typos and extra words", () => {
  test("`dlt help` is `dlt --help`, and `dlt help init` is `dlt init --help`", async () => {
    const help = await dlt("help");
    assert.equal(help.code, 0);
    assert.equal(help.out, (await dlt("--help")).out);
    for (const c of [
      "telemetry [options] [switch]",
      "init [options] [source] [destination]",
      "pipeline [options]",
      "schema [options] <file>",
      "help [command]",
    ])
      assert.ok(help.out.includes(c), c);
    const init = await dlt("help", "init");
    assert.equal(init.code, 0);
    assert.match(init.out, /^Usage: dlt init \[options\] \[source\] \[destination\]/);
    assert.equal(init.out, (await dlt("init", "--help")).out);
  });

  test("a mistyped command suggests the right one and exits 2", async () => {
    for (const [typed, meant] of [
      ["telemtry", "telemetry"],
      ["inti", "init"],
      ["hlep", "help"],
    ] as const) {
      const r = await dlt(typed);
      assert.equal(r.code, 2, typed);
      assert.equal(r.err, `error: unknown command '${typed}'. Did you mean '${meant}'? (run \`dlt --help\` for the commands)\n`);
    }
    // Options meant for the command do not hide the typo: `dlt pipelin -l` is not "unknown option '-l'".
    const withOption = await dlt("pipelin", "-l");
    assert.equal(withOption.code, 2);
    assert.equal(withOption.err, "error: unknown command 'pipelin'. Did you mean 'pipeline'? (run `dlt --help` for the commands)\n");
    const far = await dlt("deploy");
    assert.equal(far.code, 2);
    assert.equal(far.err, "error: unknown command 'deploy' (run `dlt --help` for the commands)\n");
  });

  test("`dlt init` with a missing argument points to `dlt init --help`", async () => {
    for (const argv of [["init"], ["init", "chess"]]) {
      const r = await dlt(...argv);
      assert.equal(r.code, 2);
      assert.match(r.err, /^error: missing required argument '(source|destination)'\n\(run `dlt init --help` for usage\)\n$/);
    }
  });

  test("extra words are refused with exit 2 instead of silently ignored", async () => {
    const wrongSwitch = await dlt("telemetry", "off");
    assert.equal(wrongSwitch.code, 2);
    assert.match(wrongSwitch.err, /'off' is invalid.*enable, disable/);
    assert.equal(wrongSwitch.out, "", "no status is printed");
    const extra = await dlt("telemetry", "enable", "now");
    assert.equal(extra.code, 2);
    assert.match(extra.err, /too many arguments for 'telemetry'[\s\S]*`dlt telemetry --help`/);
    const initExtra = await dlt("init", "chess", "duckdb", "extra");
    assert.equal(initExtra.code, 2);
    assert.match(initExtra.err, /too many arguments for 'init'/);
  });
});

describe("dlt telemetry disable|enable, the flags' twins", () => {
  test("dlt telemetry --help lists the switch and its choices", async () => {
    const help = (await dlt("telemetry", "--help")).out.replace(/\s+/g, " ");
    assert.ok(help.includes('switch switch telemetry for this machine and project (choices: "enable", "disable")'), help);
  });

  test("dlt telemetry disable writes the opt-out, and neither it nor a disabled run sends anything", async () => {
    const rx = await startFakeCollector();
    const u = freshUser(rx.url);
    try {
      const off = await runDlt(["telemetry", "disable"], { env: u.env, cwd: u.project });
      assert.equal(off.code, 0, off.stderr);
      assert.equal(off.stdout, "Telemetry switched OFF\n");
      assert.match(readFileSync(join(u.home, ".dlt", "config.toml"), "utf8"), /dlthub_telemetry = false/);
      assert.match((await runDlt(["telemetry"], { env: u.env, cwd: u.project })).stdout, /^Telemetry is DISABLED\nset in ~\/\.dlt\/config\.toml\n$/);
      assert.equal(rx.connections, 0, "neither the switch nor the status sent anything");
    } finally {
      await rx.close();
    }
  });

  test("dlt telemetry enable writes the opt-in, and sends its event like any other command", async () => {
    const rx = await startFakeCollector();
    const u = freshUser(rx.url);
    try {
      await runDlt(["telemetry", "disable"], { env: u.env, cwd: u.project });
      const on = await runDlt(["telemetry", "enable"], { env: u.env, cwd: u.project });
      assert.equal(on.stdout, "Telemetry switched ON\n");
      assert.match(readFileSync(join(u.home, ".dlt", "config.toml"), "utf8"), /dlthub_telemetry = true/);
      const [event] = await rx.waitForEvents(1);
      assert.equal(event?.["event"], "command_telemetry", "an enabled `telemetry enable` is a command like any other");
    } finally {
      await rx.close();
    }
  });
});
