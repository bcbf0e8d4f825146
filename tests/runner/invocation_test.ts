/**
 * @module
 * Exact argv, env and stdin for every built-in runner × profile, and the typed errors of
 * buildInvocation.
 */
import assert from "node:assert/strict";
import { buildInvocation, MAX_ARG_PROMPT_BYTES } from "../../src/runner/invocation.ts";
import { parseManifest } from "../../src/runner/manifest.ts";
import { claudeManifest } from "../../src/runner/builtin/claude.ts";
import { codexManifest } from "../../src/runner/builtin/codex.ts";
import { demoInvocationPrefix, demoManifest } from "../../src/runner/builtin/demo.ts";
import { setupError } from "./_setup_error.ts";

const DAEMON_ENV = {
  PATH: "/usr/local/bin:/usr/bin",
  HOME: "/home/ada",
  LANG: "C.UTF-8",
  ANTHROPIC_API_KEY: "sk-ant-x",
  OPENAI_API_KEY: "sk-oa-x",
  AWS_SECRET_ACCESS_KEY: "aws",
  CMESH_CONTROL_TOKEN: "tok",
};
const CWD = "/srv/app";
const PROMPT = "List the failing tests";

type BuildOptions = Parameters<typeof buildInvocation>[0];

/**
 * buildInvocation of `manifest` and `binary` with this file's defaults (profile query, PROMPT
 * in CWD, DAEMON_ENV), `over` replacing any of them.
 */
function invocationOf(manifest: BuildOptions["manifest"], binary: string) {
  return (over: Partial<BuildOptions> = {}) =>
    buildInvocation({
      manifest,
      profile: "query",
      prompt: PROMPT,
      cwd: CWD,
      resolvedBinary: binary,
      env: DAEMON_ENV,
      ...over,
    });
}
const claudeInvocation = invocationOf(claudeManifest, "/opt/bin/claude");
const codexInvocation = invocationOf(codexManifest, "/opt/bin/codex");

const CLAUDE_BASE = [
  "/opt/bin/claude",
  "-p",
  "--output-format",
  "stream-json",
  "--verbose",
  "--setting-sources",
  "",
  "--strict-mcp-config",
];
const CLAUDE_PROFILES: Record<string, string[]> = {
  query: ["--tools", "Read,Grep,Glob", "--permission-mode", "dontAsk"],
  edit: ["--tools", "Read,Grep,Glob,Edit,Write", "--permission-mode", "acceptEdits"],
  build: [
    "--tools",
    "Read,Grep,Glob,Edit,Write,Bash",
    "--permission-mode",
    "acceptEdits",
    "--allowedTools",
    "Bash",
  ],
  full: ["--permission-mode", "bypassPermissions"],
};

for (const [profile, args] of Object.entries(CLAUDE_PROFILES)) {
  Deno.test(`claude ${profile}: exact argv, prompt after --, stdin closed`, () => {
    const inv = claudeInvocation({ profile });
    assert.deepEqual(inv.argv, [...CLAUDE_BASE, ...args, "--", PROMPT]);
    assert.equal(inv.stdin, null);
    assert.equal(inv.cwd, CWD);
  });
}

Deno.test("claude: profiles are exactly query, edit, build, full; edit offers no Bash", () => {
  assert.deepEqual(Object.keys(claudeManifest.profiles), ["query", "edit", "build", "full"]);
  const edit = claudeManifest.profiles.edit.args.join(" ");
  assert.ok(!edit.includes("Bash"), edit);
});

Deno.test("claude: env is scrubbed, settings set, state dir applied", () => {
  const inv = claudeInvocation({ stateDir: "/var/lib/cmesh/runners/claude" });
  assert.deepEqual(inv.env, {
    PATH: "/usr/local/bin:/usr/bin",
    HOME: "/home/ada",
    LANG: "C.UTF-8",
    TERM: "dumb",
    NO_COLOR: "1",
    ANTHROPIC_API_KEY: "sk-ant-x",
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    CLAUDE_CODE_MAX_RETRIES: "2",
    CLAUDE_CONFIG_DIR: "/var/lib/cmesh/runners/claude",
  });
});

const CODEX_BASE = [
  "/opt/bin/codex",
  "exec",
  "--json",
  "--skip-git-repo-check",
  "--disable",
  "plugins",
  "-c",
  "analytics.enabled=false",
  "-c",
  "allow_login_shell=false",
  "--ignore-user-config",
  "--ignore-rules",
  "--disable",
  "hooks",
];
const CODEX_PROFILES: Record<string, string[]> = {
  query: ["--sandbox", "read-only"],
  edit: ["--sandbox", "workspace-write"],
  build: ["--sandbox", "workspace-write"],
  full: ["--dangerously-bypass-approvals-and-sandbox"],
};

for (const [profile, args] of Object.entries(CODEX_PROFILES)) {
  Deno.test(`codex ${profile}: exact argv, prompt on stdin via -`, () => {
    const inv = codexInvocation({ profile, prompt: "-rf is not a flag here" });
    assert.deepEqual(inv.argv, [...CODEX_BASE, ...args, "-"]);
    assert.equal(inv.stdin, "-rf is not a flag here");
  });
}

