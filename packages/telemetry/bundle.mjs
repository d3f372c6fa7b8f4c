// Bundles the library into a few ES modules for its users: one file to load at start-up instead of a dozen
// (each ES module file costs a host ~0.5 ms), with smol-toml inlined. Node builtins that are only needed to
// send (http, https, child_process) are required lazily by the code itself. Run after `tsc -b`.
import { build } from "esbuild";

await build({
  entryPoints: { index: "src/index.ts", "sender-main": "src/sender-main.ts", testing: "src/testing.ts" },
  absWorkingDir: new URL(".", import.meta.url).pathname,
  outdir: "dist/bundle",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  logLevel: "warning",
});
