/**
 * @module
 * Every config example must validate: the `examples/*.toml` files that are configs, and the
 * ```toml blocks in docs/configuration.md. Runner manifests (examples/runners/, or any
 * top-level file with a manifest's `binary` key) are validated by the runner tests instead.
 */
import assert from "node:assert/strict";
import { parse as parseToml } from "smol-toml";
import { parseConfigText } from "../src/config/load.ts";
import type { Config } from "../src/config/schema.ts";

const EXAMPLES = new URL("../examples/", import.meta.url);
const CONFIG_DOC = new URL("../docs/configuration.md", import.meta.url);

/** A runner manifest names its binary at the top level; a config never can (strict schema). */
function isRunnerManifest(text: string): boolean {
  const raw = parseToml(text) as Record<string, unknown>;
  return "binary" in raw || "prompt" in raw;
}

/** The top-level `examples/*.toml` files that are configs, name → text. */
function configExamples(): Map<string, string> {
  const out = new Map<string, string>();
  const names = [...Deno.readDirSync(EXAMPLES)]
    .filter((e) => e.isFile && e.name.endsWith(".toml"))
    .map((e) => e.name)
    .sort();
  for (const name of names) {
    const text = Deno.readTextFileSync(new URL(name, EXAMPLES));
    if (!isRunnerManifest(text)) out.set(name, text);
  }
  return out;
}

Deno.test("the config examples are all there", () => {
  const names = [...configExamples().keys()];
  for (const name of ["laptop.toml", "build-server.toml", "query-only-worker.toml"]) {
    assert.ok(names.includes(name), `examples/${name} is missing`);
  }
});

for (const [name, text] of configExamples()) {
  Deno.test(`examples/${name} is a valid config`, () => {
    parseConfigText(text, `examples/${name}`);
  });
}

function load(name: string): Config {
  const text = configExamples().get(name);
  assert.ok(text !== undefined, `examples/${name} is missing`);
  return parseConfigText(text, name);
}

function enabledProfiles(cfg: Config): string[] {
  return Object.entries(cfg.profiles).filter(([, p]) => p.enabled).map(([n]) => n);
}

Deno.test("examples/laptop.toml: a requester only", () => {
  const cfg = load("laptop.toml");
  assert.equal(cfg.inbound.enabled, false);
  assert.deepEqual(cfg.inbound.allow, []);
  assert.ok(cfg.outbound.peers.length >= 1);
  assert.deepEqual(enabledProfiles(cfg), ["query"]);
});

Deno.test("examples/build-server.toml: build for one peer on two repos, query for a tag", () => {
  const cfg = load("build-server.toml");
  assert.equal(cfg.inbound.enabled, true);
  assert.deepEqual(enabledProfiles(cfg), ["query", "build"]);
  const build = cfg.inbound.allow.filter((r) => r.profiles.includes("build"));
  assert.equal(build.length, 1);
  assert.equal(build[0].peers.length, 1);
  assert.deepEqual(build[0].tags, []);
  assert.deepEqual(build[0].logins, []);
  assert.equal(build[0].cwd.length, 2);
  const tagged = cfg.inbound.allow.filter((r) => r.tags.length > 0);
  assert.equal(tagged.length, 1);
  assert.deepEqual(tagged[0].profiles, ["query"]);
});

Deno.test("examples/query-only-worker.toml: locked down", () => {
  const cfg = load("query-only-worker.toml");
  assert.equal(cfg.inbound.enabled, true);
  assert.deepEqual(enabledProfiles(cfg), ["query"]);
  for (const rule of cfg.inbound.allow) {
    assert.deepEqual(rule.profiles, ["query"]);
    assert.equal(rule.cwd.length, 1);
    assert.equal(rule.peers.length + rule.tags.length, 0, "one person's devices, by login");
  }
  assert.equal(cfg.inbound.max_concurrent, 1);
  assert.ok(cfg.inbound.max_timeout_s <= 900);
  assert.ok(cfg.tailscale.app_capability, "a Tailscale grant must also allow");
  assert.deepEqual(cfg.outbound.peers, []);
});

/** The ```toml blocks of a Markdown text, with the line each starts on. */
function tomlBlocks(markdown: string): { line: number; text: string }[] {
  const blocks: { line: number; text: string }[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== "```toml") continue;
    const start = i + 1;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i].trim() !== "```"; i++) body.push(lines[i]);
    blocks.push({ line: start, text: body.join("\n") });
  }
  return blocks;
}

Deno.test("every ```toml block in docs/configuration.md is a valid config on its own", () => {
  const blocks = tomlBlocks(Deno.readTextFileSync(CONFIG_DOC));
  assert.ok(blocks.length >= 5, `only ${blocks.length} toml blocks`);
  for (const { line, text } of blocks) {
    parseConfigText(text, `docs/configuration.md:${line}`);
  }
});