Deno.test("codex: config args go after the profile, before the prompt marker", () => {
  const inv = codexInvocation({
    extraArgs: ["-m", "gpt-5.5", "-c", "model_providers.x.request_max_retries=0"],
    extraEnv: { pass: ["FAKE_API_KEY"], set: { RUST_LOG: "warn" } },
    stateDir: "/var/lib/cmesh/runners/codex",
  });
  assert.deepEqual(inv.argv.slice(-7), [
    "--sandbox",
    "read-only",
    "-m",
    "gpt-5.5",
    "-c",
    "model_providers.x.request_max_retries=0",
    "-",
  ]);
  assert.equal(inv.env.CODEX_HOME, "/var/lib/cmesh/runners/codex");
  assert.equal(inv.env.OPENAI_API_KEY, "sk-oa-x");
  assert.equal(inv.env.RUST_LOG, "warn");
  assert.equal(inv.env.ANTHROPIC_API_KEY, undefined);
  assert.equal(inv.env.AWS_SECRET_ACCESS_KEY, undefined);
  assert.equal(inv.env.CMESH_CONTROL_TOKEN, undefined);
});

Deno.test("without a state dir the state env var is not set", () => {
  const inv = codexInvocation();
  assert.equal(inv.env.CODEX_HOME, undefined);
});

Deno.test("demo: deno run with read access to exactly the cwd, prompt on stdin", () => {
  const manifest = demoManifest();
  const prefix = demoInvocationPrefix();
  const inv = buildInvocation({
    manifest,
    profile: "edit",
    prompt: PROMPT,
    cwd: CWD,
    resolvedBinary: prefix.binary,
    env: { ...DAEMON_ENV, DENO_DIR: "/cache/deno" },
  });
  assert.equal(inv.argv[0], Deno.execPath());
  assert.deepEqual(inv.argv.slice(1), [
    "run",
    "--no-prompt",
    "--no-config",
    "--no-lock",
    "--no-remote",
    "--no-npm",
    "--allow-read=/srv/app",
    new URL("../../src/runner/builtin/demo_agent.ts", import.meta.url).pathname,
  ]);
  assert.equal(inv.stdin, PROMPT);
  assert.equal(inv.env.DENO_DIR, "/cache/deno");
  assert.equal(inv.env.ANTHROPIC_API_KEY, undefined);
});

Deno.test("demo: a cwd with a comma cannot widen --allow-read", () => {
  const err = setupError(() =>
    buildInvocation({
      manifest: demoManifest(),
      profile: "query",
      prompt: PROMPT,
      cwd: "/srv/a,/home",
      resolvedBinary: Deno.execPath(),
      env: DAEMON_ENV,
    })
  );
  assert.equal(err.code, "runner_cwd_unsafe");
});

Deno.test("unknown profile: typed error listing the profiles there are", () => {
  const err = setupError(() => claudeInvocation({ profile: "deploy", env: {} }));
  assert.equal(err.code, "runner_unknown_profile");
  assert.equal(
    err.message,
    "runner claude has no profile 'deploy'; it has: query, edit, build, full",
  );
});

Deno.test("profile lookup ignores inherited object keys", () => {
  const err = setupError(() => claudeInvocation({ profile: "constructor", env: {} }));
  assert.equal(err.code, "runner_unknown_profile");
});

Deno.test("a relative binary path is refused", () => {
  const err = setupError(() => claudeInvocation({ resolvedBinary: "claude", env: {} }));
  assert.equal(err.code, "runner_binary_not_absolute");
});

const claudeInv = (prompt: string) => claudeInvocation({ prompt, env: {} });

Deno.test("arg prompts that look like flags stay after --", () => {
  const inv = claudeInv("--dangerously-skip-permissions please");
  assert.deepEqual(inv.argv.slice(-2), ["--", "--dangerously-skip-permissions please"]);
});

Deno.test("a one-word prompt gets a newline so it never equals a subcommand name", () => {
  assert.deepEqual(claudeInv("update").argv.slice(-2), ["--", "update\n"]);
  assert.deepEqual(claudeInv("update it").argv.slice(-2), ["--", "update it"]);
});

Deno.test("arg prompts over the argv limit are refused with advice", () => {
  const err = setupError(() => claudeInv("é".repeat(MAX_ARG_PROMPT_BYTES / 2 + 1)));
  assert.equal(err.code, "runner_prompt_too_long");
  assert.match(err.message, /via = "stdin"/);
  claudeInv("é".repeat(MAX_ARG_PROMPT_BYTES / 2)); // exactly at the limit: fine
});

Deno.test("prompts with NUL are refused for arg passing", () => {
  assert.equal(setupError(() => claudeInv("a\0b c")).code, "runner_prompt_unsafe");
});

const bare = parseManifest({
  name: "bare",
  binary: "agent",
  base_args: ["--root={cwd}", "{cwd}"],
  profiles: { query: { args: [] } },
  prompt: { via: "arg", end_of_options: false },
  output: "text",
}, "inline");

Deno.test("end_of_options = false: bare prompt, dash prompts refused", () => {
  const bareInvocation = invocationOf(bare, "/bin/agent");
  const inv = bareInvocation({ prompt: "do it", env: {} });
  assert.deepEqual(inv.argv, ["/bin/agent", "--root=/srv/app", "/srv/app", "do it"]);
  const err = setupError(() => bareInvocation({ prompt: "-x do it", env: {} }));
  assert.equal(err.code, "runner_prompt_unsafe");
});

Deno.test("{cwd} as a whole argument may contain a comma", () => {
  const m = parseManifest({
    name: "whole",
    binary: "agent",
    base_args: ["--root", "{cwd}"],
    profiles: { query: { args: [] } },
    prompt: { via: "stdin" },
    output: "text",
  }, "inline");
  const inv = invocationOf(m, "/bin/agent")({ prompt: "x", cwd: "/srv/a,b", env: {} });
  assert.deepEqual(inv.argv, ["/bin/agent", "--root", "/srv/a,b"]);
});
