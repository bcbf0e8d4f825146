/**
 * @module
 * `cmesh daemon`.
 */
import { EnvFileError, loadEnvFile } from "../../config/env_file.ts";
import { ConfigError } from "../../config/errors.ts";
import { DaemonLockedError } from "../../daemon/lock.ts";
import { runDaemon } from "../../daemon/main.ts";
import { StoreError } from "../../store/errors.ts";
import { configFileFor, userPath } from "../context.ts";
import { CliError, type CommonOptions, EXIT } from "../output.ts";

/** Runs the daemon in the foreground until SIGINT/SIGTERM. */
export async function daemon(
  opts: CommonOptions & { insecureLocalDemo?: string; envFile?: string },
): Promise<void> {
  let code: number;
  try {
    // Before anything reads the environment: runner credentials for launchd and Windows tasks.
    if (opts.envFile !== undefined) await loadEnvFile(userPath(opts.envFile));
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
    if (e instanceof EnvFileError) throw new CliError(e.message, EXIT.FAILURE, "invalid_env_file");
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
