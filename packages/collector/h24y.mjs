import { DuckDBInstance } from "@duckdb/node-api";
import { DuckDbStore } from "./dist/src/store/duckdb.js";
const i = await DuckDBInstance.create(process.argv[2]);
const c = await i.connect();
const now = Date.now();
const parts = [
 ["day", `SELECT count(*) FROM rollup_day WHERE bucket_start >= epoch_ms(${Math.ceil((now-29*86400000)/86400000)*86400000}) AND bucket_start < epoch_ms(${Math.floor(now/86400000)*86400000})`],
 ["hour", `SELECT count(*) FROM rollup WHERE bucket_start >= epoch_ms(${Math.floor(now/86400000)*86400000}) AND bucket_start < epoch_ms(${Math.floor(now/3600000)*3600000})`],
 ["raw", `SELECT count(*) FROM events WHERE "timestamp" >= epoch_ms(${Math.floor(now/3600000)*3600000}) AND "timestamp" < epoch_ms(${now})`],
 ["rawgroup", `SELECT date_trunc('hour', "timestamp"), type, event, event_category, event_name, library_name, library_version, os_name, os_version, runtime_name, runtime_version, ci_run, exec_info, success, destination_name, destination_type, pipeline_name, source_name, write_key_label, transaction_id IS NOT NULL, count(*), min("timestamp"), max("timestamp") FROM events WHERE "timestamp" >= epoch_ms(${now-3600000}) AND "timestamp" < epoch_ms(${now}) GROUP BY ALL`],
];
for (const [n, q] of parts) { await c.run(q); const t0 = performance.now(); for (let k=0;k<5;k++) await c.run(q); console.log(n, ((performance.now()-t0)/5).toFixed(1)); }
