// The message context's environment facts, read as dlt reads them (dlt/common/runtime/exec_info.py).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { DLT_CI_ENV_VARS, EXEC_INFO_NAMES, execInfo, isCiRun } from "../src/index.js";

describe("exec_info: dlt's names from dlt's signals", () => {
  // One env per name, as the platform or tool sets it. File probes (docker) are off: this test machine may be one.
  const signals: [string, NodeJS.ProcessEnv, string[]][] = [
    ["kubernetes via KUBE_POD_NAME (dlt)", { KUBE_POD_NAME: "web-1" }, ["kubernetes"]],
    ["kubernetes via KUBE_NODE_NAME (dlt)", { KUBE_NODE_NAME: "n1" }, ["kubernetes"]],
    ["kubernetes via KUBE_POD_NAMESPACE (dlt)", { KUBE_POD_NAMESPACE: "default" }, ["kubernetes"]],
    ["kubernetes via KUBERNETES_SERVICE_HOST (every pod)", { KUBERNETES_SERVICE_HOST: "10.0.0.1" }, ["kubernetes"]],
    ["codespaces", { CODESPACES: "true" }, ["codespaces"]],
    ["github_actions", { GITHUB_ACTIONS: "true" }, ["github_actions"]],
    ["notebook: a Jupyter kernel's env", { JPY_PARENT_PID: "42" }, ["notebook"]],
    ["colab via COLAB_RELEASE_TAG (dlt)", { COLAB_RELEASE_TAG: "release-colab_20240101" }, ["colab"]],
    ["airflow via AIRFLOW_CTX_TASK_ID (dlt)", { AIRFLOW_CTX_TASK_ID: "load", AIRFLOW_HOME: "/opt/airflow" }, ["airflow"]],
    ["dagster: run by Dagster Pipes", { DAGSTER_PIPES_CONTEXT: "eJyrVgrKz0nVUcrPS1Wy" }, ["dagster"]],
    ["prefect: a flow run's process", { PREFECT__FLOW_RUN_ID: "0d0d5b7e-6a4c-4b43-9d3e-2d8f7a1c6f00" }, ["prefect"]],
    ["aws_lambda via AWS_LAMBDA_FUNCTION_NAME (dlt)", { AWS_LAMBDA_FUNCTION_NAME: "f" }, ["aws_lambda"]],
    ["aws_lambda via AWS_EXECUTION_ENV", { AWS_EXECUTION_ENV: "AWS_Lambda_nodejs20.x" }, ["aws_lambda"]],
    ["gcp_cloud_function via FUNCTION_NAME (dlt)", { FUNCTION_NAME: "f" }, ["gcp_cloud_function"]],
    ["gcp_cloud_function via FUNCTION_TARGET + K_SERVICE", { FUNCTION_TARGET: "handler", K_SERVICE: "f" }, ["gcp_cloud_function"]],
    ["streamlit", { STREAMLIT_SERVER_PORT: "8501" }, ["streamlit"]],
    ["claude_code (any entry point)", { CLAUDECODE: "1", CLAUDE_CODE_ENTRYPOINT: "sdk-ts" }, ["claude_code"]],
    ["claude_code_cli: both names", { CLAUDECODE: "1", CLAUDE_CODE_ENTRYPOINT: "cli" }, ["claude_code", "claude_code_cli"]],
    ["cursor", { CURSOR_AGENT: "1" }, ["cursor"]],
    ["codex via CODEX_CI=1", { CODEX_CI: "1" }, ["codex"]],
    ["codex via CODEX_THREAD_ID", { CODEX_THREAD_ID: "t" }, ["codex"]],
    ["codex via CODEX_SANDBOX", { CODEX_SANDBOX: "seatbelt" }, ["codex"]],
  ];
  for (const [name, env, want] of signals) {
    test(name, () => assert.deepEqual(execInfo(env, false), want));
  }

  test("not reported: AIRFLOW_HOME alone (a laptop with Airflow installed), K_SERVICE alone (any Cloud Run service), CLAUDECODE=0", () => {
    assert.deepEqual(execInfo({ AIRFLOW_HOME: "/home/me/airflow" }, false), []);
    assert.deepEqual(execInfo({ K_SERVICE: "api" }, false), []);
    assert.deepEqual(execInfo({ CLAUDECODE: "0", CURSOR_AGENT: "0", CODEX_CI: "0" }, false), []);
  });

  test("several at once come in dlt's order", () => {
    const all = execInfo({ CODEX_CI: "1", KUBE_POD_NAME: "p", GITHUB_ACTIONS: "true", STREAMLIT_SERVER_PORT: "1", COLAB_RELEASE_TAG: "x" }, false);
    assert.deepEqual(all, ["kubernetes", "github_actions", "colab", "streamlit", "codex"]);
  });

  test("every name is one of dlt's, listed in dlt's order", () => {
    assert.deepEqual(
      [...EXEC_INFO_NAMES],
      [
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
      ],
    );
  });
});

describe("ci_run: dlt's variables are the floor", () => {
  test("each of dlt's 15 variables means CI, set to anything, as dlt checks it", () => {
    assert.equal(DLT_CI_ENV_VARS.length, 15);
    for (const name of DLT_CI_ENV_VARS) {
      for (const value of ["true", "1", "", "false"]) assert.equal(isCiRun({ [name]: value }), true, `${name}=${JSON.stringify(value)}`);
    }
    assert.equal(isCiRun({ "bamboo.buildKey": "PRJ-PLAN-1" }), true);
  });

  test("more CI systems by their own variables", () => {
    for (const name of ["GITLAB_CI", "TF_BUILD", "BITBUCKET_BUILD_NUMBER", "bamboo_buildKey", "HEROKU_TEST_RUN_ID"]) {
      assert.equal(isCiRun({ [name]: "x" }), true, name);
    }
  });

  test("not CI: variables that are also set where apps run in production, or by anything at all", () => {
    for (const name of ["VERCEL", "RENDER", "NETLIFY", "RUN_ID", "ARGO_WORKFLOW_NAME", "KUBERNETES_SERVICE_HOST"]) {
      assert.equal(isCiRun({ [name]: "1" }), false, name);
    }
    assert.equal(isCiRun({}), false);
  });
});
