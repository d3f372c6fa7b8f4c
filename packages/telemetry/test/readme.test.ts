// The README is the library's manual: every ```js block in it runs as a user would run it (from a fresh HOME, the
// package resolved by its name) and prints exactly the ```text block under it; every public export, every member of
// `Telemetry` and every variable a user can set is named in it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { envNames } from "../src/index.js";
import { runInProcessGroup, startFakeCollector, type RecordedEvent } from "../src/testing.js";
import { alive, lockPid, until } from "./fixtures/run-host.js";

const PKG_DIR = fileURLToPath(new URL("../../", import.meta.url));
const README = readFileSync(join(PKG_DIR, "README.md"), "utf8");

/** A ```js block of the README and the ```text block after it (before the next ```js block): its output. */
interface Example {
  readonly line: number;
  readonly code: string;
  readonly expected: string | undefined;
}

function examples(markdown: string): Example[] {
  const found: { line: number; code: string; expected?: string }[] = [];
  for (const m of markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)) {
    const [, lang, body = ""] = m;
    const last = found.at(-1);
    if (lang === "js") found.push({ line: markdown.slice(0, m.index).split("\n").length, code: body });
    else if (lang === "text" && last && last.expected === undefined) last.expected = body;
  }
  return found.map((e) => ({ line: e.line, code: e.code, expected: e.expected }));
}

/** Runs one example from inside the package (so `@dlt-ts/telemetry` resolves by name), with its own HOME. */
async function runExample(
  example: Example,
  index: number,
): Promise<{ code: number | null; stdout: string; stderr: string; events: RecordedEvent[] }> {
  const commonjs = /\brequire\(/.test(example.code);
  const file = join(PKG_DIR, `.readme-example-${process.pid}-${index}.${commonjs ? "cjs" : "mjs"}`);
  const home = mkdtempSync(join(tmpdir(), "readme-home-"));
  const rx = await startFakeCollector();
  try {
    writeFileSync(file, example.code);
    const env = {
      PATH: process.env["PATH"],
      HOME: home,
      TMPDIR: home,
      RUNTIME__TELEMETRY_ENDPOINT: rx.url,
      // Whatever an example does, nothing leaves loopback.
      HTTPS_PROXY: "http://127.0.0.1:9",
      HTTP_PROXY: "http://127.0.0.1:9",
      NO_PROXY: "127.0.0.1",
    };
    const result = await runInProcessGroup(process.execPath, [file], { cwd: home, env, timeoutMs: 30_000 });
    // A hand-off at exit spools the events and starts a detached sender: wait until it has delivered them (the
    // spool is empty) and let go of its lock before HOME goes.
    const dataDirs = readdirSync(home)
      .map((d) => join(home, d))
      .filter((d) => existsSync(join(d, "telemetry")));
    const senders = new Set<number>();
    await until(
      () => {
        const pids = dataDirs.map(lockPid).filter((p): p is number => p !== undefined);
        for (const p of pids) senders.add(p);
        const spooled = dataDirs.some((d) => readdirSafe(join(d, "telemetry", "spool")).length > 0);
        return !spooled && pids.length === 0 && [...senders].every((p) => !alive(p));
      },
      15_000,
      "the example's sender to deliver and exit",
    );
    return { ...result, events: rx.events.slice() };
  } finally {
    await rx.close();
    rmSync(file, { force: true });
    rmSync(home, { recursive: true, force: true, maxRetries: 5 });
  }
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

const all = examples(README);

test("the README has examples, each followed by the output it prints", () => {
  assert.ok(all.length >= 8, `${all.length} js examples`);
  for (const e of all) assert.notEqual(e.expected, undefined, `the js block at README line ${e.line} has no \`\`\`text block with its output`);
});

for (const [index, example] of all.entries()) {
  test(`the README example at line ${example.line} prints what the README shows under it`, async () => {
    const r = await runExample(example, index);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, example.expected);
    if (index === 0) {
      // The quick start's events are handed off at exit and arrive.
      assert.deepEqual(r.events.map((e) => e["event"]).sort(), ["command_answer", "command_build"]);
    }
  });
}

/** Names a module exports: `export { a, type B } from`, `export type { C }`, `export function d`, `export interface E`. */
function exportedNames(source: string): string[] {
  const names: string[] = [];
  for (const m of source.matchAll(/^export\s+(?:type\s+)?\{([^}]*)\}/gm)) {
    for (const part of (m[1] ?? "").split(",")) {
      const name = part
        .trim()
        .replace(/^type\s+/, "")
        .split(/\s+as\s+/)
        .at(-1);
      if (name) names.push(name);
    }
  }
  for (const m of source.matchAll(/^export\s+(?:declare\s+)?(?:async\s+)?(?:function|interface|type|const|class)\s+(\w+)/gm)) names.push(m[1]!);
  return names;
}

test("the README names every export of the three entries, every member of Telemetry and every variable a user sets", () => {
  const missing = (names: readonly string[]): string[] => names.filter((n) => !new RegExp(`\\b${n}\\b`).test(README));
  const src = (name: string): string => readFileSync(join(PKG_DIR, "src", name), "utf8");
  const exported = [...exportedNames(src("index.ts")), ...exportedNames(src("testing.ts")), ...exportedNames(src("switch.ts"))];
  assert.ok(exported.includes("createTelemetry") && exported.includes("startFakeCollector"), exported.join(" "));
  assert.deepEqual(missing(exported), [], "exports missing from the README");

  const telemetry = /^export interface Telemetry \{([\s\S]*?)^\}/m.exec(src("client.ts"))?.[1] ?? "";
  const members = [...telemetry.matchAll(/^ {2}(?:readonly\s+)?(\w+)[(<:?]/gm)].map((m) => m[1]!);
  assert.ok(members.includes("noticeNeeded"), members.join(" "));
  assert.deepEqual(missing(members), [], "members of Telemetry missing from the README");

  const variables = Object.values(
    envNames({
      envPrefix: "MY_CLI",
      settings: { section: "runtime", enabled: "telemetry", endpoint: "telemetry_endpoint", writeKey: "telemetry_write_key" },
    }),
  );
  assert.deepEqual(missing([...variables, "DO_NOT_TRACK"]), [], "variables missing from the README");
});
