// The empty state: with no event at all, how to point a client at this collector, with the URL the browser reached it
// at (a proxy's, when there is one) and its base path.
import type { Setup } from "./api.js";
import { $ } from "./dom.js";

/** Fills the empty state's snippets from what `api/setup` says. */
export function showSetup(setup: Setup): void {
  const url = new URL(setup.basePath, location.origin);
  const endpoint = url.href.replace(/\/$/, "");
  const keyed = setup.writeKeyLabels.length > 0;
  const key = keyed ? "<your write key>" : "";
  $("#endpoint").textContent = endpoint;
  $("#keys-note").textContent = keyed
    ? `It takes events only with one of its write keys (labelled ${setup.writeKeyLabels.join(", ")}): use yours where <your write key> stands.`
    : "It takes events from anyone (no write key configured), so clients need no key.";
  const env = [
    `export RUNTIME__DLTHUB_TELEMETRY_ENDPOINT=${endpoint}`,
    ...(keyed ? [`export RUNTIME__DLTHUB_TELEMETRY_SEGMENT_WRITE_KEY=${key}`] : []),
  ];
  $("#setup-dlt-ts").textContent = [...env, "npx dlt telemetry    # prints the endpoint, and sends a command_telemetry event"].join("\n");
  $("#setup-python").textContent = [...env, "dlt telemetry        # sends a command_telemetry event"].join("\n");
  $("#setup-toml").textContent = [
    "[runtime]",
    `dlthub_telemetry_endpoint = "${endpoint}"`,
    ...(keyed ? [`dlthub_telemetry_segment_write_key = "${key}"`] : []),
  ].join("\n");
  $("#setup-segment").textContent = [
    'import { Analytics } from "@segment/analytics-node";',
    `const analytics = new Analytics({ writeKey: "${key || "any"}", host: "${url.origin}", path: "${url.pathname}v1/batch" });`,
    'analytics.track({ anonymousId: crypto.randomUUID(), event: "hello", properties: { success: true } });',
    "await analytics.closeAndFlush();",
  ].join("\n");
  $("#setup-curl").textContent =
    `curl ${keyed ? `-u '${key}:' ` : ""}-H 'content-type: application/json' ${endpoint}/v1/track \\\n  -d '{"event":"hello","anonymousId":"a1","properties":{"success":true}}'`;
}
