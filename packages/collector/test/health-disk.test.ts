// A full disk, or a stalled database, is reported as one (issue 27): on a full disk large writes fail while tiny ones
// (a one-event post, the health probe's row) still fit, so neither counts as recovery; `/health` stays 503 with the
// cause, the log says so once (and at most once a minute), and once more on recovery with the counts. A write that
// waits past the write timeout makes `/health` 503 while it waits. The failures are injected at the store's boundary
// (a real DuckDB store behind a wrapper that refuses what would not fit), and played on a real 3 MB tmpfs when the
// tests may mount one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { StoreHealth } from "../src/health.js";
import { DuckDbStore, startCollector, type EventStore } from "../src/index.js";
import type { StoredMessage } from "../src/stamp.js";
import { dltEvent, exited, pollUntil, post, startChild, tempDb, tempDir } from "./helpers.js";

const NO_SPACE = 'IO Error: Could not write file "/srv/telemetry/events.duckdb.wal": No space left on device';

/** A real store whose disk is "full" while `full`: a write of more than `roomBytes` fails as DuckDB's would. */
class FullDisk implements EventStore {
  full = false;
  probes: number[] = [];
  constructor(
    private readonly inner: EventStore,
    private readonly roomBytes: number,
  ) {}
  get location(): string {
    return this.inner.location;
  }
  insert(messages: readonly StoredMessage[]): Promise<number> {
    const bytes = messages.reduce((n, m) => n + m.json.length + 1, 0);
    if (this.full && bytes > this.roomBytes) return Promise.reject(new Error(NO_SPACE));
    return this.inner.insert(messages);
  }
  probe(padBytes = 0): Promise<void> {
    this.probes.push(padBytes);
    // The probe's own row is tiny: it fits unless it is padded to what failed.
    if (this.full && padBytes > this.roomBytes) return Promise.reject(new Error(NO_SPACE));
    return this.inner.probe(padBytes);
  }
  dashboard: EventStore["dashboard"] = (api, filter) => this.inner.dashboard(api, filter);
  housekeep: EventStore["housekeep"] = (days, now) => this.inner.housekeep(days, now);
  query: EventStore["query"] = (sql, params) => this.inner.query(sql, params);
  close = (): Promise<void> => this.inner.close();
}

const health = (url: string): ReturnType<typeof post> => post(url, "/health", undefined, { method: "GET" });
const batchOf = (n: number): { batch: Record<string, unknown>[] } => ({ batch: Array.from({ length: n }, () => dltEvent()) });

test("a full disk: batches 503 while one-event posts fit, /health stays 503 with the cause, one log line, then one recovery line with counts", async (t) => {
  const store = new FullDisk(await DuckDbStore.open(tempDb()), 4_000);
  const lines: string[] = [];
  const c = await startCollector({ port: 0, store, dashboard: false, log: (l) => lines.push(l) });
  t.after(() => c.close());
  assert.equal((await post(c.url, "/v1/batch", batchOf(20))).status, 200);
  store.full = true;
  store.probes = [];
  // Under load, as the issue measured: batches that do not fit between single events that do, and /health polled.
  const deadline = Date.now() + 2_500;
  let small = 0;
  while (Date.now() < deadline) {
    const big = await post(c.url, "/v1/batch", batchOf(20));
    assert.equal(big.status, 503);
    if ((await post(c.url, "/", dltEvent())).status === 200) small++;
    const h = await health(c.url);
    assert.equal(h.status, 503, "a tiny write that fits is no recovery");
    assert.match(String(h.json["store"]), /No space left on device/);
    assert.doesNotMatch(String(h.json["store"]), /\/srv/, "no paths of the host in a public answer");
  }
  assert.ok(small > 0, "single events still fit, and are stored (200)");
  assert.deepEqual(lines, [`storage failing: ${NO_SPACE}`], "one line when failing starts, no flapping");
  assert.ok(store.probes.length > 0 && store.probes.every((p) => p > 4_000), `probes padded past what fits: ${store.probes.join(",")}`);

  // Space again: the padded probe fits, /health sees it without waiting for a batch.
  store.full = false;
  const well = await pollUntil(
    () => health(c.url),
    (r) => r.status === 200,
    10_000,
  );
  assert.deepEqual(well.json, { ok: true });
  assert.equal(lines.length, 2, lines.join("\n"));
  const m =
    /^storage recovered after [\d.]+ s; failed writes: (\d+) × IO Error.*No space left on device; (\d+) smaller writes went through meanwhile$/.exec(
      lines[1]!,
    );
  assert.ok(m, lines[1]);
  assert.ok(Number(m[1]) >= 2 && Number(m[2]) === small, lines[1]);
  assert.equal((await post(c.url, "/v1/batch", batchOf(20))).status, 200);
});

test("a smaller write does not end the failure, a real write as large as the one that failed does", async (t) => {
  const store = new FullDisk(await DuckDbStore.open(tempDb()), 4_000);
  const lines: string[] = [];
  const c = await startCollector({ port: 0, store, dashboard: false, log: (l) => lines.push(l) });
  t.after(() => c.close());
  store.full = true;
  assert.equal((await post(c.url, "/v1/batch", batchOf(10))).status, 503);
  store.full = false;
  assert.equal((await post(c.url, "/", dltEvent())).status, 200);
  assert.equal(lines.length, 1, "the small write proves nothing");
  assert.equal((await post(c.url, "/v1/batch", batchOf(10))).status, 200);
  assert.match(lines[1] ?? "", /^storage recovered after [\d.]+ s; failed writes: 1 × .*; 1 smaller writes went through meanwhile$/);
});

