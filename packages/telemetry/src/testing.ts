/**
 * A fake Segment endpoint for tests: a real HTTP server on loopback that records every connection, request and
 * event it receives. Modes: `ok` (200), `hang` (accepts, never answers), `5xx` (503), `refuse` (closed port),
 * or a function deciding the status per request.
 *
 * @example
 * const rx = await startFakeCollector();
 * process.env.RUNTIME__DLTHUB_TELEMETRY_ENDPOINT = rx.url;
 * // … run the code under test …
 * const [event] = await rx.waitForEvents(1);
 * await rx.close();
 */
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

/** How the fake collector answers. */
export type FakeMode = "ok" | "hang" | "5xx" | "refuse" | ((request: RecordedRequest, index: number) => number);

/** One request as received. */
export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** The raw bytes as they came over the wire (gunzipped if gzip-encoded). */
  readonly body: Buffer;
  /** The parsed JSON body, or undefined if it did not parse. */
  readonly json: unknown;
  /** The HTTP status the fake answered (0 while hanging). */
  status: number;
}

/** A message of a batch or a single call, as received. */
export type RecordedEvent = Record<string, unknown>;

export interface FakeCollector {
  /** Base URL, e.g. `http://127.0.0.1:41234` (for `refuse`, a port nothing listens on). */
  readonly url: string;
  /** Every request, in arrival order. */
  readonly requests: RecordedRequest[];
  /** Every event of every request answered 2xx, in arrival order. */
  readonly events: RecordedEvent[];
  /** Number of TCP connections accepted so far. */
  readonly connections: number;
  /** Changes how later requests are answered. */
  setMode(mode: FakeMode): void;
  /** Resolves with the events once at least `count` have arrived; rejects after `timeoutMs`. */
  waitForEvents(count: number, timeoutMs?: number): Promise<RecordedEvent[]>;
  /** Resolves once at least `count` requests have arrived; rejects after `timeoutMs`. */
  waitForRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  /** Closes the server and every open connection. */
  close(): Promise<void>;
}

/** Where the fake listens. */
export interface FakeCollectorOptions {
  /** A fixed port (to bring an endpoint "back up" at the same address); default: a free one. */
  readonly port?: number;
}

