/**
 * Issue 13 item 4: MCP cannot open this machine. Through a real MCP client on a spawned
 * `cmesh mcp`: the exploit plan (a new peer, `/`, `full`) is refused by `cmesh_setup_apply`
 * with the exact terminal command, which then applies it (`cmesh config apply <hash>`, only
 * with a terminal answer or `--yes`); a client that supports elicitation asks the user, and
 * only an "apply" answer writes; narrowing and outbound-only plans still apply from MCP.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Client } from "../../src/deps/mcp_client.ts";
import { listAudit } from "../../src/store/audit.ts";
import { openStore } from "../../src/store/db.ts";
import { tempDir } from "../support/daemon.ts";
import { cleanEnv, cmesh } from "./_helpers.ts";
import { call, connectWizard, type ElicitAnswer } from "./_wizard.ts";

const EXPLOIT = {
  inbound: { enabled: true, allow_peers: ["x"], cwd_roots: ["/"], profiles: ["full"] },
};

async function world(onElicit?: ElicitAnswer) {
  const tmp = await tempDir("cmesh-confirm-");
  const home = join(tmp.path, "home");
  const cmeshHome = join(home, "cmesh");
  await Deno.mkdir(cmeshHome, { recursive: true });
  const configFile = join(cmeshHome, "config.toml");
  // A tailscale socket that does not exist: the plan tool's peer hints just say "unavailable".
  await Deno.writeTextFile(
    configFile,
    `[tailscale]\nsocket = "${join(tmp.path, "none.sock")}"\ntimeout_ms = 200\n`,
  );
  const env = cleanEnv(home, { CMESH_HOME: cmeshHome });
  const client: Client = await connectWizard(env, undefined, onElicit);
  return {
    env,
    configFile,
    client,
    dbPath: join(cmeshHome, "state", "cmesh.db"),
    async close() {
      await client.close().catch(() => {});
      await tmp.cleanup();
    },
  };
}

function configChanges(dbPath: string) {
  using store = openStore(dbPath);
  return listAudit(store, { limit: 100 }).filter((r) => r.kind === "config.change");
}

Deno.test({
  name: "the exploit plan is refused via MCP and applied only from a terminal; narrowing applies",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const w = await world();
    try {
      const before = await Deno.readTextFile(w.configFile);
      const plan = await call(w.client, "cmesh_setup_plan", EXPLOIT);
      assert.equal(plan.isError, undefined, plan.text);
      assert.equal(plan.data.needs_user_confirmation, true);
      assert.ok(plan.data.widens.length >= 3, plan.data.widens.join("\n"));
      const hash = plan.data.plan_hash as string;
      const command = `cmesh config apply ${hash} --config ${w.configFile}`;
      assert.ok(plan.text.includes(command), plan.text);

      const refused = await call(w.client, "cmesh_setup_apply", { plan_hash: hash });
      assert.equal(refused.isError, true, refused.text);
      assert.match(refused.text, /Refused \(rule setup\.widening_needs_user\)/);
      assert.match(refused.text, /gives peer x access it had no rule for/);
      assert.match(refused.text, /enable the full profile/);
      assert.ok(refused.text.includes(`\n  ${command}\n`), refused.text);
      assert.match(refused.text, /\[error needs_user_confirmation\]$/);
      assert.equal(await Deno.readTextFile(w.configFile), before, "nothing written");
      assert.deepEqual(configChanges(w.dbPath), []);

      // The terminal command: without a terminal to answer and without --yes, nothing happens.
      const args = ["config", "apply", hash, "--config", w.configFile];
      const unconfirmed = await cmesh(args, w.env);
      assert.equal(unconfirmed.code, 1, unconfirmed.stderr);
      assert.match(unconfirmed.stdout, /It widens what other machines may do on this machine:/);
      assert.match(unconfirmed.stdout, /\+cwd = \[ "\/" \]/);
      assert.match(unconfirmed.stderr, /not applied: confirm it by running this command/);
      assert.equal(await Deno.readTextFile(w.configFile), before);
      const applied = await cmesh([...args, "--yes", "--json"], w.env);
      assert.equal(applied.code, 0, applied.stderr);
      assert.equal(await Deno.readTextFile(w.configFile), plan.data.proposed);
      const out = JSON.parse(applied.stdout);
      assert.equal(out.plan_hash, hash);
      const [rec] = configChanges(w.dbPath);
      assert.deepEqual(rec.actor, {
        local: "cli",
        tool: "cmesh config apply",
        confirmed_by: "--yes",
      });
      assert.deepEqual((rec.data as { widens: string[] }).widens, plan.data.widens);
      // Applied once: the stored plan is gone.
      const again = await cmesh([...args, "--yes"], w.env);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /no stored plan/);

      // Narrowing (inbound off) and outbound-only plans still apply from MCP.
      const off = await call(w.client, "cmesh_setup_plan", { inbound: { enabled: false } });
      assert.equal(off.data.needs_user_confirmation, false, off.data.widens.join());
      const offApplied = await call(w.client, "cmesh_setup_apply", {
        plan_hash: off.data.plan_hash,
      });
      assert.equal(offApplied.isError, undefined, offApplied.text);
      assert.match(await Deno.readTextFile(w.configFile), /enabled = false/);
      const out2 = await call(w.client, "cmesh_setup_plan", {
        outbound_peers: [{ name: "buildbox" }],
      });
      assert.equal(out2.data.needs_user_confirmation, false, out2.data.widens.join());
      const out2Applied = await call(w.client, "cmesh_setup_apply", {
        plan_hash: out2.data.plan_hash,
      });
      assert.equal(out2Applied.isError, undefined, out2Applied.text);
      assert.equal(out2Applied.data.confirmed_by, null);
      assert.equal(configChanges(w.dbPath).length, 3);
    } finally {
      await w.close();
    }
  },
});

Deno.test({
  name: "a client with elicitation: the user's answer decides; the model's cannot",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const answers: ReturnType<ElicitAnswer>[] = [
      { action: "decline" },
      { action: "accept", content: { apply: false } },
      { action: "cancel" },
      { action: "accept", content: { apply: true } },
    ];
    const prompts: string[] = [];
    const w = await world((params) => {
      prompts.push(params.message);
      return answers.shift()!;
    });
    try {
      const before = await Deno.readTextFile(w.configFile);
      const plan = await call(w.client, "cmesh_setup_plan", EXPLOIT);
      const hash = plan.data.plan_hash as string;
      for (const code of ["not_confirmed", "not_confirmed", "not_confirmed"]) {
        const r = await call(w.client, "cmesh_setup_apply", { plan_hash: hash });
        assert.equal(r.isError, true, r.text);
        assert.match(r.text, new RegExp(`\\[error ${code}\\]$`));
        assert.match(r.text, /cmesh config apply/);
        assert.equal(await Deno.readTextFile(w.configFile), before);
      }
      const ok = await call(w.client, "cmesh_setup_apply", { plan_hash: hash });
      assert.equal(ok.isError, undefined, ok.text);
      assert.equal(ok.data.confirmed_by, "mcp_elicitation");
      assert.equal(await Deno.readTextFile(w.configFile), plan.data.proposed);
      assert.equal(prompts.length, 4);
      assert.match(prompts[0], /widens what other machines may do on this machine/);
      assert.match(prompts[0], /gives peer x access it had no rule for/);
      assert.match(prompts[0], /\+cwd = \[ "\/" \]/);
      const [rec] = configChanges(w.dbPath);
      assert.equal((rec.actor as { confirmed_by: string }).confirmed_by, "mcp_elicitation");
      // A plan that widens nothing is applied without asking.
      const narrow = await call(w.client, "cmesh_setup_plan", { inbound: { enabled: false } });
      const applied = await call(w.client, "cmesh_setup_apply", {
        plan_hash: narrow.data.plan_hash,
      });
      assert.equal(applied.isError, undefined, applied.text);
      assert.equal(prompts.length, 4, "no prompt for a narrowing plan");
    } finally {
      await w.close();
    }
  },
});
