/**
 * @module
 * The `cmesh` entry point: one binary, many modes (see DESIGN.md and docs/commands.md).
 */

if (import.meta.main) {
  if (Deno.args[0] === "__demo-agent") {
    // Internal: the built-in demo runner's entry in a compiled binary (runner/builtin/demo.ts).
    const { main } = await import("./runner/builtin/demo_agent.ts");
    Deno.exit(await main());
  }
  if (Deno.args[0] === "daemon") {
    // The daemon skips the command tree it would otherwise hold for its whole life.
    const { runDaemonEntry } = await import("./cli/daemon_entry.ts");
    const code = await runDaemonEntry(Deno.args.slice(1));
    if (code !== undefined) Deno.exit(code);
  }
  const { runCli } = await import("./cli/program.ts");
  Deno.exit(await runCli(Deno.args));
}
