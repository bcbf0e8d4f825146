/**
 * @module
 * `cmesh daemon`.
 */
import { runDaemon } from "../../daemon/main.ts";
import { configFileFor } from "../context.ts";
import { CliError, type CommonOptions } from "../output.ts";

/** Runs the daemon in the foreground until SIGINT/SIGTERM. */
export async function daemon(opts: CommonOptions & { insecureLocalDemo?: string }): Promise<void> {
  const code = await runDaemon({
    configFile: configFileFor(opts),
    insecureLocalDemo: opts.insecureLocalDemo,
  });
  if (code !== 0) throw new CliError("the daemon could not start (see the messages above)", code);
}
