/**
 * The collector's connections: the cap on how many are open, and the drain of a graceful stop.
 *
 * Cap: a connection past `maxConnections` is answered 503 + `Retry-After` as soon as it opens and closed, without
 * parsing anything it sends.
 *
 * Drain (SIGTERM): the listener stops accepting at once; a request already under way, or arriving on a connection that
 * was open, is served in full (200 after its commit) with `Connection: close`, so its client opens no further request
 * on that connection; a connection that stays idle for `idleGraceMs` is closed. Closing an idle keep-alive connection
 * at once — what `server.close()` does since Node 19 — resets the requests its client was sending at that instant
 * (measured: 3–17 ECONNRESET of 32 busy connections in 5 of 11 restarts); the grace makes that window one a client
 * must stay idle through, which a client that is sending does not.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";

interface Tracked {
  /** Requests under way on this connection (more than one only with pipelining). */
  active: number;
  idleTimer: NodeJS.Timeout | undefined;
}

const OVER_CAP_BODY = JSON.stringify({ success: false, error: "too many open connections: retry later" });
const OVER_CAP =
  "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\n" +
  `content-length: ${Buffer.byteLength(OVER_CAP_BODY)}\r\n\r\n${OVER_CAP_BODY}`;

export class Connections {
  private readonly open = new Map<Socket, Tracked>();
  private readonly refused = new WeakSet<Socket>();
  private readonly responses = new Set<ServerResponse>();
  private draining = false;
  private drained: (() => void) | undefined;

  constructor(
    private readonly maxConnections: number,
    private readonly idleGraceMs: number,
  ) {}

  /** Open connections (those under the cap). */
  get size(): number {
    return this.open.size;
  }

  /** A new connection: tracked, or answered 503 and closed when the cap is reached. */
  accept(socket: Socket): void {
    if (this.draining || this.open.size >= this.maxConnections) {
      this.refused.add(socket);
      // Written, then the write side closed; whatever the client still sends is read and dropped until it closes
      // (closing with unread bytes would reset the connection and could lose the 503), at most a second.
      socket.end(OVER_CAP);
      socket.setTimeout(1000, () => socket.destroy());
      return;
    }
    const t: Tracked = { active: 0, idleTimer: undefined };
    this.open.set(socket, t);
    socket.once("close", () => {
      clearTimeout(t.idleTimer);
      this.open.delete(socket);
      if (this.draining && this.open.size === 0) this.drained?.();
    });
  }

  /** False for a request on a connection refused at the cap: it was answered already. */
  admit(req: IncomingMessage, res: ServerResponse): boolean {
    const t = this.open.get(req.socket);
    if (!t) return !this.refused.has(req.socket);
    t.active++;
    clearTimeout(t.idleTimer);
    this.responses.add(res);
    if (this.draining) res.setHeader("connection", "close");
    res.once("close", () => {
      this.responses.delete(res);
      t.active--;
      if (this.draining && t.active === 0) this.closeWhenIdle(req.socket, t);
    });
    return true;
  }

  /**
   * Starts the drain (the caller has stopped the listener): every answer from now on closes its connection, idle
   * connections close after the grace, and anything left after `timeoutMs` is cut. Resolves when none is open.
   */
  drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    for (const res of this.responses) if (!res.headersSent) res.setHeader("connection", "close");
    for (const [socket, t] of this.open) if (t.active === 0) this.closeWhenIdle(socket, t);
    if (this.open.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const cut = setTimeout(() => {
        for (const socket of this.open.keys()) socket.destroy();
      }, timeoutMs);
      this.drained = () => {
        clearTimeout(cut);
        resolve();
      };
    });
  }

  private closeWhenIdle(socket: Socket, t: Tracked): void {
    clearTimeout(t.idleTimer);
    t.idleTimer = setTimeout(() => {
      if (t.active === 0) socket.destroy();
    }, this.idleGraceMs);
  }
}
