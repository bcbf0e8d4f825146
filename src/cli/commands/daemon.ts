/**
 * @module
 * `cmesh daemon`.
 */
import { ConfigError } from "../../config/errors.ts";
import { DaemonLockedError } from "../../daemon/lock.ts";
import { runDaemon } from "../../daemon/main.ts";
import { StoreError } from "../../store/errors.ts";
import { configFileFor } from "../context.ts";
import { CliError, type CommonOptions, EXIT } from "../output.ts";

/** Runs the daemon in the foreground until SIGINT/SIGTERM. */
export async function daemon(opts: CommonOptions & { insecureLocalDemo?: string }): Promise<void> {
  let code: number;
  try {
    code = await runDaemon({
      configFile: configFileFor(opts),
      insecureLocalDemo: opts.insecureLocalDemo,
    });
  } catch (e) {
    // Start-up problems a user can fix get their own codes (the rest stay `internal`).
    if (e instanceof ConfigError) {
      throw new CliError(e.message, EXIT.FAILURE, "invalid_config", {
        file: e.file,
        problems: e.problems,
      });
    }
    if (e instanceof DaemonLockedError) {
      throw new CliError(e.message, EXIT.FAILURE, "daemon_running");
    }
    if (e instanceof StoreError) throw new CliError(e.message, EXIT.FAILURE, `store_${e.code}`);
    throw e;
  }
  if (code !== 0) {
    throw new CliError(
      "the daemon could not start (see the messages above)",
      code,
      "daemon_failed",
    );
  }
}
