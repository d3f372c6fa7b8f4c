/** A request refused, as the leaves return it; the server answers it in one place. */
export interface Refusal {
  readonly ok: false;
  readonly status: 400 | 401 | 405 | 413 | 415 | 503;
  readonly reason: string;
  /** Seconds, for `Retry-After`. */
  readonly retryAfter?: number;
  /** Close the connection after the answer: the body was not read, and the client must not go on sending it. */
  readonly close?: boolean;
}

export const refuse = (status: Refusal["status"], reason: string, more: Pick<Refusal, "retryAfter" | "close"> = {}): Refusal => ({
  ok: false,
  status,
  reason,
  ...more,
});
