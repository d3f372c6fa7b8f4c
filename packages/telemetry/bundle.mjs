// Builds what the package ships, after `tsc -b`: the bundles its users load and the type declarations of each
// condition.
//
// Bundles: one file to load at start-up instead of a dozen (each ES module file costs a host ~0.5 ms), with
// smol-toml inlined. Node builtins that are only needed to send (http, https, child_process) are required lazily
// by the code itself. Two formats of the entry point: ES module (`import`) and CommonJS (`require`). A CommonJS
// host pays ~4.4 ms to load and resolve settings, an ES module host ~9 ms (Node's ES module loader compiles and
// links eagerly): CommonJS CLIs are common and should not pay the ESM price. The sender is always the ES module
// build (its own process).
//
// Types: tsc writes ES module declarations (`dist/src/*.d.ts`), which TypeScript reads as ESM whatever condition
// led to them, so a CommonJS consumer under `module: node16` was refused (TS1479). The `require` condition gets
// the same declarations as `.d.cts` files, with their relative specifiers `./x.js` rewritten to `./x.cjs`.
import { build } from "esbuild";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, posix } from "node:path";
import { fileURLToPath } from "node:url";

const PKG_DIR = fileURLToPath(new URL(".", import.meta.url));
const BUNDLE_DIR = join(PKG_DIR, "dist/bundle");
const TYPES_DIR = join(PKG_DIR, "dist/src");
/** The package's entry points (`.`, `./testing` and `./switch`): their declaration graphs are what consumers read. */
const TYPE_ENTRIES = ["index.d.ts", "testing.d.ts", "switch.d.ts"];

// Files of an earlier build (e.g. source maps of a former configuration) must not reach the tarball.
rmSync(BUNDLE_DIR, { recursive: true, force: true });

const common = {
  absWorkingDir: PKG_DIR,
  bundle: true,
  platform: "node",
  target: "node20",
  // Minified: a host compiles the whole file at start-up, and half the bytes compile faster (~0.3 ms measured).
  minify: true,
  // No source maps: with their sources they were 447 KB of the 587 KB package, without them still more bytes than
  // the code. The library never throws into its host, so its frames reach no user's stack trace; whoever debugs
  // it here has the unbundled tsc output in dist/src, with maps.
  sourcemap: false,
  logLevel: "warning",
};

// What the host needs only once it sends in-process (`send.ts`: delivery, the ledger's writer) is a file of its own,
// loaded by the client's `import("./send.js")` (kept as it is, from both formats: CommonJS has `import()` too), so
// the start-up of every run compiles ~5 KB less. An ES module, like the sender.
const lazySend = {
  name: "lazy-send",
  setup(b) {
    b.onResolve({ filter: /^\.\/send\.js$/ }, (args) => (args.kind === "dynamic-import" ? { path: "./send.js", external: true } : undefined));
  },
};

await build({
  ...common,
  entryPoints: { index: "src/index.ts", "sender-main": "src/sender-main.ts", testing: "src/testing.ts", send: "src/send.ts" },
  outdir: BUNDLE_DIR,
  format: "esm",
  plugins: [lazySend],
});

// CommonJS has no import.meta: the code's `import.meta.url` (to find sender-main.js and to create a require)
// becomes this file's URL.
await build({
  ...common,
  entryPoints: { index: "src/index.ts", testing: "src/testing.ts" },
  outdir: BUNDLE_DIR,
  outExtension: { ".js": ".cjs" },
  format: "cjs",
  plugins: [lazySend],
  define: { "import.meta.url": "__dltTelemetryModuleUrl" },
  banner: { js: 'const __dltTelemetryModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
});

// `./switch` (what `my-cli telemetry disable` writes) uses the entry point's settings code: it imports the package's
// own `index` bundle at run time instead of a second copy of it (and of smol-toml). Its TOML editor is the host's
// optional peer dependency, imported by name when a switch runs.
const ownIndex = (file) => ({
  name: "own-index",
  setup(b) {
    b.onResolve({ filter: /^\.\/index\.js$/ }, () => ({ path: `./${file}`, external: true }));
  },
});
await build({ ...common, entryPoints: { switch: "src/switch.ts" }, outdir: BUNDLE_DIR, format: "esm", plugins: [ownIndex("index.js")] });
await build({
  ...common,
  entryPoints: { switch: "src/switch.ts" },
  outdir: BUNDLE_DIR,
  outExtension: { ".js": ".cjs" },
  format: "cjs",
  plugins: [ownIndex("index.cjs")],
});

writeCommonJsDeclarations();

/**
 * Writes `x.d.cts` next to every `x.d.ts` reachable from the entries, and fails the build when a relative
 * specifier of that graph does not name a declaration file (so a form of import this rewrite misses cannot ship).
 */
function writeCommonJsDeclarations() {
  for (const name of readdirSync(TYPES_DIR)) if (name.endsWith(".d.cts")) rmSync(join(TYPES_DIR, name));
  // Every relative module specifier of a declaration file: `from "./x.js"`, `import("./x.js")`, `import "./x.js"`.
  const relativeSpecifier = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])(\.\.?\/[^"']*)\.js\2/g;
  const pending = [...TYPE_ENTRIES];
  const done = new Set();
  while (pending.length > 0) {
    const file = pending.pop();
    if (done.has(file)) continue;
    done.add(file);
    const text = readFileSync(join(TYPES_DIR, file), "utf8");
    const rewritten = text.replace(relativeSpecifier, (_match, lead, quote, base) => {
      const target = posix.normalize(posix.join(posix.dirname(file), `${base}.d.ts`));
      if (!existsSync(join(TYPES_DIR, target))) throw new Error(`${file}: ${base}.js has no declaration file`);
      pending.push(target);
      return `${lead}${quote}${base}.cjs${quote}`;
    });
    const left = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'](\.\.?\/[^"']*?)(?<!\.cjs)["']/.exec(rewritten);
    if (left) throw new Error(`${file}: relative specifier ${left[1]} was not rewritten for CommonJS`);
    writeFileSync(join(TYPES_DIR, file.replace(/\.d\.ts$/, ".d.cts")), rewritten);
  }
}
