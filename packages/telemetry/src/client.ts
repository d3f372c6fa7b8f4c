import { lstatSync, renameSync, unlinkSync } from "node:fs";
import { MAX_STATE_BYTES, privateFallbackDir, telemetryFiles } from "./datadir.js";
import { makePrivateDir, readOwnFile, writeNewFile } from "./files.js";
import { randomHex32 } from "./random.js";
import { buildContext, type MessageContext } from "./context.js";
import { handOff, type HandOffResult } from "./handoff.js";
import type { DeliveryAttempt } from "./deliver.js";
import type { LedgerRecord } from "./ledger.js";
import { describeRequest, requestBodies } from "./request.js";
import { DEFAULT_SPOOL_LIMITS, type SpoolLimits } from "./spool.js";
import { DEFAULT_BREAKER, isOpen, readBreaker, recordSuccess, type BreakerPolicy } from "./breaker.js";
import { buildMessage, serializeMessages, type PendingEvent } from "./message.js";
import { claimFirstRun, FIRST_RUN_PROPERTY, firstRunPending } from "./first-run.js";
import { resolveSettings, type ResolvedSettings } from "./settings.js";
import type { TelemetryOptions } from "./options.js";
import type { Properties, TelemetryStatus } from "./types.js";

/** Counters of one client. */
export interface TelemetryStats {
  /** Events waiting in memory. */
  readonly queued: number;
  /** Events dropped because the queue was full or a message was over 32 KB. */
  readonly dropped: number;
  /** Events the endpoint accepted in this process. */
  readonly delivered: number;
  /** Events handed off at exit (spooled, and a sender started unless one runs or the breaker is open). */
  readonly handedOff: number;
  /** What the last hand-off did. */
  readonly lastHandOff?: HandOffResult;
}

/** A telemetry client. No method ever throws, prints (outside debug mode) or keeps the process alive. */
export interface Telemetry {
  /** The resolved settings, and which layer decided them. */
  readonly status: TelemetryStatus;
  /** Records `<category>_<name>`; O(1), never throws. A no-op when disabled. */
  track(category: string, name: string, properties?: Properties): void;
  /**
   * Runs `fn`, then records the event with `elapsed` (seconds) and `success`.
   * An exception counts as failure and is rethrown unchanged.
   */
  timed<T>(category: string, name: string, fn: () => T | Promise<T>, properties?: Properties): Promise<T>;
  /**
   * Sends what is queued now; resolves when done (or given up, within two request timeouts), never rejects. The
   * process stays alive while it is pending, so awaiting it as the last step of a script works.
   */
  flush(): Promise<void>;
  /** Stops background sending and hands what is still queued to a detached sender, so the host can exit at once. */
  shutdown(): Promise<void>;
  /** Counters, for tests and benchmarks. */
  stats(): TelemetryStats;
  /**
   * Whether the host should tell the user, once, what is collected: true when enabled and not yet told on this
   * machine (recorded in the global data dir), or, given the `catalogueHash` of what the host collects, told about
   * something else than this (the notice returns once when what is collected changes). The library never prints it.
   */
  noticeNeeded(catalogueHash?: string): boolean;
  /** Records that the user has been told (about the catalogue with this hash, when given). */
  markNoticeShown(catalogueHash?: string): void;
}

/** A client that records nothing: what `createTelemetry` returns when telemetry is off. */
class DisabledTelemetry implements Telemetry {
  constructor(readonly status: TelemetryStatus) {}
  track(): void {}
  async timed<T>(_c: string, _n: string, fn: () => T | Promise<T>): Promise<T> {
    return await fn();
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
  stats(): TelemetryStats {
    return { queued: 0, dropped: 0, delivered: 0, handedOff: 0 };
  }
  noticeNeeded(): boolean {
    return false;
  }
  markNoticeShown(): void {}
}

class ActiveTelemetry implements Telemetry {
  readonly status: TelemetryStatus;
  private readonly settings: ResolvedSettings;
  private readonly env: NodeJS.ProcessEnv;
  private context: MessageContext | undefined;
  private queue: PendingEvent[] = [];
  /** Serialized messages that failed in-process with a retryable error: the hand-off takes them. */
  private retry: string[] = [];
  /** Serialized messages of the send under way: handed off too if the host exits meanwhile. */
  private inflight: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private dropped = 0;
  private delivered = 0;
  private handedOff = 0;
  private lastHandOff: HandOffResult | undefined;
  private readonly spool: SpoolLimits;
  private readonly breaker: BreakerPolicy;
  private readonly cap: number;
  private readonly flushAt: number;
  private readonly interval: number;
  private readonly requestTimeoutMs: number;
  private readonly lifetimeMs: number;
  private readonly debugWrite: (line: string) => void;
  private readonly onExit = (): void => this.handOffAll();
  /** Whether this process has decided on `first_run_of_version` (once, for its first message). */
  private firstRunDecided = false;

