/**
 * @module
 * The setup wizard over MCP: `cmesh_setup_status`, `cmesh_setup_plan`, `cmesh_setup_apply`,
 * `cmesh_setup_start_daemon`, `cmesh_setup_handshake`. They let the user's agent take "help
 * me set up cmesh" from nothing to a proven round trip, with the user confirming each change.
 *
 * They are always served (not only while setup is incomplete): MCP clients read the tool
 * list once per session, the same tools diagnose later trouble and add new peers, and none
 * of them needs the daemon except the handshake. Every change is gated: the config is written
 * only by `cmesh_setup_apply` echoing the hash of a plan this server showed, and the service
 * is installed only by `cmesh_setup_start_daemon`. The logic lives in `src/setup/` (shared
 * with `cmesh doctor`), imported on first use so `cmesh mcp` still starts fast.
 *
 * @example
 * ```ts
 * import { registerSetupTools } from "./setup_tools.ts";
 * registerSetupTools(server, { control, configFile: "/home/ann/.config/cmesh/config.toml" });
 * ```
 */
import { z } from "zod";
import type { CallToolResult, McpServer } from "../deps/mcp.ts";
import type { PlanBook } from "../setup/apply.ts";
import { okResult } from "./results.ts";
import type { ToolContext } from "./tools/common.ts";

/** The wizard's tool names, in registration order. */
export const SETUP_TOOL_NAMES = [
  "cmesh_setup_status",
  "cmesh_setup_plan",
  "cmesh_setup_apply",
  "cmesh_setup_start_daemon",
  "cmesh_setup_handshake",
] as const;

/** What the wizard tools need: the config file (the daemon is reached through it). */
export interface SetupToolContext extends ToolContext {
  configFile?: string;
}

function fail(code: string, message: string): CallToolResult {
  return { content: [{ type: "text", text: `${message}\n[error ${code}]` }], isError: true };
}

async function configFileOf(ctx: SetupToolContext): Promise<string> {
  if (ctx.configFile) return ctx.configFile;
  const lazy = ctx.control as { configFile?: unknown };
  if (typeof lazy.configFile === "string") return lazy.configFile;
  const { currentPaths } = await import("../config/paths.ts");
  return Deno.env.get("CMESH_CONFIG") || currentPaths().configFile;
}

const Loose = z.record(z.string(), z.unknown());

