import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, userInfo } from "node:os";
import { join } from "node:path";
import { parse as parseToml } from "smol-toml";

/** Parsed TOML as plain objects (smol-toml makes null-prototype tables). */
const parse = (text: string): unknown => JSON.parse(JSON.stringify(parseToml(text)));
import { startFakeCollector, type FakeCollector } from "@dlt-ts/telemetry/testing";
import { freshUser, removeUser, runDlt } from "./cli-helpers.js";

/** Runs an enabled `dlt telemetry` as a control and returns once its event has arrived. */
async function control(rx: FakeCollector): Promise<void> {
  const u = freshUser(rx.url);
  const r = await runDlt(["telemetry"], { env: u.env, cwd: u.project });
  assert.match(r.stdout, /Telemetry is ENABLED/);
  await rx.waitForEvents(1);
}

test("dlt telemetry: ENABLED by default, and its command event carries the spec's fields", async () => {
  const rx = await startFakeCollector();
  try {
    const u = freshUser(rx.url);
    const r = await runDlt(["telemetry"], { env: u.env, cwd: u.project });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, "Telemetry is ENABLED\nenabled by default\n");
    const [m] = await rx.waitForEvents(1);
    assert.equal(m?.["event"], "command_telemetry");
    const p = m?.["properties"] as Record<string, unknown>;
    // A fresh machine's first event of this version: the one that counts an install (no id, nothing else).
    assert.deepEqual(Object.keys(p).sort(), ["elapsed", "event_category", "event_name", "first_run_of_version", "success"]);
    assert.equal(p["first_run_of_version"], true);
    assert.equal(p["event_category"], "command");
    assert.equal(p["event_name"], "telemetry");
    assert.equal(p["success"], true);
    assert.ok(typeof p["elapsed"] === "number" && p["elapsed"] >= 0 && p["elapsed"] < 60);
    const ctx = m?.["context"] as Record<string, unknown>;
    assert.deepEqual(ctx["library"], { name: "dlt-ts", version: "0.1.0" });
    assert.deepEqual(Object.keys(m ?? {}).sort(), ["anonymousId", "context", "event", "messageId", "properties", "timestamp", "type"]);
  } finally {
    await rx.close();
  }
});

