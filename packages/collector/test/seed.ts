import { dltEvent, post } from "./helpers.js";

const DAY = 86_400_000;
const hex = (n: number): string => n.toString(16).padStart(32, "0");

/**
 * Known events: in the last 24 h 3 command_init (1 failed), 5 command_telemetry, 2 pipeline runs into duckdb (the
 * second's load failed); 10 days ago 4 command_init and 1 pipeline run into postgres. Returns the anonymous ids used
 * and the events sent; `again` sends those very events (ids, times) instead of new ones, to seed a second store.
 * No `sentAt`: the stored timestamps are exactly the ones sent, whichever store and whenever.
 */
export async function seed(url: string, auth?: string, again?: Record<string, unknown>[]): Promise<{ anon: string[]; sent: Record<string, unknown>[] }> {
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
  for (let i = 0; i < 3; i++) batch.push(ev(recent, "command_init", { success: i !== 2, elapsed: 2 + i, pipeline_name: "chess", destination_name: "duckdb" }, { ci_run: i === 0 }));
  for (let i = 0; i < 5; i++) batch.push(ev(recent, "command_telemetry", { elapsed: 0.1 }, { ci_run: false, exec_info: i < 2 ? ["docker", "kubernetes"] : [] }));
  for (const [tx, loadOk] of [[1, true], [2, false]] as const) {
    for (const [i, step] of ["extract", "normalize", "load"].entries()) {
      batch.push(ev(recent, `pipeline_${step}`, { transaction_id: hex(tx), destination_name: "duckdb", elapsed: i + 1, success: step !== "load" || loadOk }));
    }
  }
  for (let i = 0; i < 4; i++) batch.push(ev(old, "command_init", { pipeline_name: "x", destination_name: "duckdb" }, { library: { name: "dlt-ts", version: "0.0.9" } }));
  for (const step of ["extract", "normalize", "load"]) batch.push(ev(old, `pipeline_${step}`, { transaction_id: hex(3), destination_name: "postgres" }));
  const sent = again ?? batch;
  const r = await post(url, `${new URL(url).pathname.replace(/\/$/, "")}/v1/batch`, { batch: sent }, auth ? { auth } : {});
  if (r.status !== 200) throw new Error(`seed failed: ${r.status} ${JSON.stringify(r.json)}`);
  return { anon: again ? sent.map((e) => e["anonymousId"] as string) : anon, sent };
}
