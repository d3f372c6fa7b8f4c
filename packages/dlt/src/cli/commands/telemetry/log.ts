/**
 * `dlt telemetry log [--json]`: what this machine handed to the network, from the library's ledger, newest last.
 * One line per message for people (time, event, outcome); `--json` prints the ledger's lines as they are stored,
 * each message byte for byte as it was sent. Only reads; sends `command_telemetry` like `dlt telemetry`.
 */
import type { Command } from "commander";
import { displayPath, explainTelemetry, readLedger, type LedgerEntry } from "@dlt-ts/telemetry";
import { DLT_TELEMETRY_OPTIONS } from "../../../telemetry.js";
import type { CliSession } from "../../session.js";

/** `delivered`, `not delivered (ECONNREFUSED): kept for later`, `dropped (HTTP 400)`. */
export function describeOutcome(e: LedgerEntry): string {
  const why = e.reason !== undefined ? ` (${e.reason})` : "";
  switch (e.outcome) {
    case "delivered":
      return "delivered";
    case "kept":
      return `not delivered${why}: kept for later`;
    case "dropped":
      return `dropped${why}`;
  }
}

/** The ledger for people: time, event, outcome; the event column aligned. */
export function formatLedger(entries: readonly LedgerEntry[]): string {
  const events = entries.map((e) => (typeof e.message["event"] === "string" ? e.message["event"] : "(no event)"));
  const width = Math.max(0, ...events.map((e) => e.length));
  return entries.map((e, i) => `${e.time}  ${events[i]!.padEnd(width)}  ${describeOutcome(e)}\n`).join("");
}

export function registerTelemetryLog(telemetry: Command, session: CliSession): void {
  telemetry
    .command("log")
    .description("print what this machine sent (the ledger), newest last: time, event, outcome")
    .option("--json", "print the ledger's lines as stored: each message exactly as sent, with time, endpoint and outcome")
    // Created under `telemetry`, it inherits the root's excess arguments: refused here, as every command does.
    .allowExcessArguments(false)
    .showHelpAfterError("(run `dlt telemetry log --help` for usage)")
    .action((opts: { json?: boolean }) =>
      session.run("command_telemetry", {}, async () => {
        const io = session.io;
        const entries = readLedger(DLT_TELEMETRY_OPTIONS);
        if (opts.json) io.out(entries.map((e) => `${e.line}\n`).join(""));
        else io.out(formatLedger(entries));
        const file = displayPath(explainTelemetry(DLT_TELEMETRY_OPTIONS).ledgerFile, process.env);
        io.err(
          entries.length === 0
            ? `Nothing has been sent from this machine yet (the ledger is ${file}).\n`
            : `${entries.length} message(s), newest last; the ledger is ${file}\n`,
        );
        return 0;
      }),
    );
}
