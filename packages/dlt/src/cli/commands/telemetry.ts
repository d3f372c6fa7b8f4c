/**
 * `dlt telemetry [enable|disable] [--explain]`: the status and what decided it; `enable`/`disable` switch it for
 * this machine and project, as `--enable-telemetry`/`--disable-telemetry` do (the habit from `next telemetry
 * disable`); `dlt telemetry log` (`telemetry/log.ts`) prints what was sent. Sends `command_telemetry` (a disabled
 * run sends nothing).
 */
import { Argument, type Command } from "commander";
import { displayPath, explainTelemetry, type TelemetryExplanation } from "@dlt-ts/telemetry";
import { DLT_TELEMETRY_OPTIONS } from "../../telemetry.js";
import type { CliSession } from "../session.js";
import { persistTelemetry, reportSwitch } from "../settings.js";
import { registerTelemetryLog } from "./telemetry/log.js";

/** `dlt telemetry --explain`: every layer, the endpoint, the key (set or not, never its value), the breaker. */
export function formatExplanation(x: TelemetryExplanation): string {
  const show = (v: boolean | undefined): string => (v === undefined ? "-" : v ? "on" : "off");
  const lines = ["", "Layers (highest first):"];
  for (const l of x.layers) {
    // A file that cannot be used counts as an opt-out: say why next to it.
    const b = l.broken;
    const why = b ? `${b.line !== undefined ? `:${b.line}${b.column !== undefined ? `:${b.column}` : ""}` : ""} ${b.reason}: counts as off` : "";
    lines.push(`  ${l.decides ? "*" : " "} ${l.source.padEnd(15)} ${show(l.value).padEnd(4)} ${l.where}${why}`);
  }
  lines.push("  (* decides)", "");
  lines.push(`Endpoint:  ${x.endpoint}`);
  lines.push(`Posts to:  ${x.batchUrl || "(invalid endpoint: nothing is sent)"}`);
  lines.push(`Write key: ${x.writeKeySet ? "set (value not shown)" : "not set"}`);
  const b = x.breaker;
  lines.push(
    `Breaker:   ${b.open ? `open until ${new Date(b.openUntil).toISOString()} (${b.failures} failed deliveries): no attempt before then` : `closed${b.failures ? ` (${b.failures} recent failed deliveries)` : ""}`}`,
  );
  lines.push(`Spool:     ${x.spooledFiles} file(s) waiting; ${x.dropped} event(s) dropped so far`);
  lines.push(`Ledger:    ${displayPath(x.ledgerFile, process.env)}: ${x.ledgerEntries} message(s) sent from this machine (\`dlt telemetry log\`)`);
  if (x.debug) lines.push("Debug:     on (messages go to stderr, nothing is sent)");
  if (x.dryRun) lines.push("Dry run:   on (requests are printed, nothing is sent)");
  return lines.join("\n") + "\n";
}

export function registerTelemetry(program: Command, session: CliSession): void {
  const telemetry = program
    .command("telemetry")
    .description("show whether telemetry is enabled and what decided it; `enable` or `disable` switches it")
    .addArgument(new Argument("[switch]", "switch telemetry for this machine and project").choices(["enable", "disable"]))
    .option("--explain", "show every settings layer, the endpoint, the write key (set or not) and the sender's state")
    .action(async (change: "enable" | "disable" | undefined, opts: { explain?: boolean }) => {
      if (change !== undefined) {
        // As the global flags do: written first, and in force for this run (a disabled run sends nothing).
        session.flag = change === "enable";
        await persistTelemetry(session.flag);
      }
      return session.run("command_telemetry", {}, async () => {
        const io = session.io;
        if (change !== undefined) {
          reportSwitch(io, change === "enable");
        } else {
          const s = session.client().status;
          io.out(`Telemetry is ${s.enabled ? "ENABLED" : "DISABLED"}\n${s.reason}\n`);
        }
        if (opts.explain) {
          const flag = session.flag;
          io.out(formatExplanation(explainTelemetry({ ...DLT_TELEMETRY_OPTIONS, ...(flag === undefined ? {} : { flag }) })));
        }
        return 0;
      });
    });
  registerTelemetryLog(telemetry, session);
}
