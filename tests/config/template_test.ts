/**
 * @module
 * The starter config that `cmesh config init` writes: valid as written, safe, and its
 * commented-out examples are valid once uncommented.
 */
import assert from "node:assert/strict";
import { parseConfigText } from "../../src/config/load.ts";
import { Config } from "../../src/config/schema.ts";
import { CONFIG_TEMPLATE } from "../../src/config/template.ts";

Deno.test("the starter template validates", () => {
  parseConfigText(CONFIG_TEMPLATE, "template");
});

Deno.test("the starter template carries the safe defaults", () => {
  const cfg = parseConfigText(CONFIG_TEMPLATE, "template");
  assert.equal(cfg.inbound.enabled, false);
  assert.deepEqual(cfg.inbound.allow, []);
  assert.deepEqual(cfg.outbound.peers, []);
  const enabled = Object.entries(cfg.profiles).filter(([, p]) => p.enabled).map(([n]) => n);
  assert.deepEqual(enabled, ["query"]);
  // Nothing in it differs from the built-in defaults: it only makes them visible.
  assert.deepEqual(cfg.daemon, Config.parse({}).daemon);
  assert.deepEqual(cfg.inbound, Config.parse({}).inbound);
});

/** Uncomments `# key = value` and `# [table]` lines (not prose comments). */
function uncommentExamples(text: string): string {
  return text.split("\n").map((line) => {
    const m = /^# ((?:\[|[a-z_]+ = ).*)$/.exec(line);
    return m ? m[1] : line;
  }).join("\n");
}

Deno.test("the template's commented examples are valid once uncommented", () => {
  const uncommented = uncommentExamples(CONFIG_TEMPLATE);
  assert.notEqual(uncommented, CONFIG_TEMPLATE, "the template should carry examples");
  // Enabling inbound with the example rule must also pass.
  const cfg = parseConfigText(
    uncommented.replace("enabled = false                 # nobody", "enabled = true # nobody"),
    "template (uncommented)",
  );
  assert.equal(cfg.node.name, "my-laptop");
  assert.equal(cfg.daemon.state_dir, "/abs/path");
  assert.equal(cfg.tailscale.app_capability, "example.com/cap/cmesh");
  assert.equal(cfg.outbound.peers[0].name, "buildbox");
  assert.equal(cfg.inbound.enabled, true);
  assert.deepEqual(cfg.inbound.allow[0].peers, ["my-laptop"]);
});
