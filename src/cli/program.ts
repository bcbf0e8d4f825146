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

/** Adds the options every leaf command has and a lazily imported action. */
function leaf(cmd: Command, load: () => Promise<Action>): Command {
  return cmd
    .option("--json", "machine-readable output (one JSON document)")
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
    program.command("daemon").description(
      "run the daemon in the foreground: loopback control API + tailnet worker (when inbound is enabled)",
    ),
    async () => (await import("./commands/daemon.ts")).daemon,
  ).addOption(
    new Option("--insecure-local-demo <node>", "local demo only: treat loopback callers as <node>")
      .hideHelp(),
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
    return EXIT.OK;
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
