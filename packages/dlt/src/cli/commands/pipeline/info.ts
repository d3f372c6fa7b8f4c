/**
 * `dlt pipeline <pipeline_name> info`: where the pipeline loads (destination, dataset), its state, its schema's
 * tables with their row counts in DuckDB, the last loads, the packages in its folder, and whether it has a trace —
 * dlt's `info`, with the row counts and loads read from the destination.
 */
import type { Command } from "commander";
import type { DatasetSnapshot } from "../../../pipeline/inspect.js";
import type { CliSession } from "../../session.js";
import { count, formatOption, printJson, table, type OutputFormat } from "../format.js";
import { operation, runOperation } from "./operation.js";

const show = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));

export function registerInfo(group: Command, session: CliSession): void {
  operation(group, "info", "show the pipeline's destination, dataset, state, tables with row counts, last loads and packages (the default)")
    .addOption(formatOption())
    .action((name: string, opts: { format: OutputFormat }) =>
      runOperation(session, "info", async () => {
        const io = session.io;
        const [{ attach }, { readDataset }, { pipelinesDir }] = await Promise.all([
          import("../../../pipeline/pipeline.js"),
          import("../../../pipeline/inspect.js"),
          import("../../../pipeline/package.js"),
        ]);
        const p = attach(name);
        const state = p.state!;
        const { _local: local, ...synced } = state;
        const schemas = p.schemaNames.flatMap((n) => p.schema(n) ?? []);
        let dataset: DatasetSnapshot | undefined;
        let destinationError: string | undefined;
        try {
          dataset = await readDataset(p.dbPath, p.datasetName);
        } catch (e) {
          // Another process writing the file holds DuckDB's lock: the local part is still worth showing.
          destinationError = (e as Error).message;
        }
        const packages = {
          extracted: p.listExtractedLoadPackages(),
          normalized: p.listNormalizedLoadPackages(),
          completed: p.listCompletedLoadPackages(),
        };
        const tables = schemas.map((s) => ({
          schema: s.name,
          version: s.version,
          tables: Object.values(s.tables)
            .filter((t) => !t.name.startsWith("_dlt_"))
            .map((t) => ({
              name: t.name,
              parent: t.parent ?? null,
              writeDisposition: t.parent === undefined ? (t.write_disposition ?? "append") : null,
              columns: Object.keys(t.columns).length,
              rows: dataset ? (dataset.tables[t.name] ?? 0) : null,
            })),
        }));
        const hasTrace = (p.lastTrace?.steps.length ?? 0) > 0;
        if (opts.format === "json") {
          printJson(io, {
            pipelineName: p.pipelineName,
            pipelinesDir: pipelinesDir(),
            destination: "duckdb",
            dbPath: p.dbPath,
            datasetName: p.datasetName,
            state: synced,
            localState: local,
            schemas: tables,
            loads: dataset?.loads ?? [],
            ...(destinationError ? { destinationError } : {}),
            packages,
            hasTrace,
          });
          return 0;
        }
        const out: string[] = [`Found pipeline ${p.pipelineName} in ${pipelinesDir()}`];
        out.push(`Destination: duckdb at ${p.dbPath}`, `Dataset: ${p.datasetName}`, "");
        out.push("Synchronized state:");
        for (const [k, v] of Object.entries(synced)) if (typeof v !== "object" || v === null || Array.isArray(v)) out.push(`${k}: ${show(v)}`);
        if (typeof synced["sources"] === "object" && synced["sources"] !== null) out.push("sources: (use --format json to see the sources' state)");
        out.push("", "Local state:");
        for (const [k, v] of Object.entries(local)) if (v !== undefined) out.push(`${k}: ${show(v)}`);
        out.push("");
        if (destinationError)
          out.push(`WARNING: the destination ${p.dbPath} cannot be read (${destinationError}): row counts and loads are not shown`, "");
        if (tables.length === 0) out.push("This pipeline does not have a default schema (it has not loaded anything yet)", "");
        for (const s of tables) {
          out.push(`Resources in schema: ${s.schema} (version ${s.version})`);
          const rows = s.tables.map((t) => [
            t.name,
            t.parent ?? "-",
            t.writeDisposition ?? "-",
            String(t.columns),
            t.rows === null ? "?" : count(t.rows),
          ]);
          out.push(rows.length > 0 ? table(["TABLE", "PARENT", "WRITE DISPOSITION", "COLUMNS", "ROWS"], rows).trimEnd() : "(no tables)", "");
        }
        if (dataset && dataset.loads.length > 0) {
          out.push(`Last loads in ${p.datasetName}._dlt_loads (newest first):`);
          out.push(
            table(
              ["LOAD ID", "SCHEMA", "STATUS", "INSERTED AT"],
              dataset.loads.map((l) => [l.loadId, l.schemaName ?? "-", String(l.status), l.insertedAt]),
            ).trimEnd(),
            "",
          );
        }
        out.push("Working dir content:");
        const listIds = (ids: readonly string[], what: string): void => {
          if (ids.length > 0) out.push(`Has ${ids.length} ${what} with following load ids:`, ...ids);
        };
        listIds(packages.extracted, "extracted packages ready to be normalized");
        listIds(packages.normalized, "normalized packages ready to be loaded");
        listIds(packages.completed, "completed load packages");
        if (packages.extracted.length + packages.normalized.length + packages.completed.length === 0) out.push("No load packages");
        out.push("");
        out.push(
          hasTrace ? `Pipeline has last run trace. Use 'dlt pipeline ${p.pipelineName} trace' to inspect` : "Pipeline does not have last run trace.",
        );
        io.out(out.join("\n") + "\n");
        return 0;
      }),
    );
}