test("StoreHealth while a failure goes on: at most one summary a minute, however many writes fail", () => {
  const lines: string[] = [];
  const h = new StoreHealth(
    async () => undefined,
    (l) => lines.push(l),
    { repeatEveryMs: 60_000 },
  );
  const realNow = Date.now;
  let now = realNow();
  Date.now = () => now;
  try {
    for (let s = 0; s < 150; s++, now += 1000) {
      h.failed(new Error(NO_SPACE), 50_000);
      h.succeeded(500);
    }
  } finally {
    Date.now = realNow;
  }
  assert.equal(lines.length, 3, lines.join("\n"));
  assert.match(lines[1]!, /^storage still failing after 60\.0 s: 61 × /);
  assert.match(lines[2]!, /^storage still failing after 120\.0 s: 121 × /);
});

test("a stalled store: a write waiting past the write timeout makes /health 503 while it waits (logged once) and 200 once it is through", async (t) => {
  const inner = await DuckDbStore.open(tempDb());
  let frozen = false;
  let thaw: () => void = () => undefined;
  const thawed = new Promise<void>((resolve) => (thaw = resolve));
  const store: EventStore = {
    location: inner.location,
    insert: async (m) => {
      if (frozen) await thawed;
      return inner.insert(m);
    },
    // The probe of a frozen database hangs too: /health must not wait for it.
    probe: async (pad) => {
      if (frozen) await thawed;
      return inner.probe(pad);
    },
    dashboard: (api, filter) => inner.dashboard(api, filter),
    housekeep: (days, now) => inner.housekeep(days, now),
    query: (sql, params) => inner.query(sql, params),
    close: () => inner.close(),
  };
  const lines: string[] = [];
  const c = await startCollector({ port: 0, store, dashboard: false, writeTimeoutMs: 300, log: (l) => lines.push(l) });
  t.after(() => c.close());
  frozen = true;
  const waiting = post(c.url, "/", dltEvent());
  const sick = await pollUntil(
    () => health(c.url),
    (r) => r.status === 503,
    5_000,
  );
  assert.match(String(sick.json["store"]), /waited longer than the write timeout \(0\.3 s\)/);
  // Polled again while it lasts: still 503, answered without waiting for a probe that hangs, and no new line.
  const started = Date.now();
  assert.equal((await health(c.url)).status, 503);
  assert.ok(Date.now() - started < 3_000, "answered within the probe's wait");
  await pollUntil(
    () => lines.length,
    (n) => n >= 1,
    2_000,
  );
  assert.deepEqual(lines, ["storage failing: a write has waited longer than the write timeout (0.3 s): the store is not answering"]);
  frozen = false;
  thaw();
  assert.equal((await waiting).status, 200, "the write that waited is stored");
  assert.equal((await health(c.url)).status, 200);
  assert.match(lines[1] ?? "", /^storage recovered after [\d.]+ s; failed writes: 1 × a write has waited/);
});

/** Mounts a `size` tmpfs on a fresh folder, when this process may (root, and `mount` works); else the reason not. */
function smallDisk(size: string): { dir: string; unmount(): void } | string {
  if (process.getuid?.() !== 0) return "needs root to mount a tmpfs (the injected-error tests above cover the logic)";
  const dir = join(tempDir(), "disk");
  mkdirSync(dir);
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0700`, "tmpfs", dir], { stdio: "pipe" });
  } catch (e) {
    return `mount -t tmpfs failed here: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`;
  }
  return { dir, unmount: () => void execFileSync("umount", ["-l", dir]) };
}

test("a real 3 MB tmpfs that fills under load: /health 503 every poll while batches fail, one log line, recovery when space is freed", async (t) => {
  const disk = smallDisk("3m");
  if (typeof disk === "string") return t.skip(disk);
  t.after(() => disk.unmount());
  // Room the test frees later, as an operator would.
  const filler = join(disk.dir, "filler");
  writeFileSync(filler, Buffer.alloc(1024 * 1024, 1));
  const { child, url, stderr } = await startChild(["--port", "0", "--db", join(disk.dir, "events.duckdb"), "--no-dashboard"]);
  t.after(async () => {
    child.kill("SIGTERM");
    await exited(child);
  });
  // Fill it: batches of ~150 KB until the disk refuses one.
  let full = false;
  for (let i = 0; i < 200 && !full; i++) full = (await post(url, "/v1/batch", batchOf(250))).status === 503;
  assert.ok(full, "the disk filled");
  const deadline = Date.now() + 3_000;
  while (Date.now() < deadline) {
    assert.equal((await post(url, "/v1/batch", batchOf(250))).status, 503);
    await post(url, "/", dltEvent());
    const h = await health(url);
    assert.equal(h.status, 503, `every poll while batches fail: ${h.text}\n${stderr()}`);
  }
  const storageLines = (): string[] =>
    stderr()
      .split("\n")
      .filter((l) => /storage/.test(l));
  assert.equal(storageLines().length, 1, stderr());
  assert.match(storageLines()[0]!, /^dlt-collector: storage failing: /);

  rmSync(filler);
  const well = await pollUntil(
    () => health(url),
    (r) => r.status === 200,
    15_000,
    200,
  );
  assert.equal(well.status, 200, well.text);
  assert.equal((await post(url, "/v1/batch", batchOf(250))).status, 200);
  assert.equal(storageLines().length, 2, stderr());
  assert.match(storageLines()[1]!, /^dlt-collector: storage recovered after [\d.]+ s; failed writes: \d+ × /);
});
