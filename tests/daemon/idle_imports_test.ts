/**
 * @module
 * What an idle daemon's main thread holds is what `cmesh daemon` imports statically: the config,
 * the store, the lock, the tailnet identity and the worker's start. The requester side (the
 * control API's routes over hono, the delegation flow, the status answer) is imported at the
 * first control request or when an outbound task is resumed (`daemon/control_side.ts`).
 */
import assert from "node:assert/strict";
import { staticImports } from "../support/module_graph.ts";

Deno.test("an idle daemon's main thread imports neither hono nor the requester side", async () => {
  const mods = await staticImports("src/cli/commands/daemon.ts");
  assert.ok(mods.includes("src/daemon/main.ts") && mods.includes("src/store/db.ts"));
  // node:crypto too: the daemons hash with @noble/hashes (store/hash.ts); only the control side's
  // proofs and `cmesh audit verify` load it.
  for (const heavy of ["npm:hono", "npm:/hono", "npm:commander", "npm:/commander", "node:crypto"]) {
    assert.ok(!mods.some((m) => m.startsWith(heavy)), `${heavy} is imported at start`);
  }
  for (
    const lazy of [
      "src/daemon/control_side.ts",
      "src/control/app.ts",
      "src/delegation/requester.ts",
      "src/delegation/from_config.ts",
      "src/daemon/status.ts",
      // The worker's egress proxy: the main thread only computes its set-up (egress/slots.ts).
      "src/runner/sandbox/egress/run_egress.ts",
      "src/runner/sandbox/egress/proxy.ts",
    ]
  ) {
    assert.ok(!mods.includes(lazy), `${lazy} is imported at start`);
  }
});

Deno.test("the requester side brings the control app and the requester", async () => {
  const mods = await staticImports("src/daemon/control_side.ts");
  for (const m of ["src/control/app.ts", "src/delegation/requester.ts", "src/daemon/status.ts"]) {
    assert.ok(mods.includes(m), m);
  }
});
