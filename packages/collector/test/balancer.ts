/**
 * A tiny TCP load balancer on loopback, standing in for the one in front of several collectors: each client connection
 * goes to the next backend in turn; a backend that refuses the connection (stopped, restarting) is skipped for the
 * next one. Bytes are relayed as they are, and so are closes: a backend's FIN is a FIN to the client, a backend's
 * reset a reset (the client sees ECONNRESET), so the clients see what the collectors do.
 */
import { createServer, connect, type Server, type Socket } from "node:net";

export class RoundRobin {
  private next = 0;
  private readonly sockets = new Set<Socket>();
  /** Connections refused by a backend (and sent to the next one). */
  refused = 0;

  private constructor(
    private readonly server: Server,
    private readonly ports: readonly number[],
  ) {}

  /** Listens on 127.0.0.1 (a free port) in front of the backends' ports. */
  static async start(ports: readonly number[]): Promise<RoundRobin> {
    const server = createServer();
    const lb = new RoundRobin(server, ports);
    server.on("connection", (client) => lb.route(client));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return lb;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  private route(client: Socket): void {
    this.track(client);
    client.pause();
    let backend: Socket | undefined;
    let connected = false;
    client.on("error", () => backend?.destroy());
    client.on("close", () => backend?.destroy());
    const attempt = (tries: number): void => {
      if (client.destroyed) return;
      const port = this.ports[this.next++ % this.ports.length]!;
      const b = connect(port, "127.0.0.1");
      backend = b;
      b.once("connect", () => {
        connected = true;
        this.track(b);
        client.pipe(b);
        b.pipe(client);
        client.resume();
      });
      b.on("error", () => {
        if (connected) return void client.resetAndDestroy();
        this.refused++;
        // Bounded: every backend refusing many times over means there is none; the client is cut.
        if (tries < this.ports.length * 40) setTimeout(() => attempt(tries + 1), tries < this.ports.length ? 0 : 25);
        else client.destroy();
      });
    };
    attempt(0);
  }

  private track(s: Socket): void {
    if (this.sockets.has(s)) return;
    this.sockets.add(s);
    s.once("close", () => this.sockets.delete(s));
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
