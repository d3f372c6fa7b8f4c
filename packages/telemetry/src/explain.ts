/** Everything that decides what telemetry does on this machine, for a host's `--explain`. Reads only. */
import { resolveSettings, type ResolvedSettings, type SettingsLayer } from "./settings.js";
import { droppedCount, listSpool, spoolDir } from "./spool.js";
import { isOpen, readBreaker, type BreakerState } from "./breaker.js";
import type { SettingsOptions } from "./settings.js";
import { redactUrl } from "./url.js";
import { readLedger } from "./ledger.js";
import { telemetryFiles } from "./datadir.js";

/** The explanation of the current settings and sender state. */
export interface TelemetryExplanation {
  readonly enabled: boolean;
  readonly reason: string;
  /** Every layer, highest precedence first; `decides` marks the one that decided. */
  readonly layers: readonly (SettingsLayer & { readonly decides: boolean })[];
  /** The endpoint as configured, credentials in it redacted (`<redacted>@`). */
  readonly endpoint: string;
  /** Where batches are posted, credentials redacted; "" when the endpoint is invalid. */
  readonly batchUrl: string;
  readonly writeKeySet: boolean;
  readonly breaker: BreakerState & { readonly open: boolean };
  /** Spool files waiting for a sender. */
  readonly spooledFiles: number;
  /** Events dropped on this machine so far (caps, age, refusals). */
  readonly dropped: number;
  /** The ledger of what was handed to the network (`readLedger`), and how many messages it holds. */
  readonly ledgerFile: string;
  readonly ledgerEntries: number;
  readonly debug: boolean;
  readonly dryRun: boolean;
  readonly problems: ResolvedSettings["problems"];
}

/**
 * Everything that decides what telemetry does here, for a host's `telemetry --explain`: every settings layer and
 * the one that decides, the endpoint, whether a write key is set, the circuit breaker, the spool, the count of
 * dropped events and the ledger's file. Only reads; never sends.
 *
 * @example
 * const explained = explainTelemetry(options);
 * for (const layer of explained.layers) console.log(layer.source, layer.value, layer.decides ? "<- decides" : "");
 */
export function explainTelemetry(options: SettingsOptions): TelemetryExplanation {
  const s = resolveSettings(options);
  const dataDir = s.locations.dataDir;
  const breaker = readBreaker(dataDir);
  return {
    enabled: s.enabled,
    reason: s.reason,
    layers: s.layers.map((l) => ({ ...l, decides: l.source === s.source })),
    endpoint: redactUrl(s.endpoint),
    batchUrl: redactUrl(s.batchUrl),
    writeKeySet: s.writeKeySet,
    breaker: { ...breaker, open: isOpen(breaker) },
    spooledFiles: listSpool(spoolDir(dataDir)).length,
    dropped: droppedCount(dataDir),
    ledgerFile: telemetryFiles(dataDir).ledger,
    ledgerEntries: readLedger(options).length,
    debug: s.debug,
    dryRun: s.dryRun,
    problems: s.problems,
  };
}
