// Every relative link in the repository's Markdown points at a file that exists inside the repository (a link
// that leaves it works on the author's machine only), and every repository path the docs name in code spans exists.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const SKIP = new Set(["node_modules", "dist", ".git", ".demo", "test-artifacts", "bench/out"]);

function markdownFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (SKIP.has(e.name) || SKIP.has(relative(ROOT, p))) continue;
    if (e.isDirectory()) out.push(...markdownFiles(p));
    else if (e.name.endsWith(".md")) out.push(p);
  }
  return out;
}

test("relative links in Markdown resolve to files inside the repository", () => {
  const files = markdownFiles(ROOT);
  assert.ok(files.length >= 5, `found ${files.length} Markdown files`);
  const broken: string[] = [];
  for (const file of files) {
    const text = readFileSync(file, "utf8").replace(/```[\s\S]*?```/g, "");
    for (const m of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = m[1]!;
      if (/^([a-z]+:|#)/i.test(target)) continue;
      const path = resolve(dirname(file), decodeURIComponent(target.split("#")[0]!));
      if (!(path + sep).startsWith(ROOT) || !existsSync(path)) broken.push(`${relative(ROOT, file)}: ${target}`);
    }
  }
  assert.deepEqual(broken, []);
});

test("repository paths named in the docs' code spans exist", () => {
  const missing: string[] = [];
  for (const file of markdownFiles(ROOT)) {
    const text = readFileSync(file, "utf8").replace(/```[\s\S]*?```/g, "");
    for (const m of text.matchAll(/`((?:packages|docs|scripts|bench|spec)\/[^`\s*{}<>]+)`/g)) {
      const path = m[1]!.replace(/:\d+$/, "");
      if (!existsSync(join(ROOT, path))) missing.push(`${relative(ROOT, file)}: ${path}`);
    }
  }
  assert.deepEqual(missing, []);
});