  constructor(
    settings: ResolvedSettings,
    private readonly options: TelemetryOptions,
  ) {
    this.settings = settings;
    this.status = publicStatus(settings);
    this.env = options.env ?? process.env;
    this.cap = options.queueCap ?? 1000;
    this.flushAt = options.flushAt ?? 50;
    this.interval = options.flushIntervalMs ?? 10_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.lifetimeMs = options.handOffLifetimeMs ?? 30_000;
    this.debugWrite = options.debugWrite ?? ((line) => void process.stderr.write(line));
    this.spool = { ...DEFAULT_SPOOL_LIMITS, ...options.spool };
    this.breaker = { ...DEFAULT_BREAKER, ...options.breaker };
    if (!settings.debug) process.once("exit", this.onExit);
  }

  private ctx(): MessageContext {
    return (this.context ??= buildContext(this.options.library, this.env));
  }

  track(category: string, name: string, properties?: Properties): void {
    try {
      const event: PendingEvent = { category, name, properties: properties ? { ...properties } : undefined, at: Date.now() };
      if (this.settings.debug) {
        this.debugWrite(JSON.stringify(buildMessage(event, this.ctx(), this.firstRun())) + "\n");
        return;
      }
      if (this.queue.length >= this.cap) {
        this.dropped++;
        return;
      }
      this.queue.push(event);
      if (this.queue.length >= this.flushAt) this.schedule(0);
      else if (this.timer === undefined) this.schedule(this.interval);
    } catch {
      // Telemetry never throws into its host.
    }
  }

  async timed<T>(category: string, name: string, fn: () => T | Promise<T>, properties?: Properties): Promise<T> {
    const start = performance.now();
    let success = false;
    try {
      const result = await fn();
      success = true;
      return result;
    } finally {
      this.track(category, name, { ...properties, elapsed: (performance.now() - start) / 1000, success });
    }
  }

  private schedule(ms: number): void {
    if (this.timer !== undefined) {
      if (ms > 0) return;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.send();
    }, ms);
    this.timer.unref();
  }

  /** Builds and serializes what is queued (oversized messages are dropped here). */
  private drain(): string[] {
    const events = this.queue;
    this.queue = [];
    if (events.length === 0) return [];
    const ctx = this.ctx();
    const first = this.firstRun();
    const { texts, dropped } = serializeMessages(events.map((e, i) => buildMessage(e, ctx, i === 0 ? first : undefined)));
    this.dropped += dropped;
    return texts;
  }

  /**
   * `{first_run_of_version: true}` for the first message this process builds, when the host asked for it and this
   * is the first run of its version here (the marker's exclusive create decides); debug and dry run only look.
   */
  private firstRun(): Properties | undefined {
    if (this.firstRunDecided || this.options.firstRunOfVersion !== true) return undefined;
    this.firstRunDecided = true;
    const { dataDir } = this.settings.locations;
    const sends = !this.settings.debug && !this.settings.dryRun && this.settings.batchUrl !== "";
    const first = sends ? claimFirstRun(dataDir, this.options.library) : firstRunPending(dataDir, this.options.library);
    return first ? { [FIRST_RUN_PROPERTY]: true } : undefined;
  }

