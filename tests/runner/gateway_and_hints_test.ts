/**
 * Runner-layer parts of "Codex works as set up" and "credentials are found": a manifest's
 * `env_args` (codex's OPENAI_BASE_URL becomes a provider table with bounded retries), the codex
 * parser giving up on its endless "waiting for network" loop, and the cmesh hint added to a
 * run that failed for a missing or rejected credential.
 */
import assert from "node:assert/strict";
import type { TaskError } from "../../src/protocol/task_errors.ts";
import { claudeManifest } from "../../src/runner/builtin/claude.ts";
import { codexManifest } from "../../src/runner/builtin/codex.ts";
import { withCredentialHint } from "../../src/runner/credential_hint.ts";
import { watchForGiveUp } from "../../src/runner/give_up.ts";
import { buildInvocation } from "../../src/runner/invocation.ts";
import { RunnerSetupError } from "../../src/runner/manifest.ts";
import {
  CODEX_NETWORK_WAITS_BEFORE_GIVING_UP,
  CodexParser,
} from "../../src/runner/parsers/codex.ts";

const base = {
  manifest: codexManifest,
  profile: "query",
  prompt: "p",
  cwd: "/srv/app",
  resolvedBinary: "/usr/bin/codex",
};

Deno.test("codex: a configured OPENAI_BASE_URL becomes a provider table codex reads, with bounded retries", () => {
  const inv = buildInvocation({
    ...base,
    env: { PATH: "/usr/bin" },
    extraEnv: { set: { OPENAI_BASE_URL: 'https://llm.corp/v1?a="b"' } },
  });
  const i = inv.argv.indexOf('model_provider="cmesh"');
  assert.ok(i > 0 && inv.argv[i - 1] === "-c", inv.argv.join(" "));
  assert.equal(
    inv.argv[i + 2],
    'model_providers.cmesh={name="cmesh",base_url="https://llm.corp/v1?a=\\"b\\"",wire_api="responses",env_key="OPENAI_API_KEY",request_max_retries=2,stream_max_retries=2}',
  );
  // Before the profile's args, so config args (after them) can still override it.
  assert.ok(i < inv.argv.indexOf("--sandbox"));
  // Without a base URL nothing changes: the CLI keeps its own provider.
  const plain = buildInvocation({ ...base, env: { PATH: "/usr/bin", OPENAI_BASE_URL: "" } });
  assert.ok(!plain.argv.some((a) => a.includes("model_provider")), plain.argv.join(" "));
  assert.throws(
    () => buildInvocation({ ...base, env: { OPENAI_BASE_URL: "http://x/\n-c evil" } }),
    (e) => e instanceof RunnerSetupError && e.code === "runner_env_unsafe",
  );
});

const WAIT =
  '{"type":"error","message":"Reconnecting... waiting for network (Connection failed: error sending request)"}';

Deno.test("codex parser: gives up after repeated 'waiting for network', and only then", () => {
  const p = new CodexParser();
  p.feedLine('{"type":"turn.started"}');
  for (let i = 1; i < CODEX_NETWORK_WAITS_BEFORE_GIVING_UP; i++) {
    p.feedLine(WAIT);
    assert.equal(p.giveUp(), null);
  }
  // Progress in between resets the count.
  p.feedLine('{"type":"item.completed","item":{"id":"i","type":"agent_message","text":"x"}}');
  p.feedLine(WAIT);
  assert.equal(p.giveUp(), null);
  for (let i = 1; i < CODEX_NETWORK_WAITS_BEFORE_GIVING_UP; i++) p.feedLine(WAIT);
  assert.equal(p.giveUp()?.code, "runner_model_unreachable");
  assert.match(p.giveUp()!.message, /waiting for network.*OPENAI_BASE_URL/s);
});

Deno.test("watchForGiveUp: aborts its signal once the parser gives up, and keeps the verdict", () => {
  const caller = new AbortController();
  const w = watchForGiveUp(new CodexParser(), caller.signal);
  for (let i = 0; i < CODEX_NETWORK_WAITS_BEFORE_GIVING_UP - 1; i++) w.parser.feedLine(WAIT);
  assert.equal(w.signal.aborted, false);
  w.parser.feedLine(WAIT);
  assert.equal(w.signal.aborted, true);
  assert.equal(w.verdict()?.code, "runner_model_unreachable");
  // A cancel by the caller is not a give-up.
  const c2 = new AbortController();
  const w2 = watchForGiveUp(new CodexParser(), c2.signal);
  c2.abort();
  assert.equal(w2.signal.aborted, true);
  assert.equal(w2.verdict(), null);
});

Deno.test("credential hint: names the missing variable and service.env; leaves other errors alone", () => {
  const home = { HOME: "/home/ann", PATH: "/usr/bin" };
  const claude = withCredentialHint(
    { code: "runner_error", message: "Not logged in · Please run /login" },
    claudeManifest,
    home,
  );
  assert.match(claude.message, /^Not logged in · Please run \/login — cmesh: /);
  assert.match(
    claude.message,
    /the worker's daemon has no ANTHROPIC_API_KEY or .* for runner claude; put it in \/home\/ann\/\.config\/cmesh\/service\.env .* restart it: cmesh service install/,
  );
  assert.equal(claude.code, "runner_error");
  const codex = withCredentialHint(
    {
      code: "runner_turn_failed",
      message: "codex turn failed: Missing environment variable: `OPENAI_API_KEY`.",
    },
    codexManifest,
    home,
  );
  assert.match(codex.message, /daemon has no OPENAI_API_KEY for runner codex/);
  const rejected = withCredentialHint(
    { code: "runner_turn_failed", message: "unexpected status 401 Unauthorized: bad key" },
    codexManifest,
    { ...home, OPENAI_API_KEY: "sk-secret-value" },
  );
  assert.match(rejected.message, /gives runner codex OPENAI_API_KEY, which was not accepted/);
  assert.doesNotMatch(rejected.message, /sk-secret-value/);
  const other: TaskError = {
    code: "runner_turn_failed",
    message: "codex turn failed: context too long",
  };
  assert.deepEqual(withCredentialHint(other, codexManifest, home), other);
});
