/**
 * What a stranger can hold of the collector: open connections, body bytes in flight, and time. Past a cap the answer
 * is 503 + `Retry-After` at once, so memory is bounded whatever the clients do (measured in bench/RESULTS.md).
 */

/** Limits on clients. Every field has a default in `DEFAULTS` (index.ts). */
export interface ClientLimits {
  /** Largest request body, on the wire and inflated (Segment: 500 KB). */
  readonly maxBodyBytes: number;
  /** Open connections; a connection past the cap gets 503 + Retry-After and is closed. */
  readonly maxConnections: number;
  /**
   * Body bytes held across all requests, from the first byte read until the request is answered (so the events
   * waiting for a commit count too). A request that would go past it gets 503 + Retry-After before its body is read.
   */
  readonly maxInflightBytes: number;
  /** Time to receive a request's headers (ms); then 408 and the connection is closed. */
  readonly headersTimeoutMs: number;
  /** Time to receive a whole request, headers and body (ms); then 408 and the connection is closed. */
  readonly requestTimeoutMs: number;
}

/** Body bytes in flight across all requests; each request holds a `Hold` on it. */
export class InflightBytes {
  private used = 0;

  constructor(private readonly cap: number) {}

  /** Bytes held now (for tests and metrics). */
  get held(): number {
    return this.used;
  }

  /** A hold of zero bytes, to grow as the body arrives and release when the request is answered. */
  hold(): Hold {
    return new Hold(this);
  }

  /** @internal */
  take(n: number): boolean {
    if (this.used + n > this.cap) return false;
    this.used += n;
    return true;
  }

  /** @internal */
  give(n: number): void {
    this.used -= n;
  }
}

/** One request's share of the in-flight bytes. */
export class Hold {
  private bytes = 0;

  constructor(private readonly pool: InflightBytes) {}

  /** Holds `n` more bytes; false (and nothing held) when that would go past the cap. */
  grow(n: number): boolean {
    if (!this.pool.take(n)) return false;
    this.bytes += n;
    return true;
  }

  /** Gives everything back; idempotent. */
  release(): void {
    this.pool.give(this.bytes);
    this.bytes = 0;
  }
}
