/**
 * @module
 * The built-in Codex CLI manifest (`codex exec --json`), following the observations in
 * `runners.md` (codex-cli 0.171.0). Flags per profile, and what each protects against, are
 * explained in `docs/runner-manifests.md`.
 *
 * @example
 * ```ts
 * import { codexManifest } from "./codex.ts";
 * codexManifest.profiles.edit.args; // ["--sandbox", "workspace-write"]
 * ```
 */
import { parseManifest, type RunnerManifest } from "../manifest.ts";

/** Request and stream retries of the provider a configured `OPENAI_BASE_URL` becomes. */
export const CODEX_GATEWAY_RETRIES = 2;

/** The built-in `codex` runner. */
export const codexManifest: RunnerManifest = parseManifest({
  name: "codex",
  description: "OpenAI Codex CLI (codex exec --json), JSONL events",
  binary: "codex",
  install_hint: "install it with `npm i -g @openai/codex`",
  version_args: ["--version"],
  base_args: [
    "exec",
    "--json",
    // Outside a git repo exec refuses to run without it.
    "--skip-git-repo-check",
    // These two removed every phone-home lookup (git ls-remote to github.com, plugin sync,
    // OTel metrics to ab.chatgpt.com).
    "--disable",
    "plugins",
    "-c",
    "analytics.enabled=false",
    // Run `bash -c`, not `bash -lc` (codex 0.171 still reads ~/.bashrc, and runs `bash -lc` once
    // at start-up to capture the environment: docs/runner-manifests.md).
    "-c",
    "allow_login_shell=false",
    // Nothing from the repository or from an earlier run may configure this one
    // (docs/runner-manifests.md, "What a repository cannot configure"):
    // $CODEX_HOME/config.toml is not read, so no project is ever trusted there, and an
    // untrusted project's .codex/config.toml (MCP servers, hooks, sandbox) is not loaded;
    "--ignore-user-config",
    // no execpolicy .rules files (a repository's `allow` rule runs a command outside the
    // sandbox);
    "--ignore-rules",
    // and no lifecycle hooks from any layer.
    "--disable",
    "hooks",
  ],
  profiles: {
    query: { args: ["--sandbox", "read-only"] },
    edit: { args: ["--sandbox", "workspace-write"] },
    // Codex has no finer switch than its sandbox: build equals edit (commands always run).
    build: { args: ["--sandbox", "workspace-write"] },
    full: { args: ["--dangerously-bypass-approvals-and-sandbox"] },
  },
  // `-` makes exec read the prompt from stdin; the supervisor writes it and closes stdin
  // (exec blocks until EOF). The prompt never appears in argv, so it cannot be read as a flag,
  // hit the 128 KiB argument limit, or show up in `ps`.
  prompt: { via: "stdin", args: ["-"] },
  output: "codex-jsonl",
  cancel: { signals: ["SIGINT", "SIGTERM", "SIGKILL"], grace_ms: 2000 },
  env: {
    pass: ["OPENAI_API_KEY", "CODEX_API_KEY", "OPENAI_BASE_URL"],
    set: {},
  },
  state_dir_env: "CODEX_HOME",
  // codex 0.171 ignores OPENAI_BASE_URL, and the retry bounds only apply to a custom provider
  // table (the built-in "openai" one accepts only base_url/auth/headers overrides): a
  // configured base URL becomes the provider "cmesh", key from OPENAI_API_KEY, few retries.
  env_args: {
    OPENAI_BASE_URL: [
      "-c",
      'model_provider="cmesh"',
      "-c",
      `model_providers.cmesh={name="cmesh",base_url={value},wire_api="responses",env_key="OPENAI_API_KEY",request_max_retries=${CODEX_GATEWAY_RETRIES},stream_max_retries=${CODEX_GATEWAY_RETRIES}}`,
    ],
  },
  // With plugins and analytics off, the Responses API is the only host codex contacts; a
  // configured OPENAI_BASE_URL or provider `base_url` (in config args) adds its own host.
  // ChatGPT sign-in (chatgpt.com) cannot work anyway: CODEX_HOME is private to cmesh.
  egress: {
    default: "model",
    hosts: ["api.openai.com:443"],
    url_env: ["OPENAI_BASE_URL"],
    url_arg_keys: ["base_url"],
  },
}, "builtin:codex");