  flush(): Promise<void> {
    // The host awaits this one: the process stays alive until it settles (within two request timeouts: one for a
    // background send under way, one for ours). Without a ref'd handle a script whose last step is `await
    // telemetry.flush()` would end before it resolves, with Node's exit code 13 (an unsettled top-level await).
    const hold = setTimeout(() => undefined, 2 * this.requestTimeoutMs + 1000);
    return this.send().finally(() => clearTimeout(hold));
  }

  /** Sends what is queued; its sockets and timers never keep the host alive (a background flush uses it as is). */
  private send(): Promise<void> {
    if (this.sending) return this.sending.then(() => this.send());
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    let texts: string[];
    try {
      texts = [...this.retry.splice(0), ...this.drain()];
    } catch {
      return Promise.resolve();
    }
    if (texts.length === 0 || this.settings.batchUrl === "") return Promise.resolve();
    if (this.settings.dryRun) {
      this.printDryRun(texts);
      return Promise.resolve();
    }
    const dataDir = this.settings.locations.dataDir;
    if (isOpen(readBreaker(dataDir))) {
      // The endpoint has been failing: no socket now; the hand-off spools these at exit.
      this.retry.push(...texts.slice(0, this.cap));
      return Promise.resolve();
    }
    this.inflight = texts;
    // The network code is loaded on the first send only: a short CLI run never needs it.
    this.sending = import("./send.js")
      .then(async (send) => {
        const r = await send.deliver(
          { url: this.settings.batchUrl, writeKey: this.settings.writeKey, messages: texts },
          { deadline: Date.now() + this.requestTimeoutMs, requestTimeoutMs: this.requestTimeoutMs, ref: false, baseBackoffMs: 100 },
        );
        this.delivered += r.delivered;
        if (r.delivered > 0) recordSuccess(dataDir);
        // Retryable leftovers wait for the next flush or the hand-off, within the queue's cap.
        const kept = r.retryable.slice(0, Math.max(0, this.cap - this.retry.length));
        this.retry.push(...kept);
        this.dropped += r.retryable.length - kept.length;
        this.record(send, r.attempts, new Set(kept));
      })
      .catch(() => undefined)
      .finally(() => {
        this.inflight = [];
        this.sending = undefined;
      });
    return this.sending;
  }

  /** What became of each message posted in-process, in the ledger (`kept`: retried by a later flush or the hand-off). */
  private record(send: typeof import("./send.js"), attempts: readonly DeliveryAttempt[], kept: ReadonlySet<string>): void {
    const { outcomeReason } = send;
    const records: LedgerRecord[] = [];
    for (const a of attempts) {
      if (a.result !== "retryable") {
        records.push({
          messages: a.messages,
          outcome: a.result === "delivered" ? "delivered" : "dropped",
          reason: a.result === "delivered" ? undefined : outcomeReason(a.last),
        });
        continue;
      }
      const reason = outcomeReason(a.last);
      const held = a.messages.filter((m) => kept.has(m));
      const lost = a.messages.filter((m) => !kept.has(m));
      records.push({ messages: held, outcome: "kept", reason }, { messages: lost, outcome: "dropped", reason: `${reason}; queue full` });
    }
    send.recordInLedger(this.settings.locations.dataDir, this.settings.batchUrl, records, () => privateFallbackDir(this.options.envPrefix));
  }

  private handOffAll(): void {
    try {
      if (this.timer !== undefined) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
      const texts = [...this.inflight, ...this.retry.splice(0), ...this.drain()];
      this.inflight = [];
      if (texts.length === 0 || this.settings.batchUrl === "") return;
      if (this.settings.dryRun) {
        this.printDryRun(texts);
        return;
      }
      const result = handOff(
        { url: this.settings.batchUrl, writeKey: this.settings.writeKey, messages: texts },
        {
          dataDir: this.settings.locations.dataDir,
          fallbackDataDir: () => privateFallbackDir(this.options.envPrefix),
          lifetimeMs: this.lifetimeMs,
          requestTimeoutMs: this.requestTimeoutMs,
          breaker: this.breaker,
          spool: this.spool,
        },
        this.env,
      );
      this.lastHandOff = result;
      if (result === "failed") this.dropped += texts.length;
      else this.handedOff += texts.length;
    } catch {
      // Telemetry never throws into its host, least of all at exit.
    }
  }

