// The three packages as their users get them: each is packed with `npm pack`, the tarballs are installed together
// into a fresh temp project (from the npm cache), and consumers there run and typecheck against what was
// installed, not against this repository. publint and arethetypeswrong check each tarball. The packing and the
// install are done once and shared by every test below.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkPackage, createPackageFromTarballData } from "@arethetypeswrong/core";
import { publint } from "publint";
import { formatMessage } from "publint/utils";
import { runInProcessGroup, startFakeCollector, startLockfileRegistry, type FakeCollector, type LockfileRegistry } from "../../src/testing.js";
import { alive, lockPid, until } from "../fixtures/run-host.js";
import { COLLECTOR_ESM, DLT_ESM, SWITCH_CJS, TELEMETRY_CJS, TELEMETRY_ESM, TS_CONSUMER, TS_ESM_CONSUMER, tsconfig } from "./consumers.js";

const REPO = fileURLToPath(new URL("../../../../../", import.meta.url));
const TSC = join(REPO, "node_modules/typescript/bin/tsc");

interface PackageUnderTest {
  readonly name: string;
  readonly dir: string;
  /** arethetypeswrong's profile (as its CLI names them): dlt-ts and the collector are ES modules only, on purpose. */
  readonly attwProfile: "strict" | "esm-only";
}

const PACKAGES: readonly PackageUnderTest[] = [
  { name: "@dlt-ts/telemetry", dir: "packages/telemetry", attwProfile: "strict" },
  { name: "dlt-ts", dir: "packages/dlt", attwProfile: "esm-only" },
  { name: "@dlt-ts/collector", dir: "packages/collector", attwProfile: "esm-only" },
];

/** The resolutions each profile of arethetypeswrong's CLI leaves out (its `--profile`). */
const ATTW_IGNORED_RESOLUTIONS = { strict: [], "esm-only": ["node10", "node16-cjs"] } as const;

/** What `npm pack --json` says of one tarball. */
interface Packed {
  readonly filename: string;
  readonly unpackedSize: number;
  readonly files: readonly { readonly path: string; readonly size: number }[];
}

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs a command to its end (its whole process group killed after `timeoutMs`), with its output. */
function run(command: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Ran> {
  return runInProcessGroup(command, args, options);
}

/**
 * The env of a nested npm: `npm test` exports its own state (`npm_config_local_prefix` = this repository, the
 * lifecycle, `npm_package_*`), which would make the nested npm act on the repository instead of the temp project.
 * Only the user's config files are kept; the registry and cache are the test's own (see the install below).
 */
function npmEnv(tmp: string): NodeJS.ProcessEnv {
  const keep = /^npm_config_(userconfig|globalconfig)$/i;
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) || keep.test(key)));
  // npm under Node 22+ writes a compile cache into TMPDIR: this test's own.
  return { ...env, TMPDIR: tmp };
}

