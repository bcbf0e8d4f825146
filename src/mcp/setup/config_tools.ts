/**
 * @module
 * The wizard's config tools: `cmesh_setup_status` (checks and the next step),
 * `cmesh_setup_plan` (a proposed config as a diff, remembered by hash) and `cmesh_setup_apply`
 * (writes a remembered plan, backed up and audited). None of them needs the daemon.
 *
 * @example
 * ```ts
 * import { McpServer } from "../../deps/mcp.ts";
 * import { PlanBook } from "../../setup/apply.ts";
 * import { registerConfigTools } from "./config_tools.ts";
 * import type { SetupToolContext } from "./common.ts";
 * declare const ctx: SetupToolContext;
 * const server = new McpServer({ name: "cmesh", version: "1" });
 * const book = new PlanBook();
 * registerConfigTools(server, ctx, () => Promise.resolve(book));
 * ```
 */
import { z } from "../../deps/zod.ts";
import type { McpServer } from "../../deps/mcp.ts";
import type { PlanBook } from "../../setup/apply.ts";
import { okResult } from "../results.ts";
import { configFileOf, fail, Loose, type SetupToolContext } from "./common.ts";
import { applyCommand, askUser, refuseWidening } from "./confirm.ts";

const PeerIn = z.object({
  name: z.string().min(1).max(253).describe("the peer's Tailscale hostname"),
  address: z.string().min(1).optional().describe("tailnet IP, only if name resolution fails"),
  stable_id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional().describe(
    "the peer's Tailscale StableID (cmesh_setup_status lists them): pins the node the user picked; without it the node is pinned on the first task",
  ),
  port: z.int().min(1).max(65535).optional().describe(
    "its worker port, only if not the default 7433",
  ),
  profiles: z.array(z.string()).min(1).optional().describe(
    'profiles this machine may send it; default ["query"] (read-only). Add edit/build/full only when the user asks',
  ),
  cwd: z.array(z.string()).min(1).optional().describe(
    'absolute cwd patterns ON THE PEER this machine may send (glob: * within a segment, ** across); default ["/**"] (the peer\'s own policy still decides)',
  ),
});

const InboundIn = z.object({
  enabled: z.boolean().describe("whether other machines may send tasks to THIS machine"),
  allow_peers: z.array(z.string().min(1)).optional().describe(
    "node names (Tailscale hostnames) allowed to send tasks here",
  ),
  cwd_roots: z.array(z.string()).optional().describe(
    "absolute directories on THIS machine those peers may work in (required with allow_peers; ask the user)",
  ),
  profiles: z.array(z.string()).min(1).optional().describe('default ["query"]'),
  runners: z.array(z.string()).min(1).optional().describe('default ["claude", "codex"]'),
});

