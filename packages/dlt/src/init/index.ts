/**
 * `dlt init <source> <destination>`: scaffolds a runnable TypeScript pipeline in the current directory with its
 * `.dlt/config.toml`, `.dlt/secrets.toml`, `.gitignore` lines and (when there is none) an ES module
 * `package.json`, then prints the commands that install and run it. A project can hold several pipelines: a second
 * `init` adds its script and its `[sources.<name>]` section to the existing config. What the user has is never
 * lost: an existing script is replaced only with `--force`, config.toml is merged (every key, comment and the
 * telemetry opt-out kept), secrets.toml is never rewritten.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parse as parseToml, TomlError } from "smol-toml";
import { patch } from "@decimalturn/toml-patch";
import { writeAtomic } from "../pipeline/package.js";
import { VERSION } from "../package-json.js";
import { nextSteps } from "./next-steps.js";

export const SUPPORTED_DESTINATIONS = ["duckdb"] as const;

/** The sources `dlt init` has a template of (`dlt init --list-sources`); any other valid name gets the generic one. */
export const TEMPLATE_SOURCES: readonly { readonly name: string; readonly description: string }[] = [
  { name: "chess", description: "player profiles and game archives from the chess.com public API" },
];
/** What any other source name gets. */
export const GENERIC_TEMPLATE = "a generic pipeline (an example resource to replace with your data)";
const TEMPLATES = new URL("../../../templates/", import.meta.url);
const SOURCE_NAME = /^[a-z_][a-z0-9_]*$/;

/** The `[sources.<name>]` section a new pipeline starts with. */
function sourceSection(source: string): string {
  return source === "chess"
    ? `[sources.chess]\n# The chess.com public API.\nbase_url = "https://api.chess.com"\nplayers = ["magnuscarlsen", "rpragchess"]\n# How many monthly game archives to load per player (the latest ones).\nmax_archives = 2\n`
    : `[sources.${source}]\n# Settings of your source, read with sourceConfig("${source}").\ncount = 3\n`;
}

const TELEMETRY_NOTE = `
# Anonymous usage telemetry (see \`dlt telemetry\`). Uncomment to switch it off for this project:
# [runtime]
# dlthub_telemetry = false
`;

const SECRETS = `# Secrets of your sources (API keys, passwords). Never commit this file.
`;

/** What init reports, for the CLI. */
export interface InitResult {
  readonly exitCode: number;
}

type Toml = Record<string, unknown>;
const isTable = (v: unknown): v is Toml => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Adds `[sources.<source>]` to an existing config.toml, or the keys of it the user's section lacks; never changes a
 * value the user has. Returns the new text, or undefined when nothing is missing.
 * @throws Error naming the file when it is not valid TOML (the file is then left as it is).
 */
function mergeConfig(file: string, text: string, source: string): string | undefined {
  let doc: Toml;
  try {
    doc = parseToml(text) as Toml;
  } catch (e) {
    const at = e instanceof TomlError ? `:${e.line}:${e.column}` : "";
    const reason = (e as Error).message.split("\n")[0]!.replace(/^Invalid TOML document:\s*/, "");
    throw new Error(`${file}${at}: ${reason} (fix it, or move it away, and run dlt init again)`);
  }
  const template = parseToml(sourceSection(source)) as { sources: Toml };
  const wanted = template.sources[source] as Toml;
  const sources = doc["sources"];
  const have = isTable(sources) ? sources[source] : undefined;
  if (have === undefined) {
    // A new section is appended as the template writes it, with its comments; if the file declares `sources` in a
    // way a new table cannot extend (an inline table), the section is patched in instead.
    const appended = `${text}${text === "" || text.endsWith("\n") ? "" : "\n"}\n${sourceSection(source)}`;
    try {
      parseToml(appended);
      return appended;
    } catch {
      return patch(text, { ...doc, sources: { ...(isTable(sources) ? sources : {}), [source]: wanted } });
    }
  }
  if (!isTable(have)) throw new Error(`${file}: sources.${source} is not a table`);
  const missing = Object.keys(wanted).filter((k) => !(k in have));
  if (missing.length === 0) return undefined;
  const merged = { ...have };
  for (const k of missing) merged[k] = wanted[k];
  return patch(text, { ...doc, sources: { ...(sources as Toml), [source]: merged } });
}

