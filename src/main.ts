/**
 * @module
 * The `cmesh` entry point: one binary, many modes (see DESIGN.md and docs/commands.md).
 */
import { runCli } from "./cli/program.ts";

if (import.meta.main) {
  if (Deno.args[0] === "__demo-agent") {
    // Internal: the built-in demo runner's entry in a compiled binary (runner/builtin/demo.ts).
    const { main } = await import("./runner/builtin/demo_agent.ts");
    Deno.exit(await main());
  }
  Deno.exit(await runCli(Deno.args));
}
