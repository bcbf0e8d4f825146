/**
 * @module
 * The wizard's action tools: `cmesh_setup_start_daemon` (install/refresh the user service,
 * (re)start it, wait until healthy) and `cmesh_setup_handshake` (prove one peer end to end,
 * saying on which machine to change what when a step fails).
 *
 * @example
 * ```ts
 * import { McpServer } from "../../deps/mcp.ts";
 * import { registerRunTools } from "./run_tools.ts";
 * import type { SetupToolContext } from "./common.ts";
 * declare const ctx: SetupToolContext;
 * registerRunTools(new McpServer({ name: "cmesh", version: "1" }), ctx);
 * ```
 */
import { z } from "../../deps/zod.ts";
import type { McpServer } from "../../deps/mcp.ts";
import { okResult } from "../results.ts";
import { configFileOf, fail, Loose, type SetupToolContext } from "./common.ts";

/** Registers start_daemon and handshake. */
export function registerRunTools(server: McpServer, ctx: SetupToolContext): void {
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
    const { loadConfig } = await import("../../config/load.ts");
    const { currentPaths, stateDirFor } = await import("../../config/paths.ts");
    const { serviceEnvironment } = await import("../../service/manager.ts");
    const { startDaemonService } = await import("../../setup/start_daemon.ts");
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
      stateDir: stateDirFor(config),
      configDir: dirname(resolve(configFile)),
      // The service finds the same config: CMESH_CONFIG / CMESH_HOME travel in its environment;
      // only a file chosen with `cmesh mcp --config` must be passed on explicitly.
      configFile: Deno.env.get("CMESH_CONFIG") || configFile === currentPaths().configFile
        ? undefined
        : resolve(configFile),
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
    const { loadConfig } = await import("../../config/load.ts");
    const { ControlClient } = await import("../../control/client.ts");
    const { handshake } = await import("../../setup/handshake.ts");
    let config;
    try {
      config = (await loadConfig(configFile)).config;
    } catch (e) {
      return fail("invalid_config", (e as Error).message);
    }
    const report = await handshake({
      control: await ControlClient.fromConfig(configFile),
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