describe("the packages as users install them", () => {
  let root = "";
  let project = "";
  let home = "";
  let tmp = "";
  const packed = new Map<string, Packed & { readonly tarball: string }>();
  const timings: string[] = [];
  let rx: FakeCollector | undefined;
  let registry: LockfileRegistry | undefined;

  /** A user's machine: a private HOME and TMPDIR, and no telemetry leaving loopback. */
  const userEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    PATH: process.env["PATH"],
    HOME: home,
    TMPDIR: tmp,
    RUNTIME__TELEMETRY_ENDPOINT: "http://127.0.0.1:9",
    RUNTIME__DLTHUB_TELEMETRY_ENDPOINT: "http://127.0.0.1:9",
    ...extra,
  });

  before(async () => {
    root = mkdtempSync(join(tmpdir(), "dlt-ts-pack-"));
    project = join(root, "project");
    home = join(root, "home");
    tmp = join(root, "tmp");
    const tarballs = join(root, "tarballs");
    for (const dir of [project, home, tmp, tarballs]) mkdirSync(dir);

    // Packed from the build `npm test` has just made; --ignore-scripts so no package builds itself again.
    const t0 = performance.now();
    await Promise.all(
      PACKAGES.map(async (p) => {
        const r = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", tarballs], {
          cwd: join(REPO, p.dir),
          env: npmEnv(tmp),
        });
        assert.equal(r.code, 0, `npm pack ${p.name}: ${r.stderr}`);
        const [info] = JSON.parse(r.stdout) as Packed[];
        assert.ok(info, `npm pack ${p.name} printed no JSON`);
        packed.set(p.name, { ...info, tarball: join(tarballs, info.filename) });
      }),
    );
    timings.push(`pack ${(performance.now() - t0).toFixed(0)} ms`);

    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true, type: "commonjs" }));
    // dlt-ts depends on @dlt-ts/telemetry, which is not on the registry: the tarballs go in together. Their
    // dependencies come from a registry on loopback serving this repository's lockfile from the tarballs `npm ci`
    // cached (into a cache of the test's own): the same versions as here, and no network.
    registry = await startLockfileRegistry({ lockfile: join(REPO, "package-lock.json") });
    const install = await run("npm", ["install", "--no-audit", "--no-fund", ...[...packed.values()].map((p) => p.tarball)], {
      cwd: project,
      env: { ...npmEnv(tmp), npm_config_registry: registry.url, npm_config_cache: join(root, "npm-cache") },
      timeoutMs: 100_000,
    });
    assert.equal(
      install.code,
      0,
      `npm install: ${install.stderr}\nnot in the lockfile: ${registry.unknown.join(", ")}; not cached: ${registry.missing.join(", ")}`,
    );
    timings.push(`install ${install.ms.toFixed(0)} ms`);

    const files: Record<string, string> = {
      "telemetry-esm.mjs": TELEMETRY_ESM,
      "telemetry-cjs.cjs": TELEMETRY_CJS,
      "switch-cjs.cjs": SWITCH_CJS,
      "dlt-esm.mjs": DLT_ESM,
      "collector-esm.mjs": COLLECTOR_ESM,
      "consumer.ts": TS_CONSUMER,
      "consumer-esm.mts": TS_ESM_CONSUMER,
      "consumer-cjs.cts": TS_CONSUMER,
    };
    const types = join(REPO, "node_modules/@types");
    files["tsconfig.nodenext.json"] = tsconfig("nodenext", "nodenext", ["consumer-esm.mts", "consumer-cjs.cts"], types, true);
    files["tsconfig.node16.json"] = tsconfig("node16", "node16", ["consumer.ts"], types);
    files["tsconfig.node10.json"] = tsconfig("commonjs", "node10", ["consumer.ts"], types);
    files["tsconfig.bundler.json"] = tsconfig("esnext", "bundler", ["consumer.ts"], types);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(project, name), text);
  });

  after(async () => {
    await rx?.close();
    await registry?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test("@dlt-ts/telemetry ships its bundles, types for import and for require, and LICENSE; no source maps, no dependencies", (t) => {
    t.diagnostic(timings.join(", "));
    const info = packed.get("@dlt-ts/telemetry");
    assert.ok(info);
    const paths = info.files.map((f) => f.path);
    for (const expected of [
      "LICENSE",
      "README.md",
      "package.json",
      "dist/bundle/sender-main.js",
      "dist/bundle/index.js",
      "dist/bundle/index.cjs",
      "dist/bundle/testing.js",
      "dist/bundle/testing.cjs",
      "dist/src/index.d.ts",
      "dist/src/index.d.cts",
      "dist/src/testing.d.ts",
      "dist/src/testing.d.cts",
      "dist/bundle/switch.js",
      "dist/bundle/switch.cjs",
      "dist/src/switch.d.ts",
      "dist/src/switch.d.cts",
    ])
      assert.ok(paths.includes(expected), `${expected} is missing from the tarball`);
    assert.deepEqual(
      paths.filter((p) => p.endsWith(".map")),
      [],
      "source maps are not shipped",
    );
    // A sanity bound against shipping what was not meant (maps, sources), not a size budget (start-up is measured in
    // bench/): 250 KB until wave three added the ledger, the plan and the testing helpers (an install registry, a
    // process-group runner), each with declarations for both conditions and a README section. ~277 KB then.
    assert.ok(info.unpackedSize < 300_000, `unpacked size ${info.unpackedSize} B`);
    assert.match(readFileSync(join(project, "node_modules/@dlt-ts/telemetry/LICENSE"), "utf8"), /Apache License\s+Version 2\.0/);
    const manifest = JSON.parse(readFileSync(join(project, "node_modules/@dlt-ts/telemetry/package.json"), "utf8")) as Record<string, unknown>;
    // smol-toml is inlined in the bundles: installing it too would be for nothing.
    assert.equal(manifest["dependencies"], undefined);
  });

  test("each package has its LICENSE, repository and a ./package.json export", () => {
    const requireFromProject = createRequire(join(project, "index.js"));
    for (const p of PACKAGES) {
      assert.ok(
        packed.get(p.name)?.files.some((f) => f.path === "LICENSE"),
        `${p.name} has no LICENSE`,
      );
      const manifest = requireFromProject(`${p.name}/package.json`) as { repository?: { url?: string; directory?: string } };
      assert.equal(manifest.repository?.directory, p.dir, p.name);
      assert.match(manifest.repository?.url ?? "", /^git\+https:\/\/github\.com\/.+\.git$/, p.name);
    }
  });

  test("publint finds nothing to report in any tarball (strict)", async () => {
    for (const p of PACKAGES) {
      const bytes = readFileSync(packed.get(p.name)!.tarball);
      const tarball = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      const { messages, pkg } = await publint({ pack: { tarball }, strict: true });
      assert.deepEqual(
        messages.map((m) => `${m.type}: ${formatMessage(m, pkg) ?? m.code}`),
        [],
        p.name,
      );
    }
  });

  test("arethetypeswrong finds no problem in any tarball", async () => {
    // Its JS API, in this process: TypeScript is loaded once for the three packages (half the CPU of its CLI).
    for (const p of PACKAGES) {
      const analysis = await checkPackage(createPackageFromTarballData(new Uint8Array(readFileSync(packed.get(p.name)!.tarball))));
      assert.ok("problems" in analysis, `${p.name} has no types`);
      const ignored: readonly string[] = ATTW_IGNORED_RESOLUTIONS[p.attwProfile];
      const problems = analysis.problems.filter((problem) => !("resolutionKind" in problem) || !ignored.includes(problem.resolutionKind));
      assert.deepEqual(problems, [], p.name);
    }
  });

  test("an ES module consumer sends typed events with flush() to the installed ./testing fake collector", async () => {
    const r = await run(process.execPath, ["telemetry-esm.mjs"], { cwd: project, env: userEnv() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "command_esm consumer 1\n");
  });

  test("a CommonJS consumer requires both entries; its event is handed off at exit and delivered", async () => {
    rx = await startFakeCollector();
    const collector = rx;
    try {
      const r = await run(process.execPath, ["telemetry-cjs.cjs"], { cwd: project, env: userEnv({ RUNTIME__TELEMETRY_ENDPOINT: collector.url }) });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, "");
      assert.equal(r.stdout, "true default function\n");
      const [event] = await collector.waitForEvents(1);
      assert.equal(event?.["event"], "command_cjs");
    } finally {
      // The detached sender must be gone before the temp dirs are removed.
      const dataDir = join(home, ".consumer");
      const senders = new Set<number>();
      await until(
        () => {
          const pid = lockPid(dataDir);
          if (pid !== undefined) senders.add(pid);
          return pid === undefined && [...senders].every((p) => !alive(p));
        },
        35_000,
        "the sender to exit",
      );
    }
  });

  test("a CommonJS consumer's telemetry disable writes its config.toml through the installed ./switch entry", async () => {
    const switchHome = join(root, "switch-home");
    mkdirSync(switchHome);
    const r = await run(process.execPath, ["switch-cjs.cjs"], { cwd: project, env: userEnv({ HOME: switchHome }) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "[runtime] telemetry = false disabled\n");
  });

  test("TypeScript consumers typecheck: nodenext (ESM and CommonJS files), node16 CommonJS, node10, bundler", async (t) => {
    // One `tsc -b` for the four settings: it parses @types/node once, half the CPU of four tsc processes.
    // --verbose names the setting before its errors.
    const configs = ["nodenext", "node16", "node10", "bundler"].map((s) => `tsconfig.${s}.json`);
    const r = await run(process.execPath, [TSC, "-b", "--verbose", ...configs], { cwd: project, env: userEnv() });
    t.diagnostic(`tsc -b ${r.ms.toFixed(0)} ms`);
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  });

  test("dlt-ts from an ES module loads into DuckDB; its dlt bin runs", async () => {
    const env = userEnv({ DO_NOT_TRACK: "1" });
    const r = await run(process.execPath, ["dlt-esm.mjs"], { cwd: project, env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '{"items":2}\n');
    const version = await run(join(project, "node_modules/.bin/dlt"), ["--version"], { cwd: project, env });
    assert.equal(version.code, 0, version.stderr);
    const manifest = JSON.parse(readFileSync(join(project, "node_modules/dlt-ts/package.json"), "utf8")) as { version: string };
    assert.equal(version.stdout.trim(), manifest.version);
  });

  test("@dlt-ts/collector from an ES module stores an event and serves the dashboard's uPlot and page modules; its bin runs", async () => {
    const r = await run(process.execPath, ["collector-esm.mjs"], { cwd: project, env: userEnv() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '200 [{"event":"command_init"}] 200 200\n');
    const help = await run(join(project, "node_modules/.bin/dlt-collector"), ["--help"], { cwd: project, env: userEnv() });
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /dlt-collector/);
  });
});
