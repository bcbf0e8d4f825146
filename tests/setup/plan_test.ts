/**
 * Plans and applying them: safe defaults (query only, inbound off unless asked, roots the user
 * names), validation through the real config schema, the diff, a stable hash that changes with
 * the file, and `applyPlan`'s backup, audit record and refusal of a stale plan.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseConfigText } from "../../src/config/load.ts";
import { CONFIG_TEMPLATE } from "../../src/config/template.ts";
import { ApplyError, applyPlan, PlanBook } from "../../src/setup/apply.ts";
import { unifiedDiff } from "../../src/setup/diff.ts";
import { buildPlan, PlanError } from "../../src/setup/plan.ts";
import { openStore } from "../../src/store/db.ts";
import { verifyAudit } from "../../src/store/audit_verify.ts";
import { tempDir } from "../support/daemon.ts";

const FILE = "/home/ann/.config/cmesh/config.toml";

Deno.test("no config, nothing asked: the commented starter template, as a diff from nothing", async () => {
  const p = await buildPlan(null, FILE, {});
  assert.equal(p.proposed, CONFIG_TEMPLATE);
  assert.equal(p.exists, false);
  assert.match(p.diff, /^@@ -0,0 \+1,\d+ @@$/m);
  assert.deepEqual(p.changes, [
    "create the starter config (inbound disabled, query only, no peers)",
  ]);
});

Deno.test("outbound peers get query only and /** by default; inbound stays disabled", async () => {
  const p = await buildPlan(null, FILE, {
    outbound_peers: [{ name: "buildbox" }, { name: "win", port: 7500 }],
  });
  const cfg = parseConfigText(p.proposed, FILE);
  assert.deepEqual(cfg.outbound.peers.map((x) => [x.name, x.profiles, x.cwd, x.port]), [
    ["buildbox", ["query"], ["/**"], 7433],
    ["win", ["query"], ["/**"], 7500],
  ]);
  assert.equal(cfg.inbound.enabled, false);
  assert.equal(cfg.profiles.edit.enabled, false);
  assert.deepEqual(p.warnings, []);
  assert.match(p.changes[0], /add outbound peer buildbox: may send it query tasks/);
});

Deno.test("an outbound peer with build never opens the inbound side; warnings name their direction", async () => {
  const p = await buildPlan(null, FILE, {
    outbound_peers: [{ name: "buildbox", profiles: ["query", "build"] }],
  });
  const cfg = parseConfigText(p.proposed, FILE);
  assert.deepEqual(cfg.outbound.peers[0].profiles, ["query", "build"]);
  assert.equal(cfg.inbound.enabled, false);
  assert.equal(cfg.profiles.build.enabled, false);
  assert.doesNotMatch(p.proposed, /\[profiles/);
  assert.ok(p.changes.every((c) => !/enable/.test(c)), p.changes.join("\n"));
  assert.deepEqual(p.warnings, [
    "outbound: build tasks this machine sends to buildbox let its agent write files and run build/test commands on buildbox",
  ]);
  // A custom profile only needs to exist here: it is defined, disabled.
  const c = await buildPlan(null, FILE, { outbound_peers: [{ name: "b", profiles: ["lint"] }] });
  const ccfg = parseConfigText(c.proposed, FILE);
  assert.equal(ccfg.profiles.lint.enabled, false);
  // Both directions in one plan: each warning says which side it speaks of.
  const both = await buildPlan(null, FILE, {
    outbound_peers: [{ name: "buildbox", profiles: ["edit"] }],
    inbound: { enabled: true, allow_peers: ["laptop"], cwd_roots: ["/srv"], profiles: ["edit"] },
  });
  assert.equal(parseConfigText(both.proposed, FILE).profiles.edit.enabled, true);
  assert.ok(both.warnings.length >= 3);
  for (const w of both.warnings) assert.match(w, /^(inbound|outbound): /);
});

Deno.test("inbound only when asked, with the roots the user names; other profiles are enabled and flagged", async () => {
  await assert.rejects(
    buildPlan(null, FILE, { inbound: { enabled: true, allow_peers: ["laptop"] } }),
    (e) => e instanceof PlanError && /needs cwd_roots: ask the user/.test(e.message),
  );
  const p = await buildPlan(null, FILE, {
    inbound: {
      enabled: true,
      allow_peers: ["laptop"],
      cwd_roots: ["/srv/app"],
      profiles: ["query", "edit"],
    },
  });
  const cfg = parseConfigText(p.proposed, FILE);
  assert.equal(cfg.inbound.enabled, true);
  assert.deepEqual(cfg.inbound.allow[0].peers, ["laptop"]);
  assert.deepEqual(cfg.inbound.allow[0].cwd, ["/srv/app"]);
  assert.deepEqual(cfg.inbound.allow[0].runners, ["claude", "codex"]);
  assert.equal(cfg.profiles.edit.enabled, true);
  assert.ok(p.warnings.some((w) => /edit profile lets a remote agent write files/.test(w)));
  assert.ok(
    p.warnings.some((w) =>
      /laptop can start coding agents on this machine inside \/srv\/app/.test(w)
    ),
  );
  await assert.rejects(
    buildPlan(null, FILE, { inbound: { enabled: true, allow_peers: ["x"], cwd_roots: ["srv"] } }),
    (e) =>
      e instanceof PlanError && /would be invalid:\n.*must be an absolute path/s.test(e.message),
  );
});

Deno.test("an existing config: entries are updated by name, everything else kept; the hash follows the file", async () => {
  const current =
    `[daemon]\ncontrol_port = 7000\n\n[[outbound.peers]]\nname = "buildbox"\ncwd = ["/srv/**"]\n\n[runners.claude]\nargs = ["--x"]\n`;
  const p = await buildPlan(current, FILE, {
    outbound_peers: [{ name: "buildbox", profiles: ["query"] }, { name: "new" }],
  });
  const cfg = parseConfigText(p.proposed, FILE);
  assert.equal(cfg.daemon.control_port, 7000);
  assert.deepEqual(cfg.runners.claude.args, ["--x"]);
  assert.deepEqual(cfg.outbound.peers.map((x) => [x.name, x.cwd]), [["buildbox", ["/srv/**"]], [
    "new",
    ["/**"],
  ]]);
  assert.match(p.changes[0], /^update outbound peer buildbox/);
  const same = await buildPlan(current, FILE, {
    outbound_peers: [{ name: "buildbox", profiles: ["query"] }, { name: "new" }],
  });
  assert.equal(same.hash, p.hash, "same inputs, same plan");
  const other = await buildPlan(current + "\n", FILE, {
    outbound_peers: [{ name: "buildbox", profiles: ["query"] }, { name: "new" }],
  });
  assert.notEqual(other.hash, p.hash, "a different current file, a different plan");
  const noop = await buildPlan(current, FILE, {});
  assert.equal(noop.diff, "");
  assert.equal(noop.proposed, current);
  await assert.rejects(buildPlan("x = = 1", FILE, {}), /not valid TOML/);
});

Deno.test("unifiedDiff matches diff -u hunks", () => {
  const a = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n";
  const b = "1\n2\nX\n4\n5\n6\n7\n8\n9\n10\n11\n";
  assert.equal(
    unifiedDiff(a, b, "c"),
    "--- c (current)\n+++ c (proposed)\n@@ -1,6 +1,6 @@\n 1\n 2\n-3\n+X\n 4\n 5\n 6\n@@ -8,3 +8,4 @@\n 8\n 9\n 10\n+11\n",
  );
  assert.equal(unifiedDiff(a, a, "c"), "");
});

Deno.test("applyPlan: backup, atomic 0600 write, a config.change audit record; a stale plan is refused", async () => {
  const dir = await tempDir("cmesh-apply-");
  try {
    const file = join(dir.path, "cfg", "config.toml");
    const stateDir = join(dir.path, "state");
    const book = new PlanBook();
    const first = await buildPlan(null, file, { outbound_peers: [{ name: "a" }] });
    book.remember(first);
    assert.equal(book.get(first.hash.toUpperCase()), first, "hash lookup ignores case");
    assert.equal(book.get("ffffffffffffffff"), undefined);
    const out1 = await applyPlan(first, { stateDir });
    assert.equal(out1.backup, null);
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);

    const second = await buildPlan(await Deno.readTextFile(file), file, {
      outbound_peers: [{ name: "b" }],
    });
    await Deno.writeTextFile(file, "# edited by hand meanwhile\n", { append: true });
    await assert.rejects(
      applyPlan(second, { stateDir }),
      (e) => e instanceof ApplyError && e.code === "stale_plan",
    );
    const fresh = await buildPlan(await Deno.readTextFile(file), file, {
      outbound_peers: [{ name: "b" }],
    });
    const out2 = await applyPlan(fresh, { stateDir, now: () => new Date("2026-01-02T03:04:05Z") });
    assert.equal(out2.backup, `${file}.bak-2026-01-02T03-04-05-000Z`);
    assert.match(await Deno.readTextFile(out2.backup!), /edited by hand meanwhile/);
    assert.equal(await Deno.readTextFile(file), fresh.proposed);

    const store = openStore(join(stateDir, "cmesh.db"));
    try {
      const rows = store.db.prepare("SELECT kind, actor, reason, data FROM audit ORDER BY seq")
        .all() as {
          kind: string;
          actor: string;
          reason: string;
          data: string;
        }[];
      assert.deepEqual(rows.map((r) => r.kind), ["config.change", "config.change"]);
      assert.deepEqual(JSON.parse(rows[1].actor), { local: "mcp", tool: "cmesh_setup_apply" });
      assert.match(rows[1].reason, /add outbound peer b/);
      const data = JSON.parse(rows[1].data);
      assert.equal(data.plan_hash, fresh.hash);
      assert.equal(data.backup, out2.backup);
      assert.match(data.before_sha256, /^[0-9a-f]{64}$/);
      assert.equal(verifyAudit(store).ok, true);
    } finally {
      store.close();
    }
  } finally {
    await dir.cleanup();
  }
});

Deno.test("an outbound peer can be pinned from the wizard (stable_id), which widens nothing", async () => {
  const { buildPlan } = await import("../../src/setup/plan.ts");
  const { planWidenings } = await import("../../src/setup/apply.ts");
  const plan = await buildPlan(null, "/tmp/cmesh-plan-test/config.toml", {
    outbound_peers: [{ name: "buildbox", stable_id: "nHbV3aLbL621CNTRL" }],
  });
  assert.match(plan.proposed, /^stable_id = "nHbV3aLbL621CNTRL"$/m);
  assert.deepEqual(planWidenings(plan), []);
});

Deno.test("applyPlan keeps only the newest backups of config.toml", async () => {
  const { BACKUPS_KEPT } = await import("../../src/util/backups.ts");
  const dir = await tempDir("cmesh-apply-rot-");
  try {
    const file = join(dir.path, "config.toml");
    const stateDir = join(dir.path, "state");
    await Deno.writeTextFile(file, "");
    const n = BACKUPS_KEPT + 3;
    for (let i = 0; i < n; i++) {
      const plan = await buildPlan(await Deno.readTextFile(file), file, {
        outbound_peers: [{ name: `peer${i}` }],
      });
      await applyPlan(plan, { stateDir, now: () => new Date(Date.UTC(2026, 0, 1, 0, 0, i)) });
    }
    const backups = [...Deno.readDirSync(dir.path)].map((e) => e.name)
      .filter((x) => x.startsWith("config.toml.bak-")).sort();
    assert.equal(backups.length, BACKUPS_KEPT);
    // The newest are kept.
    assert.equal(
      backups.at(-1),
      `config.toml.bak-2026-01-01T00-00-${String(n - 1).padStart(2, "0")}-000Z`,
    );
  } finally {
    await dir.cleanup();
  }
});
