/**
 * @module
 * The built-in manifests carry the settings runners.md found necessary.
 */
import assert from "node:assert/strict";
import {
  builtinManifests,
  claudeManifest,
  codexManifest,
} from "../../../src/runner/builtin/mod.ts";
import { parseManifest } from "../../../src/runner/manifest.ts";

Deno.test("built-ins re-validate against the schema", () => {
  for (const m of builtinManifests()) assert.deepEqual(parseManifest(m, m.name), m);
});

Deno.test("claude: stream-json has --verbose, SIGINT first, bounded retries, private state", () => {
  const args = claudeManifest.base_args;
  assert.ok(args.includes("-p"));
  assert.equal(args[args.indexOf("--output-format") + 1], "stream-json");
  assert.ok(args.includes("--verbose"), "stream-json without --verbose exits 1");
  assert.equal(claudeManifest.cancel.signals[0], "SIGINT");
  assert.equal(claudeManifest.env.set.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC, "1");
  assert.ok(Number(claudeManifest.env.set.CLAUDE_CODE_MAX_RETRIES) <= 3);
  assert.equal(claudeManifest.state_dir_env, "CLAUDE_CONFIG_DIR");
  assert.deepEqual(claudeManifest.prompt, { via: "arg", end_of_options: true });
});

Deno.test("codex: no phone-home, no login shell, prompt from stdin, private state", () => {
  const args = codexManifest.base_args.join(" ");
  assert.ok(args.startsWith("exec --json --skip-git-repo-check"));
  assert.ok(args.includes("--disable plugins"));
  assert.ok(args.includes("-c analytics.enabled=false"));
  assert.ok(args.includes("-c allow_login_shell=false"));
  assert.deepEqual(codexManifest.prompt, { via: "stdin", args: ["-"] });
  assert.equal(codexManifest.state_dir_env, "CODEX_HOME");
  assert.equal(codexManifest.output, "codex-jsonl");
});

Deno.test("demo: runs under this Deno, parsed as Claude stream-json, needs no keys", () => {
  const demo = builtinManifests().find((m) => m.name === "demo")!;
  assert.equal(demo.binary, Deno.execPath());
  assert.equal(demo.output, "claude-stream-json");
  assert.deepEqual(demo.env.pass, ["DENO_DIR"]);
  assert.ok(demo.base_args.includes("--allow-read={cwd}"));
  assert.ok(!demo.base_args.some((a) => /^--allow-(write|run|net|env|all)|^-A$/.test(a)));
});
