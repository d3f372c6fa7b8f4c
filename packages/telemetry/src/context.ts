/**
 * The message `context`: computed once per process, lazily, and only when telemetry is enabled.
 * Only coarse facts: no user, host, path or env value ever goes in here.
 */
import { existsSync } from "node:fs";
import os from "node:os";
import { readBounded } from "./files.js";

/** Who is embedding the library: sent as `context.library`. */
export interface HostInfo {
  /** Library name reported in `context.library.name`. */
  readonly name: string;
  /** Library version reported in `context.library.version`. */
  readonly version: string;
}

/** The `context` object of every message. */
export interface MessageContext {
  readonly ci_run: boolean;
  readonly cpu: number;
  readonly exec_info: readonly ExecInfoName[];
  readonly library: { readonly name: string; readonly version: string };
  readonly os: { readonly name: string; readonly version: string };
  readonly runtime: { readonly name: "node" | "bun" | "deno"; readonly version: string };
}

/**
 * dlt's CI variables (`CI_ENVIRONMENT_TELL` in dlt/common/runtime/exec_info.py), checked as dlt checks them: set
 * at all, whatever the value.
 */
export const DLT_CI_ENV_VARS: readonly string[] = [
  "bamboo.buildKey",
  "BUILD_ID",
  "BUILD_NUMBER",
  "BUILDKITE",
  "CI",
  "CIRCLECI",
  "CONTINUOUS_INTEGRATION",
  "GITHUB_ACTIONS",
  "HUDSON_URL",
  "JENKINS_URL",
  "TEAMCITY_VERSION",
  "TRAVIS",
  "CODEBUILD_BUILD_ARN",
  "CODEBUILD_BUILD_ID",
  "CODEBUILD_BATCH_BUILD_IDENTIFIER",
];

/**
 * More CI systems, each by a variable its CI jobs set and nothing else does (most also set `CI`). Not used: names
 * also set where apps run in production — `VERCEL`, `RENDER`, `NETLIFY` (their builds set `CI` or `BUILD_ID`
 * anyway) — nor generic ones such as `RUN_ID`, nor workflow engines (Argo, Tekton) that run production jobs too.
 */
export const EXTRA_CI_ENV_VARS: readonly string[] = [
  "bamboo_buildKey", // Atlassian Bamboo exports its variables as bamboo_<name> ("bamboo.buildKey" is the UI's name)
  "GITLAB_CI", // GitLab CI/CD
  "TF_BUILD", // Azure Pipelines
  "BITBUCKET_BUILD_NUMBER", // Bitbucket Pipelines
  "DRONE", // Drone CI
  "SEMAPHORE", // Semaphore
  "APPVEYOR", // AppVeyor
  "CF_BUILD_ID", // Codefresh
  "BITRISE_IO", // Bitrise
  "HEROKU_TEST_RUN_ID", // Heroku CI (test runs only, not dynos)
  "CIRRUS_CI", // Cirrus CI
  "HARNESS_BUILD_ID", // Harness CI
];

/** Every variable whose presence means a CI run. */
export const CI_ENV_VARS: readonly string[] = [...DLT_CI_ENV_VARS, ...EXTRA_CI_ENV_VARS];

/** True when any CI variable is set, whatever its value (as dlt: `CI=false` is still set by a CI system). */
export function isCiRun(env: NodeJS.ProcessEnv): boolean {
  return CI_ENV_VARS.some((name) => env[name] !== undefined);
}

/** Every name `exec_info` may hold: dlt's (`TExecInfoNames` in dlt/common/runtime/typing.py), in dlt's order. */
export const EXEC_INFO_NAMES = [
  "kubernetes",
  "docker",
  "codespaces",
  "github_actions",
  "notebook",
  "colab",
  "airflow",
  "dagster",
  "prefect",
  "marimo",
  "aws_lambda",
  "gcp_cloud_function",
  "streamlit",
  "claude_code",
  "claude_code_cli",
  "cursor",
  "codex",
] as const;
export type ExecInfoName = (typeof EXEC_INFO_NAMES)[number];

const set = (env: NodeJS.ProcessEnv, name: string): boolean => env[name] !== undefined;

/** Whether this looks like a Docker (or Podman) container; reads two small files at most, bounded. */
function isContainer(): boolean {
  // dlt: /.dockerenv exists, or "docker" in /proc/self/cgroup. Podman's twin of /.dockerenv is /run/.containerenv.
  if (existsSync("/.dockerenv") || existsSync("/run/.containerenv")) return true;
  const cgroup = readBounded("/proc/self/cgroup", { maxBytes: 64 * 1024, followSymlinks: true });
  return cgroup.kind === "text" && cgroup.text.includes("docker");
}