describe("opt-outs and opt-ins", () => {
  // Each opt-out path, proven by the receiver's connection count: the disabled run opens nothing, and a control
  // run afterwards on the same receiver is the only one seen.
  const optOuts: { name: string; args: string[]; env?: NodeJS.ProcessEnv; global?: string; project?: string; status: RegExp }[] = [
    {
      name: "--disable-telemetry before a command",
      args: ["--disable-telemetry", "telemetry"],
      status: /DISABLED\ndisabled by the command-line flag/,
    },
    {
      name: "RUNTIME__DLTHUB_TELEMETRY=false",
      args: ["telemetry"],
      env: { RUNTIME__DLTHUB_TELEMETRY: "false" },
      status: /DISABLED\ndisabled by RUNTIME__DLTHUB_TELEMETRY/,
    },
    { name: "DO_NOT_TRACK=1", args: ["telemetry"], env: { DO_NOT_TRACK: "1" }, status: /DISABLED\ndisabled by DO_NOT_TRACK/ },
    {
      name: "DO_NOT_TRACK beats an env opt-in",
      args: ["telemetry"],
      env: { DO_NOT_TRACK: "true", RUNTIME__DLTHUB_TELEMETRY: "true" },
      status: /disabled by DO_NOT_TRACK/,
    },
    {
      name: "project .dlt/config.toml",
      args: ["telemetry"],
      project: "[runtime]\ndlthub_telemetry=false\n",
      status: /DISABLED\nset in .*\.dlt\/config\.toml/,
    },
    {
      name: "global ~/.dlt/config.toml",
      args: ["telemetry"],
      global: "[runtime]\ndlthub_telemetry=false\n",
      status: /DISABLED\nset in ~\/\.dlt\/config\.toml/,
    },
    {
      name: "project file beats a global opt-in",
      args: ["telemetry"],
      global: "[runtime]\ndlthub_telemetry=true\n",
      project: "[runtime]\ndlthub_telemetry=false\n",
      status: /DISABLED/,
    },
    {
      name: "env opt-out beats a project opt-in",
      args: ["telemetry"],
      env: { RUNTIME__DLTHUB_TELEMETRY: "0" },
      project: "[runtime]\ndlthub_telemetry=true\n",
      status: /DISABLED/,
    },
    { name: "an unknown command sends nothing", args: ["no-such-command"], status: /^$/ },
  ];

  /** A fresh user whose global and project config.toml say what the case gives. */
  const userWith = (endpoint: string, o: { env?: NodeJS.ProcessEnv; global?: string; project?: string }): ReturnType<typeof freshUser> => {
    const u = freshUser(endpoint, o.env);
    if (o.global) writeFileSync(join(u.home, ".dlt", "config.toml"), o.global);
    if (o.project) {
      mkdirSync(join(u.project, ".dlt"));
      writeFileSync(join(u.project, ".dlt", "config.toml"), o.project);
    }
    return u;
  };

  for (const o of optOuts) {
    test(`opt-out: ${o.name}`, async () => {
      const rx = await startFakeCollector();
      try {
        const u = userWith(rx.url, o);
        const r = await runDlt(o.args, { env: u.env, cwd: u.project });
        assert.match(r.stdout, o.status);
        assert.equal(rx.connections, 0);
        await control(rx);
        assert.equal(rx.connections, 1);
        assert.equal(rx.events.length, 1);
      } finally {
        await rx.close();
      }
    });
  }

  const optIns: { name: string; args: string[]; env?: NodeJS.ProcessEnv; global?: string; project?: string }[] = [
    {
      name: "env opt-in beats a global opt-out",
      args: ["telemetry"],
      env: { RUNTIME__DLTHUB_TELEMETRY: "true" },
      global: "[runtime]\ndlthub_telemetry=false\n",
    },
    {
      name: "project opt-in beats a global opt-out",
      args: ["telemetry"],
      global: "[runtime]\ndlthub_telemetry=false\n",
      project: "[runtime]\ndlthub_telemetry=true\n",
    },
    { name: "--enable-telemetry beats DO_NOT_TRACK for its own run", args: ["--enable-telemetry", "telemetry"], env: { DO_NOT_TRACK: "1" } },
  ];
  for (const o of optIns) {
    test(`opt-in: ${o.name}`, async () => {
      const rx = await startFakeCollector();
      try {
        const u = userWith(rx.url, o);
        const r = await runDlt(o.args, { env: u.env, cwd: u.project });
        assert.match(r.stdout, /Telemetry is ENABLED/);
        const [m] = await rx.waitForEvents(1);
        assert.equal(m?.["event"], "command_telemetry");
      } finally {
        await rx.close();
      }
    });
  }
});

