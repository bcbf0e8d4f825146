import assert from "node:assert/strict";
import {
  type MacDiscoveryDeps,
  parseLsofSameUserProof,
  readMacsysPortToken,
} from "../../src/tailscale/macos.ts";

Deno.test("lsof -F output: port and token after the marker", () => {
  const out = [
    "p812",
    "g812",
    "R1",
    "cIPNExtension",
    "u501",
    "fcwd",
    "n/",
    "f5",
    "n/Users/alice/Library/Containers/io.tailscale.ipn.macos.network-extension/Data/other",
    "f7",
    "n/Users/alice/Library/Group Containers/W5364U7YZB.io.tailscale.ipn.macos/sameuserproof-61577-2ae2ec9e0aa2005784f1",
  ].join("\n");
  assert.deepEqual(parseLsofSameUserProof(out), { port: 61577, token: "2ae2ec9e0aa2005784f1" });
  assert.equal(parseLsofSameUserProof(""), null);
  assert.equal(parseLsofSameUserProof("n/x/.tailscale.ipn.macos/sameuserproof-abc-def"), null);
  assert.equal(parseLsofSameUserProof("n/x/.tailscale.ipn.macos/sameuserproof-70000-def"), null);
  assert.equal(parseLsofSameUserProof("n/x/.tailscale.ipn.macos/sameuserproof-123"), null);
});

function deps(link: string | Error, token: string | Error): MacDiscoveryDeps {
  return {
    exists: () => Promise.resolve(false),
    readLink: () => (link instanceof Error ? Promise.reject(link) : Promise.resolve(link)),
    readTextFile: (p) =>
      token instanceof Error
        ? Promise.reject(token)
        : p.endsWith(`sameuserproof-${link}`)
        ? Promise.resolve(token)
        : Promise.reject(new Deno.errors.NotFound(p)),
    runLsof: () => Promise.resolve(null),
  };
}

Deno.test("macsys ipnport symlink + sameuserproof file", async () => {
  assert.deepEqual(await readMacsysPortToken(deps("41112", " abcdef0123456789abcd\n")), {
    ok: true,
    value: { port: 41112, token: "abcdef0123456789abcd" },
  });
  const bad = await readMacsysPortToken(deps("../etc", "x"));
  assert.ok(!bad.ok && /not a port/.test(bad.why));
  const denied = await readMacsysPortToken(deps("41112", new Deno.errors.PermissionDenied("x")));
  assert.ok(!denied.ok && /permission denied .*group admin/.test(denied.why));
  const empty = await readMacsysPortToken(deps("41112", "\n"));
  assert.ok(!empty.ok && /no usable token/.test(empty.why));
  const missing = await readMacsysPortToken(deps(new Deno.errors.NotFound("x"), "t"));
  assert.ok(!missing.ok && /ipnport: not found/.test(missing.why));
});
