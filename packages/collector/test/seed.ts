import { randomUUID } from "node:crypto";
import { dltEvent, post } from "./helpers.js";

const DAY = 86_400_000;
const hex = (n: number): string => n.toString(16).padStart(32, "0");

/**
 * Known events: in the last 24 h 3 command_init (1 failed), 5 command_telemetry, 2 pipeline runs into duckdb (the
 * second's load failed); 10 days ago 4 command_init and 1 pipeline run into postgres. Installs (`first_run_of_version:
 * true`): the first two recent command_init (dlt-ts 0.1.0, the first in CI) and the first old one (dlt-ts 0.0.9); the
 * first recent command_telemetry says `false`, which is no install. Returns the anonymous ids used
 * and the events sent; `again` sends those very events (ids, times) instead of new ones, to seed a second store.
 * No `sentAt`: the stored timestamps are exactly the ones sent, whichever store and whenever.
 */
export async function seed(
  url: string,
  auth?: string,
  again?: Record<string, unknown>[],
): Promise<{ anon: string[]; sent: Record<string, unknown>[] }> {
  const now = Date.now();
  const recent = now - 2 * 3600_000;
  const old = now - 10 * DAY;
  const anon: string[] = [];
  const ev = (at: number, event: string, props: Record<string, unknown>, ctx: Record<string, unknown> = {}): Record<string, unknown> => {
    const e = dltEvent({ event, timestamp: new Date(at).toISOString() });
    const [category, name] = [event.slice(0, event.indexOf("_")), event.slice(event.indexOf("_") + 1)];
    e["properties"] = { event_category: category, event_name: name, elapsed: 1, success: true, ...props };
    e["context"] = { ...(e["context"] as object), ...ctx };
    anon.push(e["anonymousId"] as string);
    return e;
  };
  const batch: Record<string, unknown>[] = [];
  for (let i = 0; i < 3; i++)
    batch.push(
      ev(
        recent,
        "command_init",
        { success: i !== 2, elapsed: 2 + i, pipeline_name: "chess", destination_name: "duckdb", ...(i < 2 ? { first_run_of_version: true } : {}) },
        { ci_run: i === 0 },
      ),
    );
  for (let i = 0; i < 5; i++)
    batch.push(
      ev(
        recent,
        "command_telemetry",
        { elapsed: 0.1, ...(i === 0 ? { first_run_of_version: false } : {}) },
        { ci_run: false, exec_info: i < 2 ? ["docker", "kubernetes"] : [] },
      ),
    );
  for (const [tx, loadOk] of [
    [1, true],
    [2, false],
  ] as const) {
    for (const [i, step] of ["extract", "normalize", "load"].entries()) {
      batch.push(
        ev(recent, `pipeline_${step}`, { transaction_id: hex(tx), destination_name: "duckdb", elapsed: i + 1, success: step !== "load" || loadOk }),
      );
    }
  }
  for (let i = 0; i < 4; i++)
    batch.push(
      ev(
        old,
        "command_init",
        { pipeline_name: "x", destination_name: "duckdb", ...(i === 0 ? { first_run_of_version: true } : {}) },
        { library: { name: "dlt-ts", version: "0.0.9" } },
      ),
    );
  for (const step of ["extract", "normalize", "load"])
    batch.push(ev(old, `pipeline_${step}`, { transaction_id: hex(3), destination_name: "postgres" }));
  const sent = again ?? batch;
  const r = await post(url, `${new URL(url).pathname.replace(/\/$/, "")}/v1/batch`, { batch: sent }, auth ? { auth } : {});
  if (r.status !== 200) throw new Error(`seed failed: ${r.status} ${JSON.stringify(r.json)}`);
  return { anon: again ? sent.map((e) => e["anonymousId"] as string) : anon, sent };
}

/** What `seedMore` sends: Python dlt 1.x's own events, as its client posts them (see dlt-wire.test.ts). */
export const PYTHON_DLT = { library: "dlt 1.5.0", os: "Darwin 23.4.0", runtime: "python 3.12.3" } as const;

/** What `seedMore` sent: the anonymous id it used and the bodies it posted (to post them again elsewhere). */
export interface MoreSent {
  readonly anonymousId: string;
  readonly sent: readonly Record<string, unknown>[];
}

/**
 * Adds Python dlt 1.x's vocabulary and context, 5 hours ago, each event posted alone to the base URL without `type`
 * or `messageId` (dlt's `anon_tracker.py`): 2 command_init of source `github` into `bigquery` (`source_name` /
 * `destination_type`; the second failed) and one pipeline run into bigquery (`destination_name` and
 * `destination_type: dlt.destinations.bigquery`) whose load failed. All on macOS, Python 3.12.3, dlt 1.5.0, in CI
 * (GitHub Actions). With `seed`: 26 events, 4 failed. Returns the anonymous id used (dlt 1.x keeps one per data dir)
 * and the bodies. To seed a second store with the very same events: `withIds` gives each body a `messageId` (which
 * dlt does not send: else each store would make up its own), and `again` posts a previous call's bodies.
 */
export async function seedMore(url: string, auth?: string, options: { withIds?: boolean; again?: MoreSent } = {}): Promise<MoreSent> {
  const at = new Date(Date.now() - 5 * 3600_000).toISOString();
  const anonymousId = "6e7f1a3b9c2d4e5f8a7b6c5d4e3f2a1b";
  const context = {
    ci_run: true,
    python: "3.12.3",
    cpu: 4,
    exec_info: ["github_actions"],
    os: { name: "Darwin", version: "23.4.0" },
    library: { name: "dlt", version: "1.5.0" },
    run_context: "dlt",
  };
  const events: Record<string, unknown>[] = [
    ...[true, false].map((success) => ({
      event: "command_init",
      properties: { source_name: "github", destination_type: "bigquery", elapsed: 1.5, success, event_category: "command", event_name: "init" },
    })),
    ...["extract", "normalize", "load"].map((step, i) => ({
      event: `pipeline_${step}`,
      properties: {
        elapsed: i + 1,
        success: step !== "load",
        destination_name: "bigquery",
        destination_type: "dlt.destinations.bigquery",
        transaction_id: "4".repeat(32),
        event_category: "pipeline",
        event_name: step,
      },
    })),
  ];
  // dlt sends no timestamp; this one is given so the events sit 5 hours back.
  const sent =
    options.again?.sent ??
    events.map((e, i) => ({
      anonymousId,
      ...e,
      context,
      timestamp: at,
      ...(options.withIds ? { messageId: `python-dlt-${i}-${randomUUID()}` } : {}),
    }));
  const base = new URL(url).pathname.replace(/\/?$/, "/");
  for (const body of sent) {
    const r = await post(url, base, body, auth ? { auth } : {});
    if (r.status !== 200) throw new Error(`seedMore failed: ${r.status} ${JSON.stringify(r.json)}`);
  }
  return { anonymousId, sent };
}
