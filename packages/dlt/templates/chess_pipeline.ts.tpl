// A dlt-ts pipeline that loads chess.com player profiles and their game archives into DuckDB.
//
// Run it:   npx tsx chess_pipeline.ts      (or compile with tsc and run the .js with node)
// Config:   .dlt/config.toml [sources.chess] (base_url, players); env SOURCES__CHESS__BASE_URL overrides.
import { pipeline, resource, sourceConfig } from "dlt-ts";

const config = sourceConfig("chess");
const baseUrl = String(config["base_url"] ?? "https://api.chess.com").replace(/\/+$/, "");
const players = (config["players"] as string[] | undefined) ?? ["magnuscarlsen", "rpragchess"];
const maxArchives = Number(config["max_archives"] ?? 2);

async function get(path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${baseUrl}${path}`, { headers: { "user-agent": "dlt-ts chess example" } });
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

/** One row per player profile. */
async function* playersProfiles(): AsyncGenerator<Record<string, unknown>> {
  for (const name of players) yield await get(`/pub/player/${name}`);
}

/** Every game of the latest archives of each player (nested objects become `white__rating` columns). */
async function* playersGames(): AsyncGenerator<Record<string, unknown>> {
  for (const name of players) {
    const { archives } = (await get(`/pub/player/${name}/games/archives`)) as { archives: string[] };
    for (const url of archives.slice(-maxArchives)) {
      const { games } = (await get(new URL(url).pathname)) as { games: Record<string, unknown>[] };
      yield* games;
    }
  }
}

const p = pipeline({ pipelineName: "chess", destination: "duckdb", datasetName: "chess_data" });
const info = await p.run([
  resource(playersProfiles, { name: "players_profiles", writeDisposition: "merge", primaryKey: "player_id" }),
  resource(playersGames, { name: "players_games", writeDisposition: "merge", primaryKey: "url" }),
]);
console.log(info.toString());