/**
 * The execution environments dlt detects (dlt/common/runtime/exec_info.py, `exec_info_names`), in dlt's order,
 * from dlt's signals where a Node process can see them. dlt asks Python itself for four of them: `notebook`,
 * `dagster` and `prefect` are then read from what those tools put in the env of the processes they run; `marimo`
 * leaves no such trace and is never reported. `probeFiles: false` skips the container files (for tests).
 */
export function execInfo(env: NodeJS.ProcessEnv, probeFiles = true): ExecInfoName[] {
  const found: Record<ExecInfoName, boolean> = {
    // dlt: kube_pod_info(), any of KUBE_NODE_NAME, KUBE_POD_NAME, KUBE_POD_NAMESPACE (set via the downward API).
    // Ours too: KUBERNETES_SERVICE_HOST, which the kubelet sets in every container of every pod.
    kubernetes: ["KUBE_NODE_NAME", "KUBE_POD_NAME", "KUBE_POD_NAMESPACE", "KUBERNETES_SERVICE_HOST"].some((n) => set(env, n)),
    docker: probeFiles && process.platform === "linux" && isContainer(),
    // dlt: is_codespaces(), CODESPACES set.
    codespaces: set(env, "CODESPACES"),
    // dlt: is_github_actions(), GITHUB_ACTIONS set.
    github_actions: set(env, "GITHUB_ACTIONS"),
    // dlt: IPython's get_ipython() in-process. Here: the env of a Jupyter kernel (JPY_PARENT_PID from
    // jupyter_client, JPY_SESSION_NAME from jupyter_server), which a Node kernel and `!dlt …` in a cell inherit.
    notebook: set(env, "JPY_PARENT_PID") || set(env, "JPY_SESSION_NAME"),
    // dlt: is_colab(), COLAB_RELEASE_TAG set.
    colab: set(env, "COLAB_RELEASE_TAG"),
    // dlt: is_running_in_airflow_task(), AIRFLOW_CTX_TASK_ID set (in a running task). AIRFLOW_HOME alone is a
    // developer's machine with Airflow installed, not a task.
    airflow: set(env, "AIRFLOW_CTX_TASK_ID"),
    // dlt: an active Dagster execution context in-process. Here: DAGSTER_PIPES_CONTEXT, which Dagster Pipes sets
    // for the external process it runs.
    dagster: set(env, "DAGSTER_PIPES_CONTEXT"),
    // dlt: Prefect's get_run_context() in-process. Here: PREFECT__FLOW_RUN_ID, which Prefect's workers and runners
    // set for a flow run's process (and Prefect reads back as its run context).
    prefect: set(env, "PREFECT__FLOW_RUN_ID"),
    // dlt: marimo.running_in_notebook() in-process; nothing reaches another process.
    marimo: false,
    // dlt: is_aws_lambda(), AWS_LAMBDA_FUNCTION_NAME set. Ours too: AWS_EXECUTION_ENV=AWS_Lambda_<runtime>.
    aws_lambda: set(env, "AWS_LAMBDA_FUNCTION_NAME") || (env["AWS_EXECUTION_ENV"]?.startsWith("AWS_Lambda_") ?? false),
    // dlt: is_gcp_cloud_function(), FUNCTION_NAME set (older runtimes). Ours too: FUNCTION_TARGET with K_SERVICE,
    // what newer runtimes set instead (K_SERVICE alone is any Cloud Run service).
    gcp_cloud_function: set(env, "FUNCTION_NAME") || (set(env, "FUNCTION_TARGET") && set(env, "K_SERVICE")),
    // dlt: is_streamlit(), STREAMLIT_SERVER_PORT set.
    streamlit: set(env, "STREAMLIT_SERVER_PORT"),
    // dlt: is_claude_code(), CLAUDECODE=1; is_claude_code_cli() also CLAUDE_CODE_ENTRYPOINT=cli.
    claude_code: env["CLAUDECODE"] === "1",
    claude_code_cli: env["CLAUDECODE"] === "1" && env["CLAUDE_CODE_ENTRYPOINT"] === "cli",
    // dlt: is_cursor(), CURSOR_AGENT=1.
    cursor: env["CURSOR_AGENT"] === "1",
    // dlt: is_codex(), CODEX_CI=1, or CODEX_THREAD_ID or CODEX_SANDBOX set.
    codex: env["CODEX_CI"] === "1" || set(env, "CODEX_THREAD_ID") || set(env, "CODEX_SANDBOX"),
  };
  return EXEC_INFO_NAMES.filter((n) => found[n]);
}

function osName(): string {
  switch (process.platform) {
    case "linux":
      return "Linux";
    case "darwin":
      return "Darwin";
    case "win32":
      return "Windows";
    default:
      return os.type();
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
