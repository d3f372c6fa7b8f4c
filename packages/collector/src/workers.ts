/**
 * `--workers N`: N collector processes on one port (node:cluster; the primary accepts connections and hands them to
 * the workers in turn). Each worker is a whole collector on the shared PostgreSQL database — no state of one is
 * needed by another — so this is the same as N collectors behind a load balancer, on one machine.
 *
 * The primary holds no store. It prints `listening on` once every worker listens (their URLs are the same), relays
 * SIGTERM/SIGINT to the workers and exits when they have drained (0 if every worker stopped cleanly), and replaces a
 * worker that dies on its own. A worker that cannot start (its store cannot be written) stops the whole start.
 */
import cluster, { type Worker } from "node:cluster";

/** What a worker tells the primary. */
export type WorkerMessage = { readonly listening: string; readonly dashboardUrl?: string | undefined } | { readonly failed: string };

/** Whether this process is a worker of `--workers`. */
export const isWorker = (): boolean => cluster.isWorker;

/** In a worker: tells the primary it listens (or why it could not start); resolves once the message is sent. */
export function report(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => (process.send ? process.send(message, undefined, {}, () => resolve()) : resolve()));
}

/** A worker could not start; it printed why itself. */
export class WorkerStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WorkerStartError";
  }
}

/**
 * In the primary: forks `n` workers (each runs this same program with the same arguments, `env` added) and supervises
 * them. Resolves with the URLs once all listen; rejects with the first failure (the others are stopped).
 */
export function startWorkers(
  n: number,
  env: Record<string, string>,
  log: (line: string) => void,
): Promise<{ url: string; dashboardUrl: string | undefined; stop: () => Promise<number> }> {
  let stopping = false;
  const live = new Set<Worker>();
  /** Workers that listen: a worker still starting holds no request, so a stop may simply end it. */
  const ready = new WeakSet<Worker>();
  const fork = (): Worker => {
    const w = cluster.fork(env);
    live.add(w);
    w.on("message", (m: WorkerMessage) => {
      if ("listening" in m) ready.add(w);
    });
    w.on("exit", (code, signal) => {
      live.delete(w);
      if (stopping || !started) return;
      log(`worker ${w.process.pid} exited (${signal ?? code}); starting another`);
      fork();
    });
    return w;
  };
  let started = false;
  return new Promise((resolve, reject) => {
    let listening = 0;
    for (let i = 0; i < n; i++) {
      const w = fork();
      w.on("message", (m: WorkerMessage) => {
        if ("failed" in m) {
          if (started) return;
          stopping = true;
          for (const other of live) other.process.kill("SIGTERM");
          reject(new WorkerStartError(m.failed));
        } else if (!started && ++listening === n) {
          started = true;
          resolve({ url: m.listening, dashboardUrl: m.dashboardUrl, stop });
        }
      });
      w.on("exit", (code) => {
        if (!started && !stopping) {
          stopping = true;
          for (const other of live) other.process.kill("SIGTERM");
          reject(new Error(`a worker exited with ${code} before it listened`));
        }
      });
    }
  });

  /** Stops every worker (each drains as a single collector does); resolves with the exit code for the primary. */
  function stop(): Promise<number> {
    stopping = true;
    const exits = [...live].map(
      (w) =>
        new Promise<number>((resolve) => {
          if (w.process.exitCode !== null) return resolve(w.process.exitCode);
          w.once("exit", (code, signal) => resolve(code === 0 || (!ready.has(w) && signal === "SIGTERM") ? 0 : 1));
          w.process.kill("SIGTERM");
        }),
    );
    return Promise.all(exits).then((codes) => (codes.every((c) => c === 0) ? 0 : 1));
  }
}
