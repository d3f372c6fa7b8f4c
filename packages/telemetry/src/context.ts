/**
 * The message `context`: computed once per process, lazily, and only when telemetry is enabled.
 * Only coarse facts: no user, host, path or env value ever goes in here.
 */
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import type { HostInfo } from "./client.js";

/** The `context` object of every message. */
export interface MessageContext {
  readonly ci_run: boolean;
  readonly cpu: number;
  readonly exec_info: readonly string[];
  readonly library: { readonly name: string; readonly version: string };
  readonly os: { readonly name: string; readonly version: string };
  readonly runtime: { readonly name: "node" | "bun" | "deno"; readonly version: string };
}

/**
 * Env variables whose presence means a CI run: dlt's list (which it took from Rasa / Airflow) plus today's
 * common CI systems.
 */
export const CI_ENV_VARS: readonly string[] = [
  // dlt's list
  "BUILD_ID", "BUILD_NUMBER", "CI", "CI_APP_ID", "CI_BUILD_ID", "CI_BUILD_NUMBER", "CI_NAME",
  "CONTINUOUS_INTEGRATION", "RUN_ID", "TEAMCITY_VERSION",
  // GitHub Actions, GitLab, Azure Pipelines, Bitbucket, CircleCI, Travis, Jenkins, Buildkite, AWS CodeBuild,
  // Google Cloud Build, Drone, Woodpecker, Semaphore, AppVeyor, Codefresh, Bitrise, Vercel, Netlify, Render,
  // Heroku CI, Cirrus, Harness, Tekton, Argo Workflows
  "GITHUB_ACTIONS", "GITLAB_CI", "TF_BUILD", "BITBUCKET_BUILD_NUMBER", "CIRCLECI", "TRAVIS", "JENKINS_URL",
  "BUILDKITE", "CODEBUILD_BUILD_ID", "CLOUD_BUILD_ID", "DRONE", "CI_PIPELINE_ID", "SEMAPHORE", "APPVEYOR",
  "CF_BUILD_ID", "BITRISE_IO", "VERCEL", "NETLIFY", "RENDER", "HEROKU_TEST_RUN_ID", "CIRRUS_CI",
  "HARNESS_BUILD_ID", "TEKTON_PIPELINE_RUN", "ARGO_WORKFLOW_NAME",
];

/** True when any CI variable is set to something other than empty / `false` / `0`. */
export function isCiRun(env: NodeJS.ProcessEnv): boolean {
  for (const name of CI_ENV_VARS) {
    const v = env[name];
    if (v !== undefined && v !== "" && v.toLowerCase() !== "false" && v !== "0") return true;
  }
  return false;
}

function readSmall(path: string): string {
  try {
    return readFileSync(path, "utf8").slice(0, 64 * 1024);
  } catch {
    return "";
  }
}

/** Execution environments detectable from Node, in a stable order. */
export function execInfo(env: NodeJS.ProcessEnv, probeFiles = true): string[] {
  const out: string[] = [];
  if (env["KUBERNETES_SERVICE_HOST"]) out.push("kubernetes");
  if (probeFiles && process.platform === "linux") {
    if (existsSync("/.dockerenv") || existsSync("/run/.containerenv") || /docker|containerd|libpod/.test(readSmall("/proc/1/cgroup"))) {
      out.push("docker");
    }
  }
  if (env["CODESPACES"] === "true") out.push("codespaces");
  if (env["GITHUB_ACTIONS"] === "true") out.push("github_actions");
  if (env["AWS_LAMBDA_FUNCTION_NAME"] || env["AWS_EXECUTION_ENV"]?.startsWith("AWS_Lambda")) out.push("aws_lambda");
  if (env["FUNCTION_TARGET"] && (env["K_SERVICE"] || env["FUNCTION_NAME"])) out.push("gcp_cloud_function");
  if (env["AIRFLOW_CTX_DAG_ID"] || env["AIRFLOW_HOME"]) out.push("airflow");
  // Jupyter kernels for JavaScript (tslab, ijavascript) run with JPY_PARENT_PID set.
  if (env["JPY_PARENT_PID"] || env["JPY_SESSION_NAME"]) out.push("notebook");
  return out;
}

function osName(): string {
  switch (process.platform) {
    case "linux": return "Linux";
    case "darwin": return "Darwin";
    case "win32": return "Windows";
    default: return os.type();
  }
}

function runtime(): MessageContext["runtime"] {
  const versions = process.versions as NodeJS.ProcessVersions & { bun?: string; deno?: string };
  if (versions.bun) return { name: "bun", version: versions.bun };
  if (versions.deno) return { name: "deno", version: versions.deno };
  return { name: "node", version: versions.node };
}

/** Builds the context; call once and keep it. */
export function buildContext(library: HostInfo, env: NodeJS.ProcessEnv): MessageContext {
  return {
    ci_run: isCiRun(env),
    cpu: typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length,
    exec_info: execInfo(env),
    library: { name: library.name, version: library.version },
    os: { name: osName(), version: os.release() },
    runtime: runtime(),
  };
}