export async function initCommand(opts: {
  source: string;
  destination: string;
  force: boolean;
  cwd: string;
  out: (line: string) => void;
  err: (line: string) => void;
}): Promise<InitResult> {
  const fail = (msg: string): InitResult => {
    opts.err(`error: ${msg}`);
    return { exitCode: 1 };
  };
  const { source, cwd } = opts;
  if (!SOURCE_NAME.test(source)) {
    return fail(`invalid source name ${JSON.stringify(source)}: use lowercase letters, digits and underscores, not starting with a digit`);
  }
  if (!(SUPPORTED_DESTINATIONS as readonly string[]).includes(opts.destination)) {
    return fail(`destination ${JSON.stringify(opts.destination)} is not supported. Supported destinations: ${SUPPORTED_DESTINATIONS.join(", ")}`);
  }
  const script = `${source}_pipeline.ts`;
  const scriptPath = join(cwd, script);
  if (existsSync(scriptPath) && !opts.force) {
    return fail(`${script} exists already (run again with --force to replace it; your .dlt files are kept either way)`);
  }

  // Everything is checked before anything is written: a broken config.toml stops init with nothing changed.
  const configPath = join(cwd, ".dlt", "config.toml");
  const configText = existsSync(configPath) ? readFileSync(configPath, "utf8") : undefined;
  let newConfig: string | undefined;
  try {
    newConfig = configText === undefined ? `${sourceSection(source)}${TELEMETRY_NOTE}` : mergeConfig(join(".dlt", "config.toml"), configText, source);
  } catch (e) {
    return fail((e as Error).message);
  }

  const done: string[] = [];
  const template = TEMPLATE_SOURCES.some((t) => t.name === source) ? `${source}_pipeline.ts.tpl` : "generic_pipeline.ts.tpl";
  writeFileSync(
    scriptPath,
    readFileSync(new URL(template, TEMPLATES), "utf8").replaceAll("{{source}}", source).replaceAll("{{SOURCE}}", source.toUpperCase()),
  );
  done.push(`created ${script}`);
  mkdirSync(join(cwd, ".dlt"), { recursive: true });
  if (newConfig !== undefined) {
    writeAtomic(configPath, newConfig);
    done.push(configText === undefined ? "created .dlt/config.toml" : `added [sources.${source}] settings to .dlt/config.toml`);
  }
  const secretsPath = join(cwd, ".dlt", "secrets.toml");
  if (!existsSync(secretsPath)) {
    writeFileSync(secretsPath, SECRETS, { mode: 0o600 });
    done.push("created .dlt/secrets.toml");
  }
  // .gitignore: add what is missing, keep what is there.
  const gi = join(cwd, ".gitignore");
  const have = existsSync(gi) ? readFileSync(gi, "utf8") : "";
  const want = [".dlt/secrets.toml", `${source}.duckdb`, `${source}.duckdb.wal`, "node_modules/"];
  const missing = want.filter((l) => !have.split(/\r?\n/).includes(l));
  if (missing.length > 0) {
    appendFileSync(gi, (have === "" || have.endsWith("\n") ? "" : "\n") + missing.join("\n") + "\n");
    done.push(`added ${missing.join(", ")} to .gitignore`);
  }
  // The pipeline is an ES module (imports, top-level await): a project without package.json gets one saying so.
  const pkg = join(cwd, "package.json");
  if (!existsSync(pkg)) {
    const name =
      basename(cwd)
        .toLowerCase()
        .replace(/[^a-z0-9._-]+/g, "-")
        .replace(/^[._-]+/, "") || "dlt-pipelines";
    writeFileSync(pkg, JSON.stringify({ name, private: true, type: "module" }, null, 2) + "\n");
    done.push("created package.json");
  } else if ((JSON.parse(readFileSync(pkg, "utf8")) as { type?: string }).type !== "module") {
    opts.err(`note: ${script} is an ES module: add "type": "module" to package.json, or rename it to ${source}_pipeline.mts`);
  }

  opts.out(`The ${source} pipeline (destination: ${opts.destination}): ${done.join("; ")}.`);
  opts.out("Next:");
  for (const step of nextSteps(cwd, script, VERSION)) opts.out(`  ${step}`);
  return { exitCode: 0 };
}
