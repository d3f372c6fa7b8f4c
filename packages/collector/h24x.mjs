import { DuckDbStore } from "./dist/src/store/duckdb.js";
const s = await DuckDbStore.open(process.argv[2]);
const now = Date.now();
const f = { from: now - 30 * 86400000, to: now + 60000, bucket: "day" };
for (const api of ["versions", "filter_values", "summary", "elapsed", "destinations"]) {
  for (const src of ["aggregates", "events"]) {
    await s.dashboard(api, f, src);
    const t0 = performance.now();
    for (let i = 0; i < 3; i++) await s.dashboard(api, f, src);
    console.log(api, src, ((performance.now() - t0) / 3).toFixed(1), "ms");
  }
}
await s.close();
