import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { tempDir as removedAtExit } from "@dlt-ts/telemetry/testing";

export const COLLECTOR_BIN = fileURLToPath(new URL("../../bin/dlt-collector.js", import.meta.url));

/** A fresh directory, removed when the test process exits (after stopping anything started for it). */
export const tempDir = (prefix = "collector-"): string => removedAtExit(prefix);

/** A database path in a fresh directory, removed when the test process exits. */
export const tempDb = (): string => join(tempDir(), "events.duckdb");

/** A realistic dlt event. */
export function dltEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: "track",
    messageId: crypto.randomUUID(),
    anonymousId: crypto.randomUUID().replaceAll("-", ""),
    timestamp: new Date().toISOString(),
    event: "pipeline_load",
    properties: {
      event_category: "pipeline",
      event_name: "load",
      elapsed: 2.5,
      success: true,
      destination_name: "duckdb",
      transaction_id: "39c3b69c858836c36b9b7c6e046eb391",
    },
    context: {
      ci_run: false,
      cpu: 8,
      exec_info: ["docker"],
      library: { name: "dlt-ts", version: "0.1.0" },
      os: { name: "Linux", version: "6.1.0" },
      runtime: { name: "node", version: "20.20.2" },
    },
    ...overrides,
  };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: Record<string, unknown>;
  text: string;
}

/**
 * POSTs a body (object → JSON) to the collector; `gzip` compresses it, `auth` is a write key (Basic), `bearer` a read
 * token, `method: "GET"` sends no body.
 */
export function post(
  url: string,
  path: string,
  body: unknown,
  opts: { auth?: string; bearer?: string; gzip?: boolean; raw?: Buffer | string; method?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  let data: Buffer = opts.raw !== undefined ? Buffer.from(opts.raw) : Buffer.from(body === undefined ? "" : JSON.stringify(body));
  const headers: Record<string, string | number> = { "content-type": "application/json" };
  if (opts.gzip) {
    data = gzipSync(data);
    headers["content-encoding"] = "gzip";
  }
  if (opts.auth !== undefined) headers["authorization"] = "Basic " + Buffer.from(`${opts.auth}:`).toString("base64");
  if (opts.bearer !== undefined) headers["authorization"] = `Bearer ${opts.bearer}`;
  Object.assign(headers, opts.headers);
  if (opts.method !== "GET") headers["content-length"] = data.length;
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), { method: opts.method ?? "POST", headers, agent: false }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => {
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json, text });
      });
    });
    req.on("error", reject);
    req.end(opts.method === "GET" ? undefined : data);
  });
}

/** Starts `dlt-collector` as a real child process; resolves with its URL once it prints `listening on`. */
export function startChild(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ child: ChildProcess; url: string; stderr: () => string; stdout: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [COLLECTOR_BIN, ...args], {
      env: { PATH: process.env["PATH"], TMPDIR: tmpdir(), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1]!, stderr: () => err, stdout: () => out });
    });
    child.on("exit", (code) => reject(new Error(`collector exited with ${code}: ${err}`)));
  });
}

export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once("exit", (code) => resolve(code));
  });
}

/**
 * A load from 6 concurrent senders (batches of 20 events) on a collector started by `startChild`, killed with
 * SIGKILL once `killAfter` events were answered 200, while requests are in flight. Resolves when the collector has
 * exited, with the messageIds it acknowledged.
 */
export async function loadThenKill(child: ChildProcess, url: string, killAfter: number): Promise<string[]> {
  const acked: string[] = [];
  let killed = false;
  const sender = async (): Promise<void> => {
    for (let i = 0; i < 400 && !killed; i++) {
      const batch = Array.from({ length: 20 }, () => dltEvent());
      try {
        const r = await post(url, "/v1/batch", { batch });
        if (r.status === 200) acked.push(...batch.map((e) => e["messageId"] as string));
      } catch {
        return; // the collector is gone
      }
    }
  };
  const senders = Array.from({ length: 6 }, sender);
  const t = setInterval(() => {
    if (acked.length >= killAfter && !killed) {
      killed = true;
      child.kill("SIGKILL");
    }
  }, 5);
  await Promise.all(senders);
  clearInterval(t);
  await exited(child);
  assert.ok(killed, "the collector was killed mid-load");
  return acked;
}

/** A raw TCP client of the collector, for requests a normal client would not send (slow, partial, refused). */
export class RawClient {
  private readonly socket: Socket;
  private data = "";
  private readonly closed: Promise<void>;
  private readonly waiters = new Set<() => void>();
  error: NodeJS.ErrnoException | undefined;

  constructor(url: string) {
    const u = new URL(url);
    this.socket = connect(Number(u.port), u.hostname);
    this.socket.on("data", (d: Buffer) => {
      this.data += d.toString("latin1");
      for (const w of this.waiters) w();
    });
    this.socket.on("error", (e: NodeJS.ErrnoException) => (this.error = e));
    this.closed = new Promise((resolve) =>
      this.socket.on("close", () => {
        resolve();
        for (const w of this.waiters) w();
      }),
    );
  }

  /** Everything received so far. */
  get received(): string {
    return this.data;
  }

  write(text: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(text);
  }

  /** Resolves with what was received once it matches `pattern`; rejects after `timeoutMs` or when closed without it. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (pattern.test(this.data)) done(() => resolve(this.data));
        else if (this.socket.destroyed) done(() => reject(new Error(`closed without ${pattern}; got ${JSON.stringify(this.data.slice(0, 300))}`)));
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms; got ${JSON.stringify(this.data.slice(0, 300))}`))),
        timeoutMs,
      );
      const done = (f: () => void): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        f();
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Resolves when the server has closed the connection; rejects after `timeoutMs`. */
  async waitClosed(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still open after ${timeoutMs} ms`)), timeoutMs)));
    try {
      await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  destroy(): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }
}

/**
 * Calls `get` until `ok` accepts its value or `timeoutMs` has passed, `everyMs` apart; returns the last value (the
 * caller asserts on it, so a timeout fails with what was seen).
 */
export async function pollUntil<T>(get: () => T | Promise<T>, ok: (v: T) => boolean, timeoutMs: number, everyMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