  /** Dry run: the exact requests, key redacted, on the debug stream; nothing is sent or spooled. */
  private printDryRun(texts: string[]): void {
    for (const body of requestBodies(this.settings.batchUrl, texts)) {
      this.debugWrite(describeRequest(this.settings.batchUrl, body, this.settings.writeKey));
    }
  }

  shutdown(): Promise<void> {
    this.handOffAll();
    return Promise.resolve();
  }

  stats(): TelemetryStats {
    return {
      queued: this.queue.length + this.retry.length,
      dropped: this.dropped,
      delivered: this.delivered,
      handedOff: this.handedOff,
      ...(this.lastHandOff ? { lastHandOff: this.lastHandOff } : {}),
    };
  }

  noticeNeeded(catalogueHash?: string): boolean {
    try {
      const notice = telemetryFiles(this.settings.locations.dataDir).notice;
      if (catalogueHash === undefined) return lstatSync(notice, { throwIfNoEntry: false }) === undefined;
      // Told about this catalogue? A marker without a hash (or one that is not ours) told about an older one.
      return noticeHash(notice) !== catalogueHash;
    } catch {
      return false;
    }
  }

  markNoticeShown(catalogueHash?: string): void {
    const { dataDir } = this.settings.locations;
    const notice = telemetryFiles(dataDir).notice;
    const text = `${new Date().toISOString()}\n${catalogueHash === undefined ? "" : `catalogue ${catalogueHash}\n`}`;
    try {
      makePrivateDir(dataDir);
      if (catalogueHash === undefined) {
        writeNewFile(notice, text);
        return;
      }
      // Replaced whole: a fresh random temp name, created exclusively, renamed over the marker (or a link there).
      const tmp = `${notice}.${randomHex32().slice(0, 12)}.tmp`;
      writeNewFile(tmp, text);
      try {
        renameSync(tmp, notice);
      } catch {
        unlinkSync(tmp);
      }
    } catch {
      /* there already (EEXIST), or a read-only home: the notice shows again next time, which is harmless */
    }
  }
}

/** The catalogue hash a notice marker records (`catalogue <hex>`), if any. */
function noticeHash(path: string): string | undefined {
  const text = readOwnFile(path, MAX_STATE_BYTES);
  return text === undefined ? undefined : /^catalogue ([0-9a-f]{64})$/m.exec(text)?.[1];
}

function publicStatus(s: ResolvedSettings): TelemetryStatus {
  return {
    enabled: s.enabled,
    source: s.source,
    reason: s.reason,
    endpoint: s.endpoint,
    batchUrl: s.batchUrl,
    writeKeySet: s.writeKeySet,
    problems: s.problems,
    debug: s.debug,
  };
}

/**
 * Reads the settings and creates a client. When telemetry is disabled the client does nothing at all: no
 * context is computed and no socket is ever opened. Never throws.
 *
 * @example
 * const telemetry = createTelemetry({
 *   library: { name: "my-cli", version: "1.2.3" },
 *   configDirName: ".my-cli",
 *   envPrefix: "MY_CLI",
 *   defaultEndpoint: "https://telemetry.example.com",
 *   settings: { section: "runtime", enabled: "telemetry", endpoint: "telemetry_endpoint", writeKey: "telemetry_write_key" },
 * });
 * await telemetry.timed("command", "build", () => build());
 * await telemetry.shutdown();
 */
export function createTelemetry(options: TelemetryOptions): Telemetry {
  let settings: ResolvedSettings;
  try {
    settings = resolveSettings(options);
  } catch {
    return new DisabledTelemetry({
      enabled: false,
      source: "default",
      reason: "disabled: settings could not be read",
      endpoint: options.defaultEndpoint,
      batchUrl: "",
      writeKeySet: false,
      problems: [],
      debug: false,
    });
  }
  return settings.enabled ? new ActiveTelemetry(settings, options) : new DisabledTelemetry(publicStatus(settings));
}

/** Resolves the settings without creating a client (for status displays). */
export { resolveSettings };
