import { spawn, type ChildProcess } from "node:child_process";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { tempDir } from "@dlt-ts/telemetry/testing";

export const COLLECTOR_BIN = fileURLToPath(new URL("../../bin/dlt-collector.js", import.meta.url));

export const tempDb = (): string => join(tempDir("collector-"), "events.duckdb");

/** A realistic dlt event. */
export function dltEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: "track",
    messageId: crypto.randomUUID(),
    anonymousId: crypto.randomUUID().replaceAll("-", ""),
    timestamp: new Date().toISOString(),
    event: "pipeline_load",
    properties: { event_category: "pipeline", event_name: "load", elapsed: 2.5, success: true, destination_name: "duckdb", transaction_id: "39c3b69c858836c36b9b7c6e046eb391" },
    context: { ci_run: false, cpu: 8, exec_info: ["docker"], library: { name: "dlt-ts", version: "0.1.0" }, os: { name: "Linux", version: "6.1.0" }, runtime: { name: "node", version: "20.20.2" } },
    ...overrides,
  };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: Record<string, unknown>;
}

/** POSTs a body (object → JSON) to the collector; `gzip` compresses it. */
export function post(url: string, path: string, body: unknown, opts: { auth?: string; gzip?: boolean; raw?: Buffer | string; method?: string } = {}): Promise<Reply> {
  let data: Buffer = opts.raw !== undefined ? Buffer.from(opts.raw) : Buffer.from(body === undefined ? "" : JSON.stringify(body));
  const headers: Record<string, string | number> = { "content-type": "application/json" };
  if (opts.gzip) {
    data = gzipSync(data);
    headers["content-encoding"] = "gzip";
  }
  if (opts.auth !== undefined) headers["authorization"] = "Basic " + Buffer.from(`${opts.auth}:`).toString("base64");
  headers["content-length"] = data.length;
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
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
      });
    });
    req.on("error", reject);
    req.end(opts.method === "GET" ? undefined : data);
  });
}

/** Starts `dlt-collector` as a real child process; resolves with its URL once it prints `listening on`. */
export function startChild(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [COLLECTOR_BIN, ...args], { env: { PATH: process.env["PATH"], TMPDIR: tmpdir(), ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1]!, stderr: () => err });
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
