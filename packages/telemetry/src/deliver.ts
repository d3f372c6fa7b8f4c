/**
 * Delivery of serialized messages with retries: network errors, 429 and 5xx are retried with exponential
 * backoff and full jitter (honouring Retry-After) until a deadline; any other answer is final. Gives up silently.
 */
import { batchBody, groupIntoBatches, singleBody } from "./message.js";
import { isDelivered, isRetryable, post, type PostOutcome } from "./http.js";
import { isSingleUrl } from "./url.js";

/** What a sender needs to deliver a set of messages. */
export interface DeliveryJob {
  /** The URL batches (or single messages, for a `/v1/track` URL) are posted to. */
  readonly url: string;
  readonly writeKey?: string | undefined;
  /** Serialized messages, each under 32 KB. */
  readonly messages: readonly string[];
}

export interface DeliveryOptions {
  /** Epoch ms after which no new attempt starts. */
  readonly deadline: number;
  /** Longest wait for one answer. */
  readonly requestTimeoutMs: number;
  /** Keep sockets and timers ref'd (true in the detached sender). */
  readonly ref: boolean;
  /** First backoff step. */
  readonly baseBackoffMs?: number;
}

/** One group of messages that went out in a request, and how its last attempt ended. */
export interface DeliveryAttempt {
  readonly messages: readonly string[];
  /** `delivered` (2xx), `rejected` (an answer that is final, e.g. 400) or `retryable` (network error, 429, 5xx). */
  readonly result: "delivered" | "rejected" | "retryable";
  readonly last: PostOutcome;
}

/** How many messages reached the endpoint, and which did not. */
export interface DeliveryResult {
  /** Every group that was posted at least once, in order (groups never posted are not here: for the ledger). */
  readonly attempts: readonly DeliveryAttempt[];
  readonly delivered: number;
  /** Messages still undelivered because the deadline passed on a retryable failure. */
  readonly retryable: string[];
  /** Messages the endpoint refused for good (4xx other than 429). */
  readonly rejected: number;
  readonly lastOutcome?: PostOutcome;
}

const sleep = (ms: number, ref: boolean): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    if (!ref) t.unref();
  });

export async function deliver(job: DeliveryJob, opts: DeliveryOptions): Promise<DeliveryResult> {
  const single = isSingleUrl(job.url);
  const groups = single ? job.messages.map((m) => [m]) : groupIntoBatches(job.messages);
  const base = opts.baseBackoffMs ?? 250;
  let delivered = 0;
  let rejected = 0;
  const retryable: string[] = [];
  const attempts: DeliveryAttempt[] = [];
  let last: PostOutcome | undefined;
  for (let g = 0; g < groups.length; g++) {
    const texts = groups[g]!;
    let posted: PostOutcome | undefined;
    for (let attempt = 0; ; attempt++) {
      const remaining = opts.deadline - Date.now();
      if (remaining <= 0) {
        retryable.push(...texts);
        if (posted) attempts.push({ messages: texts, result: "retryable", last: posted });
        break;
      }
      const body = single ? singleBody(texts[0]!) : batchBody(texts);
      last = await post({
        url: job.url,
        body,
        writeKey: job.writeKey,
        timeoutMs: Math.min(opts.requestTimeoutMs, remaining),
        ref: opts.ref,
      });
      posted = last;
      if (isDelivered(last)) {
        delivered += texts.length;
        attempts.push({ messages: texts, result: "delivered", last });
        break;
      }
      if (!isRetryable(last)) {
        rejected += texts.length;
        attempts.push({ messages: texts, result: "rejected", last });
        break;
      }
      const backoff = Math.random() * Math.min(8000, base * 2 ** attempt);
      const wait = Math.max(backoff, last.kind === "status" ? Math.min(last.retryAfterMs ?? 0, 10_000) : 0);
      if (Date.now() + wait >= opts.deadline) {
        retryable.push(...texts);
        attempts.push({ messages: texts, result: "retryable", last });
        break;
      }
      await sleep(wait, opts.ref);
    }
    // A dead endpoint: do not spend the rest of the time on every other batch too.
    if (retryable.length > 0) {
      for (let h = g + 1; h < groups.length; h++) retryable.push(...groups[h]!);
      break;
    }
  }
  return { attempts, delivered, retryable, rejected, ...(last ? { lastOutcome: last } : {}) };
}