describe("the switch writes the files", () => {
  test("--disable-telemetry alone writes the global and the project file, keeping comments and other keys", async () => {
    const rx = await startFakeCollector();
    try {
      const u = freshUser(rx.url);
      const globalFile = join(u.home, ".dlt", "config.toml");
      writeFileSync(globalFile, '# my global settings\nlog_level = "WARNING"\n\n[sources.chess]\n# players to load\nplayers = ["magnuscarlsen"]\n');
      mkdirSync(join(u.project, ".dlt"));
      const projectFile = join(u.project, ".dlt", "config.toml");
      writeFileSync(projectFile, '[runtime]\n# telemetry switch below\ndlthub_telemetry = true # on for now\nlog_level = "INFO"\n');
      const off = await runDlt(["--disable-telemetry"], { env: u.env, cwd: u.project });
      assert.equal(off.code, 0);
      assert.equal(off.stdout, "Telemetry switched OFF\n");
      const g = readFileSync(globalFile, "utf8");
      assert.match(g, /# my global settings/);
      assert.match(g, /# players to load/);
      assert.deepEqual(parse(g), { log_level: "WARNING", sources: { chess: { players: ["magnuscarlsen"] } }, runtime: { dlthub_telemetry: false } });
      const p = readFileSync(projectFile, "utf8");
      assert.match(p, /# telemetry switch below/);
      assert.deepEqual(parse(p), { runtime: { dlthub_telemetry: false, log_level: "INFO" } });
      const status = await runDlt(["telemetry"], { env: u.env, cwd: u.project });
      assert.match(status.stdout, /DISABLED/);

      const on = await runDlt(["--enable-telemetry"], { env: u.env, cwd: u.project });
      assert.equal(on.stdout, "Telemetry switched ON\n");
      assert.deepEqual(parse(readFileSync(projectFile, "utf8")), { runtime: { dlthub_telemetry: true, log_level: "INFO" } });
      assert.equal(rx.connections, 0, "switching alone runs no command and sends nothing");
    } finally {
      await rx.close();
    }
  });

  test("--disable-telemetry without a project file creates only the global one", async () => {
    const u = freshUser("http://127.0.0.1:9");
    const r = await runDlt(["--disable-telemetry"], { env: u.env, cwd: u.project });
    assert.equal(r.code, 0);
    assert.deepEqual(parse(readFileSync(join(u.home, ".dlt", "config.toml"), "utf8")), { runtime: { dlthub_telemetry: false } });
    assert.equal(existsSync(join(u.project, ".dlt")), false);
  });

  test("two processes switching telemetry at once leave a valid file", async () => {
    const u = freshUser("http://127.0.0.1:9");
    const file = join(u.home, ".dlt", "config.toml");
    writeFileSync(file, "# keep\n[other]\nx = 1\n");
    const runs = [];
    for (let i = 0; i < 12; i++) {
      runs.push(runDlt([i % 2 ? "--enable-telemetry" : "--disable-telemetry"], { env: u.env, cwd: u.project }));
    }
    const results = await Promise.all(runs);
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(file, "utf8");
    const doc = parse(text) as { other: { x: number }; runtime: { dlthub_telemetry: boolean } };
    assert.equal(doc.other.x, 1);
    assert.equal(typeof doc.runtime.dlthub_telemetry, "boolean");
    assert.match(text, /# keep/);
    assert.deepEqual(
      readdirSync(join(u.home, ".dlt")).filter((f) => f.endsWith(".tmp")),
      [],
    );
  });
});

// These tests share one user and one receiver, in order: the last checks that none of the runs before it sent anything.
describe("a config.toml with a syntax error, in order", () => {
  let rx: FakeCollector;
  let u: ReturnType<typeof freshUser>;
  let file: string;
  const broken = "[runtime]\ndlthub_telemetry = fals\n";
  before(async () => {
    rx = await startFakeCollector();
    u = freshUser(rx.url);
    file = join(u.home, ".dlt", "config.toml");
    writeFileSync(file, broken);
  });
  after(async () => {
    await rx.close();
    removeUser(u);
  });

  test("every command runs with telemetry off and one warning", async () => {
    const warning = `warning: ${file}:2:20 is not valid TOML (invalid value): telemetry is off for this run\n`;
    const r = await runDlt(["telemetry"], { env: u.env, cwd: u.project });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, "Telemetry is DISABLED\ndisabled: ~/.dlt/config.toml:2:20 is not valid TOML (invalid value)\n");
    assert.equal(r.stderr, warning);
    const dnt = await runDlt(["telemetry"], { env: { ...u.env, DO_NOT_TRACK: "1" }, cwd: u.project });
    assert.deepEqual([dnt.code, dnt.stdout, dnt.stderr], [0, "Telemetry is DISABLED\ndisabled by DO_NOT_TRACK\n", warning]);
    const init = await runDlt(["init", "chess", "duckdb"], { env: u.env, cwd: u.project });
    assert.equal(init.code, 0, init.stderr);
    assert.equal(init.stderr, warning);
  });

  test("a switch leaves the file alone and exits 1, naming what to fix", async () => {
    for (const args of [["--disable-telemetry"], ["telemetry", "disable"], ["--enable-telemetry", "telemetry"]]) {
      const w = await runDlt(args, { env: u.env, cwd: u.project });
      assert.equal(w.code, 1, args.join(" "));
      assert.equal(w.stdout, "", "no command ran");
      const verb = args.includes("--enable-telemetry") ? "on" : "off";
      assert.equal(
        w.stderr,
        `error: telemetry was not switched ${verb}: ${file}:2:20 is not valid TOML (invalid value). No file was changed. Fix or remove that file, then run the command again.\n`,
      );
      assert.equal(readFileSync(file, "utf8"), broken, "a broken file is never rewritten");
    }
  });

  test("nothing is sent by any of these runs", async () => {
    assert.equal(rx.connections, 0, "nothing was sent by any of these runs");
    await control(rx);
    assert.equal(rx.events.length, 1);
  });
});

test("debug mode prints each message as JSON on stderr and sends nothing", async () => {
  const rx = await startFakeCollector();
  try {
    const u = freshUser(rx.url, { DLT_TELEMETRY_DEBUG: "1" });
    const r = await runDlt(["telemetry"], { env: u.env, cwd: u.project });
    assert.equal(r.code, 0);
    const m = JSON.parse(r.stderr.trim()) as Record<string, unknown>;
    assert.equal(m["event"], "command_telemetry");
    await control(rx);
    assert.equal(rx.events.length, 1);
  } finally {
    await rx.close();
  }
});

test("privacy: no user name, host name, home path, cwd or env value in any byte sent", async () => {
  const rx = await startFakeCollector();
  try {
    const marker = "zq" + Math.random().toString(36).slice(2, 10);
    const u = freshUser(rx.url, {
      USER: `user-${marker}`,
      LOGNAME: `user-${marker}`,
      SECRET_TOKEN: `token-${marker}`,
      RUNTIME__DLTHUB_TELEMETRY_SEGMENT_WRITE_KEY: `key-${marker}`,
    });
    const cwd = join(u.project, `cwd-${marker}`);
    mkdirSync(cwd);
    const r = await runDlt(["telemetry"], { env: u.env, cwd });
    assert.equal(r.code, 0);
    const [req] = await rx.waitForRequests(1);
    const bytes = req!.body.toString("utf8");
    const forbidden = [marker, u.home, cwd, u.project, u.tmp, userInfo().username, userInfo().homedir];
    if (hostname().length >= 4) forbidden.push(hostname());
    for (const f of forbidden) assert.ok(!bytes.includes(f), `sent bytes contain ${JSON.stringify(f)}`);
    // The write key travels only as the Authorization header, never in the body.
    assert.equal(req!.headers["authorization"], "Basic " + Buffer.from(`key-${marker}:`).toString("base64"));
  } finally {
    await rx.close();
  }
});

test("usage errors: unknown option and conflicting flags exit 2", async () => {
  const u = freshUser("http://127.0.0.1:9");
  const a = await runDlt(["--bogus"], { env: u.env, cwd: u.project });
  assert.equal(a.code, 2);
  assert.match(a.stderr, /unknown option '--bogus'/);
  const b = await runDlt(["--disable-telemetry", "--enable-telemetry"], { env: u.env, cwd: u.project });
  assert.equal(b.code, 2);
  assert.equal(existsSync(join(u.home, ".dlt", "config.toml")), false);
  const h = await runDlt(["--help"], { env: u.env, cwd: u.project });
  assert.equal(h.code, 0);
  assert.match(h.stdout, /--disable-telemetry/);
  const v = await runDlt(["--version"], { env: u.env, cwd: u.project });
  assert.equal(v.stdout.trim(), "0.1.0");
});
