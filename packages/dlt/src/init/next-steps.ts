/**
 * What `dlt init` tells the user to run next, so that it works from where they are: dlt-ts installed in the
 * project already, run from this repository's checkout (or a global install from a tarball), or run by npx from the
 * npm registry. Only what the project cannot resolve yet is installed.
 */
import { createRequire } from "node:module";
import { join, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** This dlt-ts package's folder (where its package.json is). */
export const PACKAGE_DIR = fileURLToPath(new URL("../../../", import.meta.url)).replace(/[\\/]$/, "");

function resolvable(projectDir: string, specifier: string): boolean {
  try {
    createRequire(join(projectDir, "package.json")).resolve(specifier);
    return true;
  } catch {
    return false;
  }
}

/** A shell word: quoted when it holds anything but safe characters. */
const shellWord = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`);

/**
 * The install and run commands for `script` in `projectDir`. dlt-ts comes from the npm registry when this copy was
 * fetched from it by npx, else from this copy's folder (npm links a folder, and its dependencies resolve from
 * where it is installed or checked out).
 */
export function nextSteps(projectDir: string, script: string, version: string, packageDir = PACKAGE_DIR): string[] {
  const missing: string[] = [];
  if (!resolvable(projectDir, "dlt-ts")) {
    missing.push(packageDir.includes(`${sep}_npx${sep}`) ? `dlt-ts@${version}` : shellWord(packageDir));
  }
  if (!resolvable(projectDir, "tsx")) missing.push("tsx");
  const steps = missing.length > 0 ? [`npm install ${missing.join(" ")}`] : [];
  steps.push(`npx tsx ${shellWord(script)}`);
  return steps;
}
