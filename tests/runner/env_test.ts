/**
 * @module
 * Tests of the scrubbed runner environment: only the allowlist, explicit passes and explicit
 * values get through; secrets and cmesh's own variables never do.
 */
import assert from "node:assert/strict";
import { baseEnv, scrubbedEnv } from "../../src/runner/env.ts";
import { claudeManifest } from "../../src/runner/builtin/claude.ts";
import { codexManifest } from "../../src/runner/builtin/codex.ts";

const DAEMON_ENV: Record<string, string> = {
  PATH: "/usr/bin:/bin",
  HOME: "/home/ada",
  LANG: "en_US.UTF-8",
  LC_ALL: "en_US.UTF-8",
  LC_CTYPE: "UTF-8",
  TZ: "Europe/Berlin",
  USER: "ada",
  LOGNAME: "ada",
  TMPDIR: "/var/tmp",
  TERM: "xterm-256color",
  SHELL: "/bin/zsh",
  AWS_SECRET_ACCESS_KEY: "aws-secret",
  AWS_ACCESS_KEY_ID: "aws-id",
  SSH_AUTH_SOCK: "/run/user/1000/ssh-agent",
  GITHUB_TOKEN: "ghp_x",
  CMESH_CONTROL_TOKEN: "cmesh-token",
  CMESH_STATE_DIR: "/home/ada/.local/state/cmesh",
  ANTHROPIC_API_KEY: "sk-ant",
  OPENAI_API_KEY: "sk-oa",
  LD_PRELOAD: "/tmp/evil.so",
  NODE_OPTIONS: "--require /tmp/evil.js",
};
const NEVER = [
  "AWS_SECRET_ACCESS_KEY",
  "AWS_ACCESS_KEY_ID",
  "SSH_AUTH_SOCK",
  "GITHUB_TOKEN",
  "CMESH_CONTROL_TOKEN",
  "CMESH_STATE_DIR",
  "SHELL",
  "LD_PRELOAD",
  "NODE_OPTIONS",
];

Deno.test("base env: allowlist only, TERM forced to dumb, NO_COLOR set", () => {
  assert.deepEqual(baseEnv(DAEMON_ENV), {
    PATH: "/usr/bin:/bin",
    HOME: "/home/ada",
    LANG: "en_US.UTF-8",
    LC_ALL: "en_US.UTF-8",
    LC_CTYPE: "UTF-8",
    TZ: "Europe/Berlin",
    USER: "ada",
    LOGNAME: "ada",
    TMPDIR: "/var/tmp",
    TERM: "dumb",
    NO_COLOR: "1",
  });
});

for (const manifest of [claudeManifest, codexManifest]) {
  Deno.test(`${manifest.name}: secrets and CMESH_* never pass`, () => {
    const env = scrubbedEnv(DAEMON_ENV, manifest);
    for (const name of NEVER) assert.equal(env[name], undefined, `${name} leaked`);
  });
}

Deno.test("claude passes its key, not codex's; sets its settings", () => {
  const env = scrubbedEnv(DAEMON_ENV, claudeManifest);
  assert.equal(env.ANTHROPIC_API_KEY, "sk-ant");
  assert.equal(env.OPENAI_API_KEY, undefined);
  assert.equal(env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC, "1");
  assert.equal(env.CLAUDE_CODE_MAX_RETRIES, "2");
});

Deno.test("codex passes its key, not claude's", () => {
  const env = scrubbedEnv(DAEMON_ENV, codexManifest);
  assert.equal(env.OPENAI_API_KEY, "sk-oa");
  assert.equal(env.ANTHROPIC_API_KEY, undefined);
});

Deno.test("pass names absent from the daemon env are simply left out", () => {
  const env = scrubbedEnv({ PATH: "/bin" }, claudeManifest);
  assert.ok(!("ANTHROPIC_API_KEY" in env));
});

Deno.test("config pass and set add to the manifest; config set wins", () => {
  const env = scrubbedEnv(
    DAEMON_ENV,
    claudeManifest,
    ["GITHUB_TOKEN"],
    { CLAUDE_CODE_MAX_RETRIES: "0", IS_SANDBOX: "1" },
  );
  assert.equal(env.GITHUB_TOKEN, "ghp_x");
  assert.equal(env.CLAUDE_CODE_MAX_RETRIES, "0");
  assert.equal(env.IS_SANDBOX, "1");
});

Deno.test("CMESH_* cannot be passed even when config asks (any case)", () => {
  const env = scrubbedEnv(
    { ...DAEMON_ENV, cmesh_token: "x" },
    { env: { pass: ["CMESH_CONTROL_TOKEN"], set: {} } },
    ["CMESH_STATE_DIR", "cmesh_token"],
  );
  assert.equal(env.CMESH_CONTROL_TOKEN, undefined);
  assert.equal(env.CMESH_STATE_DIR, undefined);
  assert.equal(env.cmesh_token, undefined);
});

Deno.test("manifest set may override forced TERM explicitly", () => {
  const env = scrubbedEnv(DAEMON_ENV, { env: { pass: [], set: { TERM: "xterm" } } });
  assert.equal(env.TERM, "xterm");
});

Deno.test("the result is a fresh object; the daemon env is not modified", () => {
  const daemon = { PATH: "/bin" };
  const env = scrubbedEnv(daemon, claudeManifest);
  env.PATH = "/changed";
  assert.equal(daemon.PATH, "/bin");
});

Deno.test("windows: system variables pass, names match case-insensitively", () => {
  const env = scrubbedEnv(
    { Path: "C:\\Windows", SystemRoot: "C:\\Windows", ComSpec: "cmd.exe", SECRET: "x" },
    { env: { pass: [], set: {} } },
    [],
    {},
    { os: "windows" },
  );
  assert.equal(env.PATH, "C:\\Windows");
  assert.equal(env.SYSTEMROOT, "C:\\Windows");
  assert.equal(env.COMSPEC, "cmd.exe");
  assert.equal(env.SECRET, undefined);
  const linux = scrubbedEnv({ Path: "/x" }, { env: { pass: [], set: {} } });
  assert.equal(linux.PATH, undefined);
});
