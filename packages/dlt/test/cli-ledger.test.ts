// `dlt telemetry log` (issue 26): after a session of commands, the ledger holds exactly what the collector received,
// byte for byte, and `dlt telemetry --explain` names its file.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readLedger, type LedgerEntry } from "@dlt-ts/telemetry";
import { startFakeCollector, type FakeCollector } from "@dlt-ts/telemetry/testing";
import { DLT_TELEMETRY_OPTIONS } from "../src/telemetry.js";
import { freshUser, removeUser, runDlt } from "./cli-helpers.js";

/** Polls `cond` every 25 ms until it holds; throws after `ms`. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The bodies of the requests the collector took. */
const bodies = (rx: FakeCollector): string[] => rx.requests.filter((r) => r.status === 200).map((r) => r.body.toString("utf8"));

test("a session of commands: `dlt telemetry log --json` prints exactly the messages the collector received", async (t) => {
  const rx = await startFakeCollector();
  // Its folders go when the test process exits (tempDir), after the senders started for them are stopped: removed
  // here, a sender still recording its last delivery would race the removal.
  const u = freshUser(rx.url);
  t.after(() => rx.close());
  const session = [["telemetry"], ["init", "--list-destinations"], ["telemetry", "--explain"], ["pipeline", "--list-pipelines"]];
  for (const argv of session) {
    const r = await runDlt(argv, { env: u.env, cwd: u.project });
    assert.equal(r.code, 0, `${argv.join(" ")}: ${r.stderr}`);
  }
  await rx.waitForEvents(session.length);
  const options = { ...DLT_TELEMETRY_OPTIONS, env: u.env };
  // A sender records its outcome once the collector has answered.
  await until(() => readLedger(options).length === session.length, 15_000, "the ledger to record every delivery");

  const log = await runDlt(["telemetry", "log", "--json"], { env: u.env, cwd: u.project });
  assert.equal(log.code, 0, log.stderr);
  const lines = log.stdout.split("\n").filter((l) => l !== "");
  assert.equal(lines.length, session.length);
  const entries = lines.map((l) => JSON.parse(l) as { time: string; endpoint: string; outcome: string; message: Record<string, unknown> });
  // Same messages, same order of sending, same bytes: each message's JSON is in a body the collector received.
  assert.deepEqual(
    entries.map((e) => e.message["messageId"]),
    rx.events.map((e) => e["messageId"]),
  );
  assert.deepEqual(
    entries.map((e) => e.message),
    rx.events,
  );
  const received = bodies(rx);
  for (const e of readLedger(options))
    assert.ok(
      received.some((b) => b.includes(e.text)),
      `${e.text} is not in a request body as sent`,
    );
  for (const [i, line] of lines.entries()) assert.ok(line.endsWith(`"message":${readLedger(options)[i]!.text}}`), line);
  for (const e of entries) {
    assert.equal(e.outcome, "delivered");
    assert.equal(e.endpoint, `${rx.url}/v1/batch`);
  }
  assert.match(log.stderr, /^4 message\(s\), newest last; the ledger is ~\/\.dlt\/telemetry\/ledger\.jsonl\n$/);

  // For people: time, event, outcome, one line each, newest last (the `log --json` run's own event is now there too).
  await until(() => readLedger(options).length === session.length + 1, 15_000, "the log command's own event");
  const text = await runDlt(["telemetry", "log"], { env: u.env, cwd: u.project });
  assert.equal(text.code, 0, text.stderr);
  const rows = text.stdout.trimEnd().split("\n");
  assert.deepEqual(
    rows.map((r) => r.replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z {2}/, "<time>  ")),
    ["command_telemetry", "command_list_destinations", "command_telemetry", "command_pipeline", "command_telemetry"].map(
      (event) => `<time>  ${event.padEnd("command_list_destinations".length)}  delivered`,
    ),
  );
  const times = readLedger(options).map((e: LedgerEntry) => e.time);
  assert.deepEqual([...times].sort(), times, "newest last");

  const explain = await runDlt(["telemetry", "--explain"], { env: u.env, cwd: u.project });
  assert.match(explain.stdout, /^Ledger: {4}~\/\.dlt\/telemetry\/ledger\.jsonl: \d+ message\(s\) sent from this machine \(`dlt telemetry log`\)$/m);
});

test("`dlt telemetry log` with nothing sent says so and names the file", async (t) => {
  const u = freshUser("http://127.0.0.1:9", { DO_NOT_TRACK: "1" });
  t.after(() => removeUser(u));
  const r = await runDlt(["telemetry", "log"], { env: u.env, cwd: u.project });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "");
  assert.equal(r.stderr, "Nothing has been sent from this machine yet (the ledger is ~/.dlt/telemetry/ledger.jsonl).\n");
});

test("`dlt telemetry log` refuses words it does not take, pointing to its help", async (t) => {
  const u = freshUser("http://127.0.0.1:9", { DO_NOT_TRACK: "1" });
  t.after(() => removeUser(u));
  const extra = await runDlt(["telemetry", "log", "everything"], { env: u.env, cwd: u.project });
  assert.equal(extra.code, 2);
  assert.match(extra.stderr, /dlt telemetry log --help/);
});