/** Registers status, plan and apply; `planBook` holds the plans shown in this session. */
export function registerConfigTools(
  server: McpServer,
  ctx: SetupToolContext,
  planBook: () => Promise<PlanBook>,
): void {
  server.registerTool("cmesh_setup_status", {
    title: "cmesh setup: what is there, what is missing, next step",
    description:
      "Start here when the user asks to set up (or fix) cmesh. Checks this machine like 'cmesh doctor': Tailscale reachable (this node's name and addresses, peers online), config present and valid, state dir and token, daemon running, user service, worker listening (when inbound is on), runners found with versions, agents with cmesh registered, and whether each configured peer answers. Returns every check (pass/warn/fail with a fix), `complete`, and `next_step`: the one thing to do next, which wizard tool does it and what the user must decide. Changes nothing.",
    outputSchema: {
      complete: z.boolean(),
      next_step: Loose,
      summary: Loose,
      checks: z.array(Loose),
      node: Loose.nullable(),
      tailnet_peers: z.array(Loose),
      config_file: z.string(),
    },
    annotations: {
      readOnlyHint: true,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: true,
    },
  }, async () => {
    const configFile = await configFileOf(ctx);
    const { gatherFacts } = await import("../../setup/facts.ts");
    const { doctorChecks, summarize } = await import("../../setup/checks.ts");
    const { nextStep } = await import("../../setup/next_step.ts");
    const facts = await gatherFacts({ configFile });
    const checks = doctorChecks(facts);
    const { complete, next } = nextStep(facts, checks);
    const s = summarize(checks);
    const peers = (facts.tailscale.peers ?? []).map((p) => ({
      name: p.name,
      dns_name: p.dnsName,
      stable_id: p.stableId,
      online: p.online,
      os: p.os,
      ...(p.shared ? { shared_in: true } : {}),
    }));
    const text = [
      `Setup ${
        complete ? "complete" : "not complete"
      } (${s.pass} pass, ${s.warn} warn, ${s.fail} fail; config ${configFile}).`,
      `Next step (${next.who}${next.tool ? `, tool ${next.tool}` : ""}): ${next.instruction}`,
      "",
      ...checks.map((c) =>
        `${c.status.toUpperCase().padEnd(4)} ${c.id}: ${c.detail}${
          c.fix ? `\n     fix: ${c.fix}` : ""
        }`
      ),
      ...(peers.length
        ? [
          "",
          `Tailnet peers: ${
            peers.map((p) => `${p.name}${p.online ? "" : " (offline)"}`).join(", ")
          }`,
        ]
        : []),
    ].join("\n");
    return okResult(text, {
      complete,
      next_step: { ...next },
      summary: s,
      checks: checks.map((c) => ({ ...c })),
      node: facts.tailscale.self ? { ...facts.tailscale.self } : null,
      tailnet_peers: peers,
      config_file: configFile,
    });
  });

  server.registerTool("cmesh_setup_plan", {
    title: "cmesh setup: propose a config (as a diff)",
    description:
      "Proposes a config.toml from the current one and the user's answers, with safe defaults: peers this machine delegates to get the read-only `query` profile only; inbound (other machines sending tasks HERE) stays off unless the user asks, and then only for the peers and directories the user names. Validates the result and returns the changes, warnings and a unified diff, plus `plan_hash`. Writes nothing. Show the user the diff and warnings in full; apply with cmesh_setup_apply only after the user explicitly confirms, passing this plan_hash. Ask the user rather than guessing peer names or directories (cmesh_setup_status lists the tailnet peers).",
    inputSchema: {
      node_name: z.string().min(1).max(63).optional().describe(
        "this machine's display name (default: its Tailscale hostname)",
      ),
      outbound_peers: z.array(PeerIn).optional().describe(
        "machines this one should be able to delegate tasks to",
      ),
      inbound: InboundIn.optional().describe(
        "whether, and from whom, this machine accepts tasks (omit to keep the current setting)",
      ),
    },
    outputSchema: {
      plan_hash: z.string(),
      file: z.string(),
      exists: z.boolean(),
      changes: z.array(z.string()),
      warnings: z.array(z.string()),
      diff: z.string(),
      proposed: z.string(),
      widens: z.array(z.string()),
      needs_user_confirmation: z.boolean(),
    },
    annotations: {
      readOnlyHint: true,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: false,
    },
  }, async (args) => {
    const configFile = await configFileOf(ctx);
    const { buildPlan, PlanError } = await import("../../setup/plan.ts");
    let current: string | null = null;
    try {
      current = await Deno.readTextFile(configFile);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        return fail("unreadable_config", `cannot read ${configFile}: ${(e as Error).message}`);
      }
    }
    let plan;
    try {
      plan = await buildPlan(current, configFile, args);
    } catch (e) {
      if (e instanceof PlanError) return fail("invalid_plan", `No plan: ${e.message}`);
      throw e;
    }
    const { tailscaleFacts } = await import("../../setup/facts.ts");
    const { parseConfigText } = await import("../../config/load.ts");
    const ts = await tailscaleFacts(parseConfigText(plan.proposed, configFile));
    if (ts.ok) {
      const known = new Set((ts.peers ?? []).flatMap((p) => [p.name, p.dnsName]));
      // Each warning names the side it speaks of, as buildPlan's do.
      for (
        const [side, name] of [
          ...(args.outbound_peers ?? []).map((p) => ["outbound", p.name]),
          ...(args.inbound?.allow_peers ?? []).map((n) => ["inbound", n]),
        ]
      ) {
        if (!known.has(name)) {
          plan.warnings.push(
            `${side}: ${name} is not a peer on this tailnet right now (known: ${
              [...(ts.peers ?? [])].map((p) => p.name).join(", ") || "none"
            })`,
          );
        }
      }
    }
    (await planBook()).remember(plan);
    const { planWidenings } = await import("../../setup/apply.ts");
    const widens = planWidenings(plan);
    const { planStateDir, savePlan } = await import("../../setup/plan_store.ts");
    // Kept on disk too, so the user can apply it from a terminal (`cmesh config apply`).
    await savePlan(await planStateDir(configFile), plan);
    const applyHow = widens.length
      ? `This plan widens what other machines may do here:\n${
        widens.map((w) => `- ${w}`).join("\n")
      }\nSo the user must confirm it outside this conversation: cmesh_setup_apply asks them through your client's confirmation prompt if it has one; otherwise it refuses and the user runs \`${
        applyCommand(plan.hash, configFile)
      }\` in a terminal. Show the user this diff and the warnings; only if they want it, call cmesh_setup_apply {"plan_hash": "${plan.hash}"}.`
      : `Show the user this diff and the warnings. Only if they confirm, call cmesh_setup_apply {"plan_hash": "${plan.hash}"}.`;
    const text = plan.diff === ""
      ? `No change: ${configFile} already says this. plan_hash ${plan.hash}.`
      : [
        `Proposed change to ${configFile}${plan.exists ? "" : " (new file)"}:`,
        ...plan.changes.map((c) => `- ${c}`),
        ...(plan.warnings.length
          ? ["Warnings for the user:", ...plan.warnings.map((w) => `- ${w}`)]
          : []),
        "",
        "```diff",
        plan.diff.trimEnd(),
        "```",
        "",
        `${applyHow} The running daemon reads the new config after a restart (cmesh_setup_start_daemon).`,
      ].join("\n");
    return okResult(text, {
      plan_hash: plan.hash,
      file: plan.file,
      exists: plan.exists,
      changes: plan.changes,
      warnings: plan.warnings,
      diff: plan.diff,
      proposed: plan.proposed,
      widens,
      needs_user_confirmation: widens.length > 0,
    });
  });

  server.registerTool("cmesh_setup_apply", {
    title: "cmesh setup: write the confirmed config",
    description:
      "Writes the config proposed by cmesh_setup_plan — ONLY after the user has seen that plan's diff and explicitly confirmed it. `plan_hash` must echo the hash of that plan exactly; an unknown or mistyped hash, or a config file that changed since the plan, is refused (plan again). A plan that widens what other machines may do here (inbound on, a new inbound peer or rule, a wider cwd root, another profile or runner, a changed identity source) is applied only when the user confirms it in your client's confirmation prompt (MCP elicitation); a client without one gets a refusal naming the `cmesh config apply <hash>` command the user runs in a terminal. The previous file is kept as config.toml.bak-<time>, and the change is recorded in the audit log. Afterwards restart the daemon with cmesh_setup_start_daemon so it reads the new config.",
    inputSchema: {
      plan_hash: z.string().min(1).max(64).describe(
        "the plan_hash of the cmesh_setup_plan result the user confirmed",
      ),
    },
    outputSchema: {
      file: z.string(),
      backup: z.string().nullable(),
      audit_seq: z.number(),
      changes: z.array(z.string()),
      confirmed_by: z.string().nullable(),
    },
    annotations: {
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: false,
      openWorldHint: false,
    },
  }, async (args, extra) => {
    const configFile = await configFileOf(ctx);
    const plan = (await planBook()).get(args.plan_hash);
    if (!plan || plan.file !== configFile) {
      return fail(
        "unconfirmed_plan",
        `Refused: no plan with hash "${args.plan_hash}" was shown in this session. Call cmesh_setup_plan, show the user the diff, and pass the plan_hash it returns once the user confirms.`,
      );
    }
    const { applyPlan, ApplyError, planWidenings } = await import("../../setup/apply.ts");
    const { planStateDir } = await import("../../setup/plan_store.ts");
    const stateDir = await planStateDir(configFile);
    const widens = planWidenings(plan);
    let confirmedBy: string | null = null;
    if (widens.length) {
      const asked = await askUser(server, plan, widens, extra.requestId);
      if (asked !== "accepted") return refuseWidening(plan, widens, asked);
      confirmedBy = "mcp_elicitation";
    }
    try {
      const out = await applyPlan(plan, {
        stateDir,
        widens,
        actor: {
          local: "mcp",
          via: "cmesh_setup_apply",
          ...(confirmedBy ? { confirmed_by: confirmedBy } : {}),
        },
      });
      return okResult(
        `Wrote ${out.file}${
          out.backup ? ` (previous file kept as ${out.backup})` : ""
        }; audit record #${out.audit_seq}${
          confirmedBy ? " (the user confirmed it in the client's prompt)" : ""
        }. Next: cmesh_setup_start_daemon to (re)start the daemon with it.`,
        { ...out, changes: plan.changes, confirmed_by: confirmedBy },
      );
    } catch (e) {
      if (e instanceof ApplyError) return fail(e.code, `Not applied: ${e.message}`);
      throw e;
    }
  });
}
