/**
 * A real Chromium for the dashboard's browser tests, on any machine with Node and npm: the system's Chromium when
 * there is one, else the build `@sparticuz/chromium` ships inside its npm tarball (brotli-compressed; never a
 * download), unpacked once into `node_modules/.cache/dlt-ts-chromium/<version>` and reused by later runs.
 * `DLT_TEST_CHROMIUM=bundled` forces the packaged build, `DLT_TEST_CHROMIUM=/path/to/chrome` names a binary.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join, sep } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { tempDir } from "./helpers.js";

const SYSTEM_CHROMIUMS = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome-stable", "/usr/bin/google-chrome"];

/** Flags for a closed network: no background fetches to Google's hosts, which this machine refuses. */
const QUIET = [
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Which browser the tests use, and with which flags. */
export interface BrowserChoice {
  readonly executablePath: string;
  readonly args: readonly string[];
  readonly source: "system" | "bundled" | "env";
}

const require = createRequire(import.meta.url);

/**
 * Unpacks @sparticuz/chromium's binary, fonts and SwiftShader into the cache (once; concurrent test processes
 * each unpack into a private folder and the first rename wins).
 */
async function bundledChromium(): Promise<BrowserChoice> {
  // The package exports no ./package.json: its folder is found from its entry point (…/@sparticuz/chromium/build/…).
  const entry = require.resolve("@sparticuz/chromium");
  const pkgDir = entry.slice(0, entry.lastIndexOf(`${sep}build${sep}`));
  const version = (JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as { version: string }).version;
  const root = join(pkgDir, "..", "..", ".cache", "dlt-ts-chromium");
  const target = join(root, version);
  const sparticuz = (await import("@sparticuz/chromium")).default;
  if (!existsSync(join(target, "chromium"))) {
    mkdirSync(root, { recursive: true });
    const staging = mkdtempSync(join(root, `.unpack-${process.pid}-`));
    // The package unpacks into os.tmpdir(), which follows TMPDIR: point it at the staging folder for this call.
    const saved = process.env["TMPDIR"];
    process.env["TMPDIR"] = staging;
    try {
      await sparticuz.executablePath();
    } finally {
      if (saved === undefined) delete process.env["TMPDIR"];
      else process.env["TMPDIR"] = saved;
    }
    try {
      renameSync(staging, target);
    } catch {
      rmSync(staging, { recursive: true, force: true }); // another process got there first
    }
  }
  // Its flags are made for AWS Lambda; `--single-process` there kills the browser when a test closes its first page.
  const args = sparticuz.args.filter((a) => a !== "--single-process");
  return { executablePath: join(target, "chromium"), args: [...args, ...QUIET], source: "bundled" };
}

/** The browser these tests drive: a system Chromium if present, else the packaged one. */
export async function chooseBrowser(env: NodeJS.ProcessEnv = process.env): Promise<BrowserChoice> {
  const wanted = env["DLT_TEST_CHROMIUM"];
  const args = ["--no-sandbox", ...QUIET];
  if (wanted && wanted !== "bundled") return { executablePath: wanted, args, source: "env" };
  if (wanted !== "bundled") {
    const system = SYSTEM_CHROMIUMS.find((p) => existsSync(p));
    if (system) return { executablePath: system, args, source: "system" };
  }
  return bundledChromium();
}

/** Launches the chosen browser headless. */
export async function launchBrowser(): Promise<Browser> {
  const choice = await chooseBrowser();
  // A POSIX locale (LANG=C.UTF-8, as in containers) reaches the page as `navigator.language = "en-US@posix"`, which
  // Intl refuses: the browser runs with an English locale, as a user's would.
  // Its own TMPDIR, removed at exit: Chromium leaves `.org.chromium.Chromium.*` files there.
  const env = { ...process.env, LANG: "en_US.UTF-8", TMPDIR: tempDir("chromium-tmp-") };
  return chromium.launch({ executablePath: choice.executablePath, args: [...choice.args], headless: true, env });
}
