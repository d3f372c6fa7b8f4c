/**
 * What a stranger can hold of the collector: open connections, body bytes in flight, and time. Past a cap the answer
 * is 503 + `Retry-After` at once, so memory is bounded whatever the clients do (measured in bench/RESULTS.md).
 *
 * When write keys are configured, a request that carries a valid key in its `Authorization` header is known before
 * its body is read; one that does not (a stranger, or a Segment client with the key in the body) is not. Strangers
 * may hold at most `maxConnections − reservedConnections` requests under way and the same share of the in-flight
 * bytes, so the rest stays for keyed requests however many strangers trickle bodies (issue 27: 1,500 of them left a
 * keyed client 0 of 74 requests). Bodies are charged as their bytes arrive, not as their `Content-Length` announces.
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
  /** Time to receive a body once its headers are in (ms); then 408 and the connection is closed (nginx's `client_body_timeout`, as a deadline). */
  readonly bodyTimeoutMs: number;
  /**
   * With write keys configured: connections (and the same share of `maxInflightBytes`) that requests without a valid
   * key in their `Authorization` header cannot hold, so keyed requests always find room.
   */
  readonly reservedConnections: number;
}

/** Requests of one kind under way, capped (the strangers' share of the connections). */
export class RequestSlots {
  private used = 0;

  constructor(readonly cap: number) {}

  /** Requests under way now (for tests and metrics). */
  get size(): number {
    return this.used;
  }

  /** Takes a slot; false when all are taken. Give it back with `leave`. */
  enter(): boolean {
    if (this.used >= this.cap) return false;
    this.used++;
    return true;
  }

  leave(): void {
    this.used--;
  }
}

/** Body bytes in flight across all requests; each request holds a `Hold` on it. */
export class InflightBytes {
  private used = 0;
  private usedByStrangers = 0;

  /** `strangersCap`: the most that holds of strangers (see `hold`) may take together. */
  constructor(
    private readonly cap: number,
    private readonly strangersCap = cap,
  ) {}

  /** Bytes held now (for tests and metrics). */
  get held(): number {
    return this.used;
  }

  /**
   * A hold of zero bytes, to grow as the body arrives and release when the request is answered. A `stranger`'s
   * holds share `strangersCap`; the rest of the budget stays for keyed requests.
   */
  hold(stranger = false): Hold {
    return new Hold(this, stranger);
  }

  /** @internal */
  take(n: number, stranger: boolean): boolean {
    if (this.used + n > this.cap) return false;
    if (stranger && this.usedByStrangers + n > this.strangersCap) return false;
    this.used += n;
    if (stranger) this.usedByStrangers += n;
    return true;
  }

  /** @internal */
  give(n: number, stranger: boolean): void {
    this.used -= n;
    if (stranger) this.usedByStrangers -= n;
  }
}

/** One request's share of the in-flight bytes. */
export class Hold {
  private bytes = 0;

  constructor(
    private readonly pool: InflightBytes,
    private readonly stranger: boolean,
  ) {}

  /** Holds `n` more bytes; false (and nothing held) when that would go past the cap. */
  grow(n: number): boolean {
    if (!this.pool.take(n, this.stranger)) return false;
    this.bytes += n;
    return true;
  }

  /** Gives everything back; idempotent. */
  release(): void {
    this.pool.give(this.bytes, this.stranger);
    this.bytes = 0;
  }
}
