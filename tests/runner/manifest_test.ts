/**
 * @module
 * Tests of the runner manifest schema and file loader: valid files get their defaults, and
 * every fixture in `testdata/runners/manifests/invalid/` fails with the message its first line
 * announces (`# expect: ...`).
 */
import assert from "node:assert/strict";
import {
  loadManifestFile,
  parseManifest,
  parseManifestText,
  RunnerSetupError,
} from "../../src/runner/manifest.ts";
import { setupError } from "./_setup_error.ts";

const FIXTURES = new URL("../testdata/runners/manifests/", import.meta.url);
const fixture = (rel: string) => new URL(rel, FIXTURES).pathname;

Deno.test("minimal TOML manifest gets defaults", async () => {
  const m = await loadManifestFile(fixture("valid/minimal.toml"));
  assert.equal(m.name, "minimal");
  assert.equal(m.description, "");
  assert.deepEqual(m.version_args, ["--version"]);
  assert.deepEqual(m.base_args, []);
  assert.deepEqual(m.cancel, { signals: ["SIGINT", "SIGTERM", "SIGKILL"], grace_ms: 2000 });
  assert.deepEqual(m.env, { pass: [], set: {} });
  assert.equal(m.state_dir_env, undefined);
  assert.deepEqual(m.prompt, { via: "stdin", args: [] });
});

Deno.test("JSON manifest with every key parses as written", async () => {
  const m = await loadManifestFile(fixture("valid/everything.json"));
  assert.equal(m.binary, "/opt/agent/bin/agent");
  assert.deepEqual(Object.keys(m.profiles), ["query", "edit", "deploy"]);
  assert.deepEqual(m.prompt, { via: "arg", end_of_options: false });
  assert.deepEqual(m.cancel, { signals: ["SIGTERM", "SIGKILL"], grace_ms: 500 });
  assert.deepEqual(m.env.set, { AGENT_TELEMETRY: "0" });
  assert.equal(m.state_dir_env, "AGENT_HOME");
  assert.equal(m.install_hint, "install it from https://example.invalid/agent");
});

Deno.test("examples/runners/custom.toml is a valid manifest", async () => {
  const path = new URL("../../examples/runners/custom.toml", import.meta.url).pathname;
  const m = await loadManifestFile(path);
  assert.equal(m.name, "claude-npm");
  assert.deepEqual(Object.keys(m.profiles).sort(), ["build", "edit", "query"]);
  assert.ok(m.profiles.build.args.includes("Bash(npm test:*)"));
  assert.equal(m.output, "claude-stream-json");
});

const invalidDir = fixture("invalid/");
const invalidFiles = [...Deno.readDirSync(invalidDir)].map((e) => e.name).sort();

Deno.test("there are invalid fixtures to check", () => {
  assert.ok(invalidFiles.length >= 15, `only ${invalidFiles.length} invalid fixtures`);
});

for (const file of invalidFiles) {
  Deno.test(`invalid manifest ${file} fails with its announced message`, async () => {
    const path = invalidDir + file;
    const text = await Deno.readTextFile(path);
    const expect = text.split("\n")[0].replace(/^# expect: /, "");
    assert.notEqual(expect, text.split("\n")[0], `${file} has no '# expect:' line`);
    const err = await setupError(loadManifestFile(path));
    assert.equal(err.code, "runner_manifest_invalid");
    assert.ok(
      err.message.includes(`${path}: ${expect}`),
      `message does not name file and problem:\n${err.message}\nwanted: ${expect}`,
    );
  });
}

Deno.test("several problems are all reported, one per line", () => {
  const err = (() => {
    try {
      parseManifest({ name: "x", binary: "a", profiles: { q: { args: "x" } }, extra: 1 }, "src");
    } catch (e) {
      return e as RunnerSetupError;
    }
    assert.fail("expected an error");
  })();
  const lines = err.message.split("\n");
  assert.ok(lines.includes('src: profiles.q.args: expected array, got "x"'), err.message);
  assert.ok(
    lines.includes("src: extra: unknown key (check the spelling; see docs/runner-manifests.md)"),
    err.message,
  );
  assert.ok(lines.includes("src: prompt: missing (expected object)"), err.message);
  assert.ok(
    lines.includes(
      'src: output: missing (expected one of "claude-json", "claude-stream-json", "codex-jsonl", "text")',
    ),
    err.message,
  );
  assert.equal(lines.length, 4, err.message);
});

Deno.test("a missing discriminator and a non-object manifest read well", () => {
  const message = (value: unknown) => {
    try {
      parseManifest(value, "m.toml");
    } catch (e) {
      return (e as RunnerSetupError).message;
    }
    assert.fail("expected an error");
  };
  const m = message({
    name: "x",
    binary: "a",
    profiles: { q: { args: [] } },
    prompt: {},
    output: "text",
  });
  assert.equal(m, 'm.toml: prompt.via: missing (expected one of "arg", "stdin")');
  assert.equal(message("hello"), 'm.toml: (top level): expected object, got "hello"');
});

Deno.test("JSON syntax errors name the file", () => {
  assert.throws(
    () => parseManifestText("{ not json", "json", "/x/runners/bad.json"),
    (e: unknown) =>
      e instanceof RunnerSetupError &&
      e.message.startsWith("/x/runners/bad.json: JSON syntax error"),
  );
});

Deno.test("unknown file extension and missing file are clear errors", async () => {
  const ext = await setupError(loadManifestFile("/tmp/runner.yaml"));
  assert.equal(ext.message, "/tmp/runner.yaml: a runner manifest must be a .toml or .json file");
  const missing = await setupError(loadManifestFile("/nonexistent/cmesh/runner.toml"));
  assert.match(missing.message, /^\/nonexistent\/cmesh\/runner\.toml: cannot read runner manifest/);
});

Deno.test("windows absolute binary paths are accepted", () => {
  const m = parseManifest({
    name: "win",
    binary: "C:\\Tools\\agent.exe",
    profiles: { query: { args: [] } },
    prompt: { via: "stdin" },
    output: "text",
  }, "inline");
  assert.equal(m.binary, "C:\\Tools\\agent.exe");
});

Deno.test("RunnerSetupError converts to the task error it ends a task with", () => {
  const e = new RunnerSetupError("runner_unknown_profile", "what to change");
  assert.deepEqual(e.toTaskError(), { code: "runner_unknown_profile", message: "what to change" });
});
