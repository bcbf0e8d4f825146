/**
 * @module
 * The `cmesh` entry point: one binary, many modes (see DESIGN.md and docs/commands.md).
 */
import { runCli } from "./cli/program.ts";

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args));
}
