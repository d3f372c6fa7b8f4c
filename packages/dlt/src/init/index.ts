/**
 * `dlt init <source> <destination>`: scaffolds a runnable TypeScript pipeline in the current directory, its
 * `.dlt/config.toml` and `.dlt/secrets.toml`, and `.gitignore` lines. Never overwrites without `--force`.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const SUPPORTED_DESTINATIONS = ["duckdb"] as const;
const TEMPLATES = new URL("../../../templates/", import.meta.url);
const SOURCE_NAME = /^[a-z_][a-z0-9_]*$/;

function configToml(source: string): string {
  const sourceSection =
    source === "chess"
      ? `[sources.chess]\n# The chess.com public API.\nbase_url = "https://api.chess.com"\nplayers = ["magnuscarlsen", "rpragchess"]\n# How many monthly game archives to load per player (the latest ones).\nmax_archives = 2\n`
      : `[sources.${source}]\n# Settings of your source, read with sourceConfig("${source}").\ncount = 3\n`;
  return `${sourceSection}
# Anonymous usage telemetry (see \`dlt telemetry\`). Uncomment to switch it off for this project:
# [runtime]
# dlthub_telemetry = false
`;
}

const SECRETS = `# Secrets of your sources (API keys, passwords). Never commit this file.
`;

/** What init reports, for the CLI and its telemetry event. */
export interface InitResult {
  readonly exitCode: number;
  readonly properties: { readonly pipeline_name: string; readonly destination_name: string };
}

export async function initCommand(opts: {
  source: string;
  destination: string;
  force: boolean;
  cwd: string;
  out: (line: string) => void;
  err: (line: string) => void;
}): Promise<InitResult> {
  const properties = { pipeline_name: opts.source, destination_name: opts.destination };
  const fail = (msg: string): InitResult => {
    opts.err(`error: ${msg}`);
    return { exitCode: 1, properties };
  };
  if (!SOURCE_NAME.test(opts.source)) {
    return fail(`invalid source name ${JSON.stringify(opts.source)}: use lowercase letters, digits and underscores, not starting with a digit`);
  }
  if (!(SUPPORTED_DESTINATIONS as readonly string[]).includes(opts.destination)) {
    return fail(`destination ${JSON.stringify(opts.destination)} is not supported. Supported destinations: ${SUPPORTED_DESTINATIONS.join(", ")}`);
  }
  const script = `${opts.source}_pipeline.ts`;
  const files: [string, string][] = [
    [script, readFileSync(new URL(opts.source === "chess" ? "chess_pipeline.ts.tpl" : "generic_pipeline.ts.tpl", TEMPLATES), "utf8")
      .replaceAll("{{source}}", opts.source)
      .replaceAll("{{SOURCE}}", opts.source.toUpperCase())],
    [join(".dlt", "config.toml"), configToml(opts.source)],
    [join(".dlt", "secrets.toml"), SECRETS],
  ];
  const existing = files.map(([f]) => f).filter((f) => existsSync(join(opts.cwd, f)));
  if (existing.length > 0 && !opts.force) {
    return fail(`these files exist already: ${existing.join(", ")} (run again with --force to overwrite them)`);
  }
  mkdirSync(join(opts.cwd, ".dlt"), { recursive: true });
  for (const [f, text] of files) writeFileSync(join(opts.cwd, f), text);
  // .gitignore: add what is missing, keep what is there.
  const gi = join(opts.cwd, ".gitignore");
  const have = existsSync(gi) ? readFileSync(gi, "utf8") : "";
  const want = [".dlt/secrets.toml", `${opts.source}.duckdb`, `${opts.source}.duckdb.wal`];
  const missing = want.filter((l) => !have.split(/\r?\n/).includes(l));
  if (missing.length > 0) appendFileSync(gi, (have === "" || have.endsWith("\n") ? "" : "\n") + missing.join("\n") + "\n");
  opts.out(`Created ${script}, .dlt/config.toml, .dlt/secrets.toml and .gitignore entries for the ${opts.source} pipeline (destination: ${opts.destination}).`);
  opts.out(`Install dlt-ts and tsx (npm install dlt-ts tsx), then run: npx tsx ${script}`);
  return { exitCode: 0, properties };
}
