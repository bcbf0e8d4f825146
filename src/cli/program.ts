/**
 * @module
 * The `cmesh` command tree. Each command's code is imported only when it runs, so
 * `cmesh mcp` does not pay for the daemon and the reverse.
 */
import { Command, CommanderError, Option } from "commander";
import { VERSION } from "../version.ts";
import { CliError, EXIT, reportError } from "./output.ts";

// deno-lint-ignore no-explicit-any
type Action = (...args: any[]) => Promise<void>;

/** What `--json` does for most commands. */
const JSON_HELP = "machine-readable output (one JSON document)";

/**
 * Adds the options every leaf command has and a lazily imported action. `jsonHelp` says what
 * `--json` does where that is not "one JSON document" (docs/commands.md says the same).
 */
function leaf(cmd: Command, load: () => Promise<Action>, jsonHelp = JSON_HELP): Command {
  return cmd
    .option("--json", jsonHelp)
    .option("--config <file>", "config file (default: see 'cmesh config path'; env CMESH_CONFIG)")
    .action(async (...args: unknown[]) => {
      const fn = await load();
      await fn(...args);
    });
}

/** Builds the program. Exposed for tests and the docs check. */
export function buildProgram(): Command {
  const program = new Command("cmesh")
    .description(
      "Delegate scoped, policy-gated tasks to coding agents on your other machines over Tailscale.",
    )
    .version(VERSION, "-V, --version", "print the version")
    .showSuggestionAfterError(true)
    .showHelpAfterError("(run 'cmesh --help' or 'cmesh <command> --help' for usage)")
    .addHelpText(
      "after",
      "\nExit codes: 0 ok, 1 failure, 2 usage error, 3 denied by policy.\nDocs: docs/commands.md",
    );

  leaf(
    program.command("version").description("print the version"),
    async () => (await import("./commands/version.ts")).version,
  );

  const config = program.command("config").description("create, show and check config.toml");
  leaf(
    config.command("init").description("write a starter config.toml with safe defaults"),
    async () => (await import("./commands/config.ts")).configInit,
  )
    .option("--force", "replace an existing file (the old one is kept as a backup)");
  leaf(
    config.command("show").description("print the effective config, defaults filled in"),
    async () => (await import("./commands/config.ts")).configShow,
  );
  leaf(
    config.command("validate").description("check config.toml; exit 1 with located errors"),
    async () => (await import("./commands/config.ts")).configValidate,
  );
  leaf(
    config.command("path").description("print where config and state live"),
    async () => (await import("./commands/config.ts")).configPath,
  );
  leaf(
    config.command("apply").description(
      "apply a plan made by cmesh_setup_plan, after showing it and asking you (for plans that widen access)",
    )
      .argument("<hash>", "the plan_hash the setup tool showed")
      .option(
        "--yes",
        "do not ask (you have reviewed the plan); needed when stdin is not a terminal",
      ),
    async () => (await import("./commands/config_apply.ts")).configApply,
  );

  leaf(
    program.command("daemon").description(
      "run the daemon in the foreground: loopback control API + tailnet worker (when inbound is enabled)",
    ),
    async () => (await import("./commands/daemon.ts")).daemon,
    "errors as one JSON document on stdout (the ready line is JSON either way; logs go to stderr)",
  ).option(
    "--env-file <file>",
    "load variables (runner credentials) from this file first, e.g. service.env; a missing file is skipped",
  ).option(
    "--local-only",
    'LOCAL ONLY, for trying real runners on one machine: no Tailscale; the worker listens on 127.0.0.1 and takes tasks only from your own user\'s connections, as peer "local" (Linux)',
  ).addOption(
    new Option("--insecure-local-demo <node>", "local demo only: treat loopback callers as <node>")
      .hideHelp(),
  );

  leaf(
    program.command("mcp").description(
      "serve the delegation tools to your coding agent over stdio (MCP); needs a running daemon",
    ),
    async () => (await import("./commands/mcp.ts")).mcp,
    "accepted, no effect: stdout carries only the MCP protocol",
  );

  leaf(
    program.command("delegate").description("hand a task to a peer's coding agent")
      .argument("<peer>", "peer name (as in outbound.peers)")
      .argument("<prompt>", "what the remote agent should do")
      .requiredOption("--cwd <dir>", "absolute working directory on the peer")
      .option("--profile <name>", "query | edit | build | full (least privilege first)", "query")
      .option("--runner <name>", "runner on the peer (default: the peer's first available)")
      .option("--timeout <seconds>", "hard timeout for the run")
      .option("--id <taskId>", "client task id (for idempotent retries)")
      .option("--wait", "follow progress and print the result"),
    async () => (await import("./commands/delegate.ts")).delegate,
  );

  const tasks = program.command("tasks").description("list, inspect and cancel delegated tasks");
  leaf(
    tasks.command("list").description("recent outbound tasks")
      .option("--state <state>", "only tasks in this state")
      .option("--peer <name>", "only tasks sent to this peer")
      .option("--limit <n>", "how many", "20")
      .option("--inbound", "tasks other nodes gave this machine (read from the local store)"),
    async () => (await import("./commands/tasks.ts")).tasksList,
  );
  leaf(
    tasks.command("show").description("status of a task, and its result once finished")
      .argument("<id>", "task id"),
    async () => (await import("./commands/tasks.ts")).tasksShow,
  );
  leaf(
    tasks.command("logs").description("progress events of a task").argument("<id>", "task id")
      .option("--follow", "keep printing until the task ends"),
    async () => (await import("./commands/tasks.ts")).tasksLogs,
  );
  leaf(
    tasks.command("cancel").description("cancel a task on its peer").argument("<id>", "task id"),
    async () => (await import("./commands/tasks.ts")).tasksCancel,
  );

  const peers = leaf(
    program.command("peers").description(
      "outbound peers: pinned node, online state and what each allows me",
    ),
    async () => (await import("./commands/peers_status.ts")).peers,
  );
  leaf(
    peers.command("pin").description(
      "pin a peer name to one Tailscale node (the one it resolves to now, or --stable-id)",
    )
      .argument("<peer>", "peer name (as in outbound.peers)")
      .option("--stable-id <id>", "pin this StableID instead of looking the name up"),
    async () => (await import("./commands/peers_pin.ts")).peersPin,
  );
  leaf(
    peers.command("unpin").description("forget a peer's pin; the next contact pins it again")
      .argument("<peer>", "peer name (as in outbound.peers)"),
    async () => (await import("./commands/peers_pin.ts")).peersUnpin,
  );
  leaf(
    program.command("status").description("daemon, tailnet, config and runners at a glance"),
    async () => (await import("./commands/peers_status.ts")).status,
  );

  const audit = program.command("audit").description("the local hash-chained audit log");
  leaf(
    audit.command("list").description("audit records, oldest first")
      .option("--task <id>", "only records about this task")
      .option("--since <time>", "ISO time or a duration like 30m, 2h, 7d")
      .option("--limit <n>", "most recent N records", "50"),
    async () => (await import("./commands/audit.ts")).auditList,
  );
  leaf(
    audit.command("verify").description("check the hash chain; name the first broken record"),
    async () => (await import("./commands/audit.ts")).auditVerify,
  );
  leaf(
    audit.command("export").description("every record as JSON lines on stdout")
      .option("--format <format>", "jsonl", "jsonl"),
    async () => (await import("./commands/audit.ts")).auditExport,
    "errors as one JSON document; the records are JSON Lines either way",
  );

  const policy = program.command("policy").description("inspect this node's inbound policy");
  leaf(
    policy.command("explain").description(
      "the decision for a caller and request, without running anything",
    )
      .requiredOption("--peer <node>", "the caller's node name")
      .requiredOption("--cwd <dir>", "requested working directory")
      .option("--profile <name>", "requested profile", "query")
      .option("--runner <name>", "requested runner")
      .option("--login <login>", "the caller's login (user-owned nodes)")
      .option("--tag <tag...>", "the caller's tags (tagged nodes)")
      .option("--cap <json>", "grant capability values the caller carries (JSON)"),
    async () => (await import("./commands/policy.ts")).policyExplain,
  );

  leaf(
    program.command("demo").description(
      "run a complete local delegation between two daemons on this machine (no Tailscale, no keys)",
    ).option("--keep", "keep the demo directory for inspection"),
    async () => (await import("./commands/demo.ts")).demo,
    "errors as one JSON document; the demo itself prints text",
  );

  leaf(
    program.command("doctor").description(
      "check config, state, daemon, Tailscale, worker, runners and agents; a fix for each problem",
    ),
    async () => (await import("./commands/doctor.ts")).doctor,
  );

  const service = program.command("service").description(
    "run the daemon as a user service (systemd, launchd, Scheduled Task)",
  );
  leaf(
    service.command("install").description("write the service definition, then enable and start it")
      .option("--no-start", "only write the file"),
    async () => (await import("./commands/service.ts")).serviceInstall,
  );
  leaf(
    service.command("uninstall").description("stop the service and remove its definition"),
    async () => (await import("./commands/service.ts")).serviceUninstall,
  );
  leaf(
    service.command("status").description("is the service installed, up to date, running"),
    async () => (await import("./commands/service.ts")).serviceStatusCommand,
  );

  leaf(
    program.command("install-mcp").description(
      "register the 'cmesh mcp' server with the coding agents installed here (idempotent)",
    )
      .option("--agent <id...>", "only these: claude-code codex gemini cursor claude-desktop")
      .option("--command <path>", "the cmesh executable agents should start (default: this one)")
      .option("--dry-run", "show what would change, write nothing"),
    async () => (await import("./commands/install_mcp.ts")).installMcp,
  );
  leaf(
    program.command("uninstall").description(
      "remove the MCP registrations; with flags also the service, binary, config, state",
    )
      .option("--agent <id...>", "only these agents (default: every agent that has cmesh)")
      .option("--stop-service", "also stop and remove the user service")
      .option("--remove-binary", "also delete this cmesh executable")
      .option("--remove-config", "also delete config.toml, its backups and runners/")
      .option("--remove-state", "also delete the state dir (database, audit log, token)")
      .option("--dry-run", "show what would change, remove nothing"),
    async () => (await import("./commands/uninstall.ts")).uninstall,
  );

  return program;
}

function wantsJson(argv: string[]): boolean {
  return argv.includes("--json");
}

/** Runs the CLI and returns the exit code (never throws). */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  program.configureOutput({
    writeErr: (s) => {
      if (!wantsJson(argv)) Deno.stderr.writeSync(new TextEncoder().encode(s));
    },
  });
  // Commander's exitOverride only applies to the command it is set on: apply to all.
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  for (const c of all(program)) c.exitOverride();
  try {
    await program.parseAsync(argv, { from: "user" });
    // Commands that finish normally but report a non-zero outcome set Deno.exitCode.
    return Deno.exitCode || EXIT.OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (["commander.helpDisplayed", "commander.version", "commander.help"].includes(e.code)) {
        return EXIT.OK;
      }
      if (e.code === "commander.executeSubCommandAsync") return EXIT.OK;
      if (wantsJson(argv)) {
        console.log(
          JSON.stringify(
            { error: { code: "usage", message: e.message.replace(/^error: /, "") } },
            null,
            2,
          ),
        );
      }
      return EXIT.USAGE;
    }
    return reportError(e, wantsJson(argv));
  }
}

export { CliError, Option };
