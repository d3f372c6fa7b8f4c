// Progress of a long run: shown on a terminal (a real pty, through util-linux `script`), silent when piped.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runNode } from "./cli-helpers.js";
import { tempDir } from "@dlt-ts/telemetry/testing";

const INDEX = fileURLToPath(new URL("../src/index.js", import.meta.url));

// A source slower than half a second (like a paged API): 80 pages of 1,024 items, 10 ms apart.
const SCRIPT = (progress: string) => `
  import { pipeline } from ${JSON.stringify(INDEX)};
  async function* pages() {
    for (let p = 0; p < 80; p++) {
      await new Promise((r) => setTimeout(r, 10));
      for (let i = 0; i < 1024; i++) yield { id: p * 1024 + i };
    }
  }
  const info = await pipeline({ pipelineName: "prog", destination: "duckdb"${progress} }).run(pages, { tableName: "items" });
  console.log("rows", info.rows);
`;

function setup(progress = ""): { dir: string; file: string; env: NodeJS.ProcessEnv } {
  const dir = tempDir("prog-");
  const file = join(dir, "run.mjs");
  writeFileSync(file, SCRIPT(progress));
  return { dir, file, env: { PATH: process.env["PATH"], HOME: dir, TMPDIR: dir, RUNTIME__DLTHUB_TELEMETRY: "false", TERM: "dumb" } };
}

/** Runs node in a pseudo-terminal: stdout and stderr are both the pty, as in a user's shell. */
function inPty(file: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-qec", `${JSON.stringify(process.execPath)} ${JSON.stringify(file)}`, "/dev/null"], {
      cwd,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out }));
  });
}

test("a long run shows items and items/s on a terminal, and what the load step loads", async () => {
  const { dir, file, env } = setup();
  const r = await inPty(file, dir, env);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /\rextract: [\d,]+ items \([\d,]+ items\/s\)/);
  assert.match(r.out, /\rextract: 81,920 items in \d+\.\d s/);
  // The load step cannot count rows as DuckDB inserts them: it says what it loads where, then what it loaded.
  assert.match(r.out, /\rload: 81,920 rows into prog\.duckdb\/prog_dataset/);
  assert.match(r.out, /\rload: 81,920 rows in \d+\.\d s/);
  assert.match(r.out, /rows 81920/);
});

test("piped, or with progress: false, it prints nothing but its own output", async () => {
  const piped = setup();
  const r = await runNode([piped.file], { cwd: piped.dir, env: piped.env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  assert.equal(r.stdout, "rows 81920\n");
  const off = setup(", progress: false");
  const t = await inPty(off.file, off.dir, off.env);
  assert.equal(t.code, 0, t.out);
  assert.equal(t.out.replaceAll("\r", ""), "rows 81920\n");
});