/** Starts a fake collector on 127.0.0.1 (on a free port unless one is given). */
export async function startFakeCollector(mode: FakeMode = "ok", options: FakeCollectorOptions = {}): Promise<FakeCollector> {
  let current = mode;
  const requests: RecordedRequest[] = [];
  const events: RecordedEvent[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const waiters = new Set<() => void>();
  const notify = (): void => {
    for (const w of [...waiters]) w();
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let body = Buffer.concat(chunks);
      if (req.headers["content-encoding"] === "gzip") {
        try {
          body = gunzipSync(body);
        } catch {
          /* keep raw bytes */
        }
      }
      let json: unknown;
      try {
        json = JSON.parse(body.toString("utf8"));
      } catch {
        json = undefined;
      }
      const rec: RecordedRequest = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body, json, status: 0 };
      const index = requests.length;
      requests.push(rec);
      const m = current;
      if (m === "hang") {
        notify();
        return;
      }
      const status = m === "ok" ? 200 : m === "5xx" ? 503 : m === "refuse" ? 200 : m(rec, index);
      rec.status = status;
      if (status >= 200 && status < 300) {
        const obj = json as { batch?: unknown } | undefined;
        if (obj && Array.isArray(obj.batch)) events.push(...(obj.batch as RecordedEvent[]));
        else if (obj && typeof obj === "object") events.push(obj as RecordedEvent);
      }
      res.writeHead(status, { "content-type": "application/json" });
      res.end(status < 300 ? '{"success":true}' : '{"success":false}');
      notify();
    });
  });
  server.on("connection", (s: Socket) => {
    connections++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  if (mode === "refuse") {
    // Free the port again: connecting to it is refused.
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  const waitFor = <T>(ready: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const check = (): void => {
        const v = ready();
        if (v !== undefined) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve(v);
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`fake collector: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    events,
    get connections() {
      return connections;
    },
    setMode(m: FakeMode) {
      current = m;
    },
    waitForEvents(count, timeoutMs = 15_000) {
      return waitFor(() => (events.length >= count ? events.slice() : undefined), timeoutMs, `${count} events (have ${events.length})`);
    },
    waitForRequests(count, timeoutMs = 15_000) {
      return waitFor(() => (requests.length >= count ? requests.slice() : undefined), timeoutMs, `${count} requests`);
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
    },
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEX32 = /^[0-9a-f]{32}$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/**
 * An event with its volatile values replaced by placeholders, for snapshot comparison: `<uuid>`, `<hex32>`,
 * `<timestamp>`, `<seconds>`, `<cpu>`, `<os-version>`, `<runtime-version>`. A value of the wrong shape is kept
 * as it is, so the snapshot diff shows it.
 */
export function snapshotEvent(event: RecordedEvent): RecordedEvent {
  const e = structuredClone(event) as Record<string, unknown>;
  const swap = (obj: Record<string, unknown> | undefined, key: string, re: RegExp | ((v: unknown) => boolean), placeholder: string): void => {
    if (!obj || !(key in obj)) return;
    const v = obj[key];
    const ok = typeof re === "function" ? re(v) : typeof v === "string" && re.test(v);
    if (ok) obj[key] = placeholder;
  };
  swap(e, "messageId", UUID, "<uuid>");
  swap(e, "anonymousId", HEX32, "<hex32>");
  swap(e, "timestamp", ISO, "<timestamp>");
  const props = e["properties"] as Record<string, unknown> | undefined;
  swap(props, "elapsed", (v) => typeof v === "number" && v >= 0, "<seconds>");
  swap(props, "transaction_id", HEX32, "<hex32>");
  const ctx = e["context"] as Record<string, unknown> | undefined;
  swap(ctx, "cpu", (v) => Number.isInteger(v) && (v as number) > 0, "<cpu>");
  swap(ctx?.["os"] as Record<string, unknown> | undefined, "version", (v) => typeof v === "string" && v !== "", "<os-version>");
  swap(ctx?.["runtime"] as Record<string, unknown> | undefined, "version", (v) => typeof v === "string" && v !== "", "<runtime-version>");
  return e;
}

/** Wall time of a process from spawn to exit, with its output: for asserting that a host exits at once. */
export async function timeExit(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<{ ms: number; code: number | null; stdout: string; stderr: string }> {
  const { spawn } = await import("node:child_process");
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(command, [...args], { env: options.env ?? process.env, cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ ms: performance.now() - t0, code, stdout, stderr }));
  });
}

const tempDirs: string[] = [];

/**
 * Pids of processes working in `dir` or started with it in their command line (a detached sender gets its data
 * dir in its argument), from /proc (Linux; elsewhere none are found). libuv returns from spawn only once the child
 * has exec'd, so a sender a host started in an earlier exit hook is already visible here.
 */
function processesIn(dir: string): number[] {
  const out: number[] = [];
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((p) => /^\d+$/.test(p));
  } catch {
    return out;
  }
  for (const p of pids) {
    try {
      const cwd = readlinkSync(`/proc/${p}/cwd`);
      if (cwd === dir || cwd.startsWith(dir + "/") || readFileSync(`/proc/${p}/cmdline`, "utf8").includes(dir)) out.push(Number(p));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return out;
}

function stopAndRemove(dir: string): void {
  const pids = new Set(processesIn(dir).filter((p) => p !== process.pid));
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
  // A killed sender is gone within moments; wait (bounded) so it cannot write into the folder after its removal.
  const end = Date.now() + 2000;
  const wait = new Int32Array(new SharedArrayBuffer(4));
  for (const pid of pids) {
    while (Date.now() < end) {
      try {
        process.kill(pid, 0);
        if (/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, "utf8"))) break;
      } catch {
        break;
      }
      Atomics.wait(wait, 0, 0, 10);
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

/**
 * A fresh temporary folder (under `os.tmpdir()`) that is removed when the process exits, for a test's HOME, project
 * or data dir. A telemetry sender the test's host started for it (its data dir or working directory inside the
 * folder) is stopped first, so it cannot write into the folder after its removal.
 *
 * @example
 * const home = tempDir("home-");
 * spawnSync(process.execPath, ["my-cli.js"], { env: { ...process.env, HOME: home, TMPDIR: home } });
 */
export function tempDir(prefix = "telemetry-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (tempDirs.length === 0) {
    process.on("exit", removeTempDirs);
    // The removal must be the last exit hook: a telemetry client created after this folder hands its queue off in
    // its own exit hook, writing into the folder. Exit hooks run in the order they were added, so ours moves to the
    // end whenever another is added.
    process.on("newListener", (event: string | symbol, listener: unknown) => {
      if (event === "exit" && listener !== removeTempDirs) {
        queueMicrotask(() => {
          process.off("exit", removeTempDirs);
          process.on("exit", removeTempDirs);
        });
      }
    });
  }
  tempDirs.push(dir);
  return dir;
}

function removeTempDirs(): void {
  tempDirs.splice(0).forEach(stopAndRemove);
}

/**
 * The command that runs `command args…` with file permissions in force, for testing how a host meets a file it
 * cannot read or a folder it cannot write. Root passes permission bits (CAP_DAC_OVERRIDE), so when the tests run as
 * root the child runs without those capabilities (util-linux's `setpriv`), as the same user: it still reaches the
 * checkout and the test's folders wherever they are, as another user (`nobody`) might not. Otherwise the command is
 * returned as it is.
 *
 * @example
 * const [command, args] = withoutPrivileges(process.execPath, ["my-cli.js", "status"]);
 * spawnSync(command, args, { env });
 */
export function withoutPrivileges(command: string, args: readonly string[]): [string, string[]] {
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  return root ? ["setpriv", ["--bounding-set=-dac_override,-dac_read_search", command, ...args]] : [command, [...args]];
}

export { runInProcessGroup, type GroupRun, type GroupRunOptions } from "./process-group.js";
export { startLockfileRegistry, type LockfileRegistry, type LockfileRegistryOptions } from "./lockfile-registry.js";
