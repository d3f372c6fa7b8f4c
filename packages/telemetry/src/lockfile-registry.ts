/**
 * An npm registry on loopback that serves exactly the packages of a `package-lock.json`, from the tarballs `npm ci`
 * left in the npm cache. Tests that install packages (`npm install <tarballs>`, `npm install some-dir tsx`) point
 * npm at it: the install resolves version ranges against the lockfile's versions and never asks the network.
 *
 * Why not `npm install --offline`: `npm ci` installs from the lockfile's integrity hashes and caches tarballs, not
 * packuments, so resolving a range offline passes only where someone once ran `npm install` with that cache.
 *
 * @example
 * const registry = await startLockfileRegistry({ lockfile: join(repo, "package-lock.json") });
 * const env = { ...process.env, npm_config_registry: registry.url, npm_config_cache: freshCacheDir };
 * // … npm install …
 * await registry.close();
 */
import { spawnSync } from "node:child_process";
import { createReadStream, existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";

export interface LockfileRegistryOptions {
  /** The `package-lock.json` (lockfile version 2 or 3) whose packages are served. */
  readonly lockfile: string;
  /** The npm cache whose `_cacache` holds the tarballs; default: `npm_config_cache`, else `npm config get cache`. */
  readonly cache?: string;
}

export interface LockfileRegistry {
  /** Base URL, e.g. `http://127.0.0.1:41234/`, for `npm_config_registry`. */
  readonly url: string;
  /** Every name npm asked for that the lockfile does not hold (a test names them when an install fails). */
  readonly unknown: readonly string[];
  /** Every tarball asked for that the npm cache does not hold. */
  readonly missing: readonly string[];
  close(): Promise<void>;
}

/** The fields of a lockfile entry a packument's version carries (the package's own manifest fields). */
const MANIFEST_FIELDS = [
  "dependencies",
  "optionalDependencies",
  "peerDependencies",
  "peerDependenciesMeta",
  "bin",
  "engines",
  "os",
  "cpu",
  "libc",
  "hasInstallScript",
  "deprecated",
  "license",
] as const;

interface LockEntry {
  readonly name?: string;
  readonly version?: string;
  readonly integrity?: string;
  readonly link?: boolean;
  readonly [field: string]: unknown;
}

interface Version {
  readonly manifest: Record<string, unknown>;
  readonly integrity: string;
}

/** `1.2.3-rc.1` before `1.2.3`, numerically by part: enough to pick `latest` among a lockfile's versions. */
function compareVersions(a: string, b: string): number {
  const [coreA = "", preA] = a.split("-", 2);
  const [coreB = "", preB] = b.split("-", 2);
  const partsA = coreA.split(".").map(Number);
  const partsB = coreB.split(".").map(Number);
  for (let i = 0; i < 3; i++) if ((partsA[i] ?? 0) !== (partsB[i] ?? 0)) return (partsA[i] ?? 0) - (partsB[i] ?? 0);
  if (preA === preB) return 0;
  return preA === undefined ? 1 : preB === undefined ? -1 : preA < preB ? -1 : 1;
}

/** Every version of every package the lockfile installs, by package name. */
function readLockfile(path: string): Map<string, Map<string, Version>> {
  const lock = JSON.parse(readFileSync(path, "utf8")) as { packages?: Record<string, LockEntry> };
  if (!lock.packages) throw new Error(`${path}: no "packages" (lockfile version 2 or 3 expected)`);
  const byName = new Map<string, Map<string, Version>>();
  for (const [key, entry] of Object.entries(lock.packages)) {
    const at = key.lastIndexOf("node_modules/");
    if (at < 0 || entry.link || !entry.version || !entry.integrity) continue;
    const name = entry.name ?? key.slice(at + "node_modules/".length);
    const manifest: Record<string, unknown> = { name, version: entry.version };
    for (const field of MANIFEST_FIELDS) if (entry[field] !== undefined) manifest[field] = entry[field];
    const versions = byName.get(name) ?? new Map<string, Version>();
    versions.set(entry.version, { manifest, integrity: entry.integrity });
    byName.set(name, versions);
  }
  return byName;
}

function npmCacheDir(): string {
  const fromEnv = process.env["npm_config_cache"];
  if (fromEnv) return fromEnv;
  // npm under Node 22+ writes a compile cache into TMPDIR, which is not ours to fill: it is turned off.
  const r = spawnSync("npm", ["config", "get", "cache"], { encoding: "utf8", env: { ...process.env, NODE_DISABLE_COMPILE_CACHE: "1" } });
  return r.status === 0 && r.stdout.trim() !== "" ? r.stdout.trim() : join(homedir(), ".npm");
}

/** Where cacache keeps the content of an integrity (`sha512-<base64>`): `content-v2/sha512/ab/cd/ef…`. */
function contentPath(cache: string, integrity: string): string | undefined {
  for (const hash of integrity.split(/\s+/)) {
    const dash = hash.indexOf("-");
    if (dash < 0) continue;
    const hex = Buffer.from(hash.slice(dash + 1), "base64").toString("hex");
    const path = join(cache, "_cacache", "content-v2", hash.slice(0, dash), hex.slice(0, 2), hex.slice(2, 4), hex.slice(4));
    if (existsSync(path)) return path;
  }
  return undefined;
}

/** Starts the registry on 127.0.0.1 (a free port). */
export async function startLockfileRegistry(options: LockfileRegistryOptions): Promise<LockfileRegistry> {
  const packages = readLockfile(options.lockfile);
  const cache = options.cache ?? npmCacheDir();
  const unknown: string[] = [];
  const missing: string[] = [];
  let base = "";

  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://registry").pathname).slice(1);
    // Tarballs: /-/<name>/<version>.tgz (the name may be scoped: /-/@scope/name/1.0.0.tgz).
    const tarball = /^-\/(.+)\/([^/]+)\.tgz$/.exec(path);
    if (tarball) {
      const [, name = "", version = ""] = tarball;
      const entry = packages.get(name)?.get(version);
      const file = entry && contentPath(cache, entry.integrity);
      if (!file) {
        missing.push(`${name}@${version}`);
        return send(404, { error: `${name}@${version} is not in the npm cache ${cache}` });
      }
      res.writeHead(200, { "content-type": "application/octet-stream" });
      createReadStream(file).pipe(res);
      return;
    }
    const versions = packages.get(path);
    if (!versions) {
      unknown.push(path);
      return send(404, { error: `${path} is not in ${options.lockfile}` });
    }
    const sorted = [...versions.keys()].sort(compareVersions);
    send(200, {
      name: path,
      "dist-tags": { latest: sorted[sorted.length - 1] },
      versions: Object.fromEntries(
        sorted.map((v) => {
          const { manifest, integrity } = versions.get(v)!;
          return [v, { ...manifest, dist: { tarball: `${base}-/${path}/${v}.tgz`, integrity } }];
        }),
      ),
    });
  });
  const sockets = new Set<Socket>();
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    url: base,
    unknown,
    missing,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
