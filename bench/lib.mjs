// Shared helpers of the benchmark scripts: timing of whole processes, medians, fake endpoints.
import { spawn } from "node:child_process";
import { createServer } from "node:http";

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Wall time (ms) of a child process from spawn to exit. The child's stdio is ignored. */
export function timeProcess(cmd, args, opts) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { ...opts, stdio: "ignore" });
    child.on("error", reject);
    child.on("exit", (code) => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, code }));
  });
}

/** A loopback endpoint: mode "ok" | "hang" | "slow" (answers after delayMs). Counts events by messageId. */
export async function startEndpoint(mode, delayMs = 2000, port = 0) {
  const ids = new Map();
  const sockets = new Set();
  let requests = 0;
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      requests++;
      if (mode === "hang") return;
      const answer = () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString());
          for (const m of body.batch ?? [body]) ids.set(m.messageId, (ids.get(m.messageId) ?? 0) + 1);
        } catch {}
        res.writeHead(200, { "content-type": "application/json" });
        res.end('{"success":true}');
      };
      if (mode === "slow") setTimeout(answer, delayMs);
      else answer();
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise((r) => server.listen(port, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    ids,
    get requests() {
      return requests;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** A port on loopback where nothing listens. */
export async function refusedUrl() {
  const s = createServer();
  await new Promise((r) => s.listen(0, "127.0.0.1", r));
  const port = s.address().port;
  await new Promise((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}
