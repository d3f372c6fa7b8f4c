/**
 * The collector's connections: the cap on how many are open, and the drain of a graceful stop.
 *
 * Cap: at `maxConnections`, a new connection takes the place of the one that has been idle longest (no request under
 * way: a keep-alive connection between requests, or one still trickling its headers) if that one has been idle for
 * `evictIdleMs`; otherwise it is answered 503 + `Retry-After` and closed. So connections that send their headers
 * slowly (slowloris) cannot lock out clients that send theirs at once: measured with 1,500 such connections, a
 * legitimate client got 23 of 208 requests through with a plain refusal at the cap, 130 of 195 with this.
 *
 * Drain (SIGTERM): the listener stops accepting at once; a request already under way, or arriving on a connection that
 * was open, is served in full (200 after its commit) with `Connection: close`, so its client opens no further request
 * on that connection; a connection that stays idle for `idleGraceMs` is closed. Closing an idle keep-alive connection
 * at once — what `server.close()` does since Node 19 — resets the requests its client was sending at that instant
 * (issue 16: 3–17 ECONNRESET of 32 busy connections in 5 of 11 restarts; test/drain.test.ts: 67 over 10 restarts);
 * the grace makes that window one a client must stay idle through, which a client that is sending does not.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";

interface Tracked {
  /** Requests under way on this connection (more than one only with pipelining). */
  active: number;
  idleTimer: NodeJS.Timeout | undefined;
}

/** Refused connections kept open for a moment so the client reads its 503 before the close (see `refuse`). */
const MAX_LINGERING = 256;
const LINGER_MS = 250;
/** Refused strangers held (answered, not yet closed) at once, and for how long (see `refuseStranger`). */
const MAX_TARPITTED = 2048;
const TARPIT_MS = 5000;

/** A 503 written straight to the socket: nothing of the request is parsed for it. */
const unavailable = (error: string): string => {
  const body = JSON.stringify({ success: false, error });
  return (
    "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\n" +
    `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
};
const OVER_CAP = unavailable("too many open connections: retry later");
const STRANGERS_FULL = unavailable("too many requests without a write key in their Authorization header under way: retry later");
const STOPPING = unavailable("shutting down: retry later");

export class Connections {
  private readonly open = new Map<Socket, Tracked>();
  /** Open connections with no request under way, oldest idle first (a Map keeps insertion order). */
  private readonly idleSince = new Map<Socket, number>();
  private readonly refused = new WeakSet<Socket>();
  private lingering = 0;
  /** Refused strangers answered and not yet closed (see `refuseStranger`); cut when a drain starts. */
  private readonly tarpitted = new Set<Socket>();
  private readonly responses = new Set<ServerResponse>();
  private draining = false;
  private drained: (() => void) | undefined;

  constructor(
    private readonly maxConnections: number,
    private readonly idleGraceMs: number,
    private readonly evictIdleMs: number,
    /** Told of each connection refused (for metrics), with the refusal's text. */
    private readonly onRefused: (text: string) => void = () => undefined,
  ) {}

  /** Open connections (those under the cap). */
  get size(): number {
    return this.open.size;
  }

  /** A new connection: tracked (in the place of the longest idle one at the cap), or answered 503 and closed. */
  accept(socket: Socket): void {
    if (this.draining) {
      this.onRefused("shutting down");
      return this.refuse(socket, STOPPING);
    }
    if (this.open.size >= this.maxConnections) {
      const [oldest, since] = this.idleSince.entries().next().value ?? [];
      if (!oldest || since === undefined || Date.now() - since < this.evictIdleMs) {
        this.onRefused("too many open connections");
        return this.refuse(socket, OVER_CAP);
      }
      this.forget(oldest);
      oldest.destroy();
    }
    const t: Tracked = { active: 0, idleTimer: undefined };
    this.open.set(socket, t);
    this.idleSince.set(socket, Date.now());
    socket.once("close", () => {
      clearTimeout(t.idleTimer);
      this.forget(socket);
      if (this.draining && this.open.size === 0) this.drained?.();
    });
  }

  private forget(socket: Socket): void {
    this.open.delete(socket);
    this.idleSince.delete(socket);
  }

  /**
   * Answers 503 and closes. The close waits a moment (up to `LINGER_MS`, for at most `MAX_LINGERING` connections at
   * once): bytes the client sent that are still unread at the close would reset the connection, and a reset can make
   * the client lose the 503 it has not read yet. Past that many, under a flood, the close is immediate.
   */
  private refuse(socket: Socket, answer: string): void {
    this.refused.add(socket);
    if (this.lingering >= MAX_LINGERING) return void socket.end(answer, () => socket.destroy());
    this.lingering++;
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    socket.once("close", () => {
      this.lingering--;
      clearTimeout(timer);
    });
    socket.end(answer);
  }

  /**
   * Answers a request whose headers are in with a raw 503 and closes its connection, its body unread: the strangers'
   * share is taken (see `RequestSlots`). Raw, as at the cap, because under a flood of reconnecting strangers this is
   * the common answer, and a `ServerResponse` per refusal kept ~2,000 a second of them in the heap (RSS 1.7× idle).
   */
  refuseStranger(socket: Socket): void {
    this.onRefused("too many requests without a write key in their header");
    // Its place is free at once: while it lingers it holds no slot a keyed client needs.
    this.forget(socket);
    this.refused.add(socket);
    if (this.draining || this.tarpitted.size >= MAX_TARPITTED) return void socket.end(STRANGERS_FULL, () => socket.destroy());
    // The answer is sent but the connection is not ended for a while: a client that reads it closes at once, as
    // `Connection: close` asks; one that reconnects whenever it is closed is slowed down to one try per
    // `TARPIT_MS`, and a flood of them no longer turns into thousands of parsed requests a second (measured with 1,500
    // reconnecting strangers: 26,000 connections in 12 s and RSS 1.8× idle when closed at once; 6,700 in 30 s and
    // 1.44–1.48× with 5 s; 1 s was no better than none).
    this.tarpitted.add(socket);
    const timer = setTimeout(() => socket.destroy(), TARPIT_MS).unref();
    socket.once("close", () => {
      this.tarpitted.delete(socket);
      clearTimeout(timer);
    });
    socket.write(STRANGERS_FULL);
  }

  /** False for a request on a connection refused at the cap: it was answered already. */
  admit(req: IncomingMessage, res: ServerResponse): boolean {
    const t = this.open.get(req.socket);
    if (!t) return !this.refused.has(req.socket);
    t.active++;
    this.idleSince.delete(req.socket);
    clearTimeout(t.idleTimer);
    this.responses.add(res);
    if (this.draining) res.setHeader("connection", "close");
    res.once("close", () => {
      this.responses.delete(res);
      t.active--;
      if (t.active > 0 || !this.open.has(req.socket)) return;
      this.idleSince.set(req.socket, Date.now());
      if (this.draining) this.closeWhenIdle(req.socket, t);
    });
    return true;
  }

  /**
   * Starts the drain (the caller has stopped the listener): every answer from now on closes its connection, idle
   * connections close after the grace, and anything left after `timeoutMs` is cut. Resolves when none is open.
   */
  drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    for (const socket of this.tarpitted) socket.destroy();
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
