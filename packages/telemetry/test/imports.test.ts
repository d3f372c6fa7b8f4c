// The library's modules import downward only (issue 22): no module reaches, directly or through others, back to
// one that imports it. A cycle makes the bundle's order of evaluation depend on which entry is loaded first.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));

/** Each module's relative imports (static, `import type` and dynamic `import()`), by file name. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of readdirSync(SRC).filter((f) => f.endsWith(".ts"))) {
    const source = readFileSync(join(SRC, file), "utf8");
    graph.set(
      file,
      [...source.matchAll(/(?:\bfrom|\bimport\()\s*"\.\/([\w-]+)\.js"/g)].map((m) => `${m[1]}.ts`),
    );
  }
  return graph;
}

test("no module of the library imports, through any path, a module that imports it", () => {
  const graph = importGraph();
  assert.ok(graph.get("client.ts")?.includes("settings.ts"), "the graph was read");
  const cycles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const visit = (file: string, path: string[]): void => {
    state.set(file, "open");
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === "open") cycles.push([...path.slice(path.indexOf(next)), next].join(" -> "));
      else if (state.get(next) === undefined) visit(next, [...path, next]);
    }
    state.set(file, "done");
  };
  for (const file of graph.keys()) if (state.get(file) === undefined) visit(file, [file]);
  assert.deepEqual(cycles, []);
});
