// Where events go by default: the project's collector, or the one a distributor set in package.json before packing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir } from "@dlt-ts/telemetry/testing";
import { PROJECT_TELEMETRY_ENDPOINT } from "../src/telemetry.js";
import { freshUser, runNode } from "./cli-helpers.js";

const PKG = fileURLToPath(new URL("../../", import.meta.url));
const NODE_MODULES = fileURLToPath(new URL("../../../../node_modules", import.meta.url));

test("the default endpoint is the project's collector unless a distributor set dltTelemetry.defaultEndpoint in package.json", async () => {
  // Off (DO_NOT_TRACK), and any request through a dead loopback proxy: the default endpoint is shown, never contacted.
  const u = freshUser("", {
    RUNTIME__DLTHUB_TELEMETRY_ENDPOINT: "",
    DO_NOT_TRACK: "1",
    HTTPS_PROXY: "http://127.0.0.1:9",
    HTTP_PROXY: "http://127.0.0.1:9",
  });
  const endpoint = async (bin: string): Promise<string> => {
    const r = await runNode([bin, "telemetry", "--explain"], { cwd: u.project, env: { ...u.env, PATH: process.env["PATH"] } });
    assert.equal(r.code, 0, r.stderr);
    return /^Endpoint: {2}(\S+)$/m.exec(r.stdout)?.[1] ?? "";
  };
  assert.equal(await endpoint(join(PKG, "bin", "dlt.js")), PROJECT_TELEMETRY_ENDPOINT);

  // A distributor's build: the same package, its package.json changed with `npm pkg set` before packing.
  const copy = join(tempDir("dlt-distributed-"), "dlt-ts");
  mkdirSync(copy);
  for (const part of ["bin", "dist", "templates"]) cpSync(join(PKG, part), join(copy, part), { recursive: true });
  symlinkSync(NODE_MODULES, join(copy, "node_modules"));
  const pkg = JSON.parse(readFileSync(join(PKG, "package.json"), "utf8")) as Record<string, unknown>;
  writeFileSync(join(copy, "package.json"), JSON.stringify({ ...pkg, dltTelemetry: { defaultEndpoint: "https://telemetry.acme.example" } }));
  assert.equal(await endpoint(join(copy, "bin", "dlt.js")), "https://telemetry.acme.example");
});
