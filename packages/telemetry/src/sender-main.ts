/**
 * The detached sender: `node sender-main.js <job file>`. Reads and removes the job file, delivers with retries,
 * and exits by itself within the job's lifetime whatever the network does. Loads nothing of the host's.
 */
import { readFileSync, unlinkSync } from "node:fs";
import { deliver } from "./deliver.js";
import type { HandOffFile } from "./handoff.js";

const started = Date.now();
const file = process.argv[2];

async function main(): Promise<void> {
  if (!file) return;
  let job: HandOffFile;
  try {
    job = JSON.parse(readFileSync(file, "utf8")) as HandOffFile;
  } finally {
    try {
      unlinkSync(file);
    } catch {
      /* already gone */
    }
  }
  const lifetime = Math.min(Math.max(job.lifetimeMs, 1000), 60_000);
  // Hard limit: whatever happens, this process is gone after its lifetime.
  setTimeout(() => process.exit(0), lifetime + 500).unref();
  await deliver(job, { deadline: started + lifetime, requestTimeoutMs: job.requestTimeoutMs, ref: true });
}

main().then(
  () => process.exit(0),
  () => process.exit(0),
);