const PeerIn = z.object({
  name: z.string().min(1).max(253).describe("the peer's Tailscale hostname"),
  address: z.string().min(1).optional().describe("tailnet IP, only if name resolution fails"),
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

/** Registers the wizard tools. `book` keeps the plans shown, so apply can check the hash. */
export function registerSetupTools(
  server: McpServer,
  ctx: SetupToolContext,
  book?: PlanBook,
): void {
  let plans: PlanBook | undefined = book;
  const planBook = async () => plans ??= new (await import("../setup/apply.ts")).PlanBook();

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
    const { gatherFacts } = await import("../setup/facts.ts");
    const { doctorChecks, summarize } = await import("../setup/checks.ts");
    const { nextStep } = await import("../setup/next_step.ts");
    const facts = await gatherFacts({ configFile });
    const checks = doctorChecks(facts);
    const { complete, next } = nextStep(facts, checks);
    const s = summarize(checks);
    const peers = (facts.tailscale.peers ?? []).map((p) => ({
      name: p.name,
      online: p.online,
      os: p.os,
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
    },
    annotations: {
      readOnlyHint: true,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: false,
    },
  }, async (args) => {
    const configFile = await configFileOf(ctx);
    const { buildPlan, PlanError } = await import("../setup/plan.ts");
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
    const { tailscaleFacts } = await import("../setup/facts.ts");
    const { parseConfigText } = await import("../config/load.ts");
    const ts = await tailscaleFacts(parseConfigText(plan.proposed, configFile));
    if (ts.ok) {
      const known = new Set((ts.peers ?? []).flatMap((p) => [p.name, p.dnsName]));
      for (
        const name of [
          ...(args.outbound_peers ?? []).map((p) => p.name),
          ...(args.inbound?.allow_peers ?? []),
        ]
      ) {
        if (!known.has(name)) {
          plan.warnings.push(
            `${name} is not a peer on this tailnet right now (known: ${
              [...(ts.peers ?? [])].map((p) => p.name).join(", ") || "none"
            })`,
          );
        }
      }
    }
    (await planBook()).remember(plan);
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
        `Show the user this diff and the warnings. Only if they confirm, call cmesh_setup_apply {"plan_hash": "${plan.hash}"}. The running daemon reads the new config after a restart (cmesh_setup_start_daemon).`,
      ].join("\n");
    return okResult(text, {
      plan_hash: plan.hash,
      file: plan.file,
      exists: plan.exists,
      changes: plan.changes,
      warnings: plan.warnings,
      diff: plan.diff,
      proposed: plan.proposed,
    });
  });

  server.registerTool("cmesh_setup_apply", {
    title: "cmesh setup: write the confirmed config",
    description:
      "Writes the config proposed by cmesh_setup_plan — ONLY after the user has seen that plan's diff and explicitly confirmed it. `plan_hash` must echo the hash of that plan exactly; an unknown or mistyped hash, or a config file that changed since the plan, is refused (plan again). The previous file is kept as config.toml.bak-<time>, and the change is recorded in the audit log. Afterwards restart the daemon with cmesh_setup_start_daemon so it reads the new config.",
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
    },
    annotations: {
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: false,
      openWorldHint: false,
    },
  }, async (args) => {
    const configFile = await configFileOf(ctx);
    const plan = (await planBook()).get(args.plan_hash);
    if (!plan || plan.file !== configFile) {
      return fail(
        "unconfirmed_plan",
        `Refused: no plan with hash "${args.plan_hash}" was shown in this session. Call cmesh_setup_plan, show the user the diff, and pass the plan_hash it returns once the user confirms.`,
      );
    }
    const { applyPlan, ApplyError } = await import("../setup/apply.ts");
    const { loadConfig } = await import("../config/load.ts");
    const { currentPaths } = await import("../config/paths.ts");
    let stateDir = currentPaths().stateDir;
    try {
      stateDir = (await loadConfig(configFile)).config.daemon.state_dir ?? stateDir;
    } catch { /* the current file may be the broken one being replaced */ }
    try {
      const out = await applyPlan(plan, { stateDir });
      return okResult(
        `Wrote ${out.file}${
          out.backup ? ` (previous file kept as ${out.backup})` : ""
        }; audit record #${out.audit_seq}. Next: cmesh_setup_start_daemon to (re)start the daemon with it.`,
        { ...out, changes: plan.changes },
      );
    } catch (e) {
      if (e instanceof ApplyError) return fail(e.code, `Not applied: ${e.message}`);
      throw e;
    }
  });

  server.registerTool("cmesh_setup_start_daemon", {
    title: "cmesh setup: install and start the daemon as a user service",
    description:
      "Installs (or refreshes) the cmesh user service — a systemd user unit on Linux, a launchd agent on macOS, a Scheduled Task on Windows — starts it (restarting a running daemon so it reads the current config), and waits until the daemon answers. Ask the user before calling it: it makes cmesh start at login. If the service manager is unavailable (e.g. no systemd user session), it says what the user can run instead.",
    inputSchema: {
      wait_seconds: z.int().min(1).max(120).default(30).describe(
        "how long to wait for the daemon to answer",
      ),
      restart: z.boolean().default(true).describe(
        "restart a running daemon so it reads the current config",
      ),
    },
    outputSchema: {
      healthy: z.boolean(),
      manager: z.string(),
      file: z.string(),
      started: z.boolean(),
      steps: z.array(Loose),
      status: Loose.optional(),
      hint: z.string().optional(),
    },
    annotations: {
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: false,
    },
  }, async (args) => {
    const configFile = await configFileOf(ctx);
    const { dirname, resolve } = await import("node:path");
    const { loadConfig } = await import("../config/load.ts");
    const { currentPaths } = await import("../config/paths.ts");
    const { serviceEnvironment } = await import("../service/manager.ts");
    const { startDaemonService } = await import("../setup/start_daemon.ts");
    let config;
    try {
      config = (await loadConfig(configFile)).config;
    } catch (e) {
      return fail(
        "invalid_config",
        `${(e as Error).message}\nFix the config first (cmesh_setup_plan).`,
      );
    }
    const serviceEnv = serviceEnvironment({
      stateDir: config.daemon.state_dir ?? currentPaths().stateDir,
      configDir: dirname(resolve(configFile)),
      configFile: Deno.env.get("CMESH_CONFIG")
        ? undefined
        : (configFile === currentPaths().configFile ? undefined : resolve(configFile)),
    });
    const out = await startDaemonService({
      configFile,
      serviceEnv,
      waitSeconds: args.wait_seconds,
      restart: args.restart,
    });
    const structured = {
      healthy: out.healthy,
      manager: out.service.manager,
      file: out.service.file,
      started: out.service.started,
      steps: out.service.steps.map((s) => ({ ...s })),
      ...(out.status ? { status: out.status } : {}),
      ...(out.hint ? { hint: out.hint } : {}),
    };
    const text = out.healthy
      ? `The daemon is running (node ${out.status?.node}, pid ${out.status?.pid}) via ${out.service.manager} (${out.service.file}).${
        out.hint ? ` Note: ${out.hint}` : ""
      } Next: cmesh_setup_status, then cmesh_setup_handshake with a peer.`
      : `The daemon is not running. ${out.hint}`;
    return out.healthy ? okResult(text, structured) : fail("daemon_not_started", text);
  });

  server.registerTool("cmesh_setup_handshake", {
    title: "cmesh setup: prove a peer works end to end",
    description:
      "With one named peer, checks each link in order — this machine's outbound policy names it, the local daemon runs, the peer is online and runs cmesh, the peer's inbound policy allows this machine `query` — then runs a tiny read-only query task there (the remote agent only replies 'cmesh handshake ok') and waits for the result. Each failed step says on WHICH machine to change WHAT (e.g. the exact [[inbound.allow]] snippet for the peer's config.toml). Also reports what this machine allows the peer; the reverse direction can only be tested from the peer. Tell the user it runs a read-only task on the peer.",
    inputSchema: {
      peer: z.string().min(1).max(253).describe("the peer's name (as in outbound.peers)"),
      cwd: z.string().optional().describe(
        "absolute directory on the peer for the query (default: the first root it allows)",
      ),
      wait_seconds: z.int().min(1).max(600).default(180).describe(
        "how long to wait for the query's result",
      ),
      skip_query: z.boolean().default(false).describe(
        "only check reachability and policies, run no task",
      ),
    },
    outputSchema: {
      me: z.string(),
      peer: z.string(),
      ok: z.boolean(),
      steps: z.array(Loose),
      round_trip: Loose.nullable(),
      reverse: Loose,
    },
    annotations: {
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: false,
      openWorldHint: true,
    },
  }, async (args) => {
    const configFile = await configFileOf(ctx);
    const { loadConfig } = await import("../config/load.ts");
    const { ControlClient } = await import("../control/client.ts");
    const { handshake } = await import("../setup/handshake.ts");
    let config;
    try {
      config = (await loadConfig(configFile)).config;
    } catch (e) {
      return fail("invalid_config", (e as Error).message);
    }
    const client = await ControlClient.fromConfig(configFile);
    const report = await handshake({
      control: { get: (p) => client.get(p), post: (p, b) => client.post(p, b) },
      config,
      peer: args.peer,
      cwd: args.cwd,
      waitSeconds: args.wait_seconds,
      skipQuery: args.skip_query,
    });
    const text = [
      `Handshake ${report.me} → ${report.peer}: ${
        report.ok
          ? "OK, a query task ran there and answered"
          : args.skip_query && report.steps.every((s) => s.ok)
          ? "reachable and allowed (no task run)"
          : "not working yet"
      }.`,
      ...report.steps.map((s) =>
        `${s.ok ? "ok  " : "FAIL"} ${s.step}: ${s.detail}${
          s.fix ? `\n     fix${s.where ? ` on ${s.where}` : ""}: ${s.fix}` : ""
        }`
      ),
      `Other direction: ${report.reverse.detail}${
        report.reverse.fix ? `\n     ${report.reverse.fix}` : ""
      }`,
    ].join("\n");
    return okResult(text, {
      ...report,
      steps: report.steps.map((s) => ({ ...s })),
      round_trip: report.round_trip ? { ...report.round_trip } : null,
      reverse: { ...report.reverse },
    });
  });
}
