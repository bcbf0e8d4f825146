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
  opts: CommonOptions & { insecureLocalDemo?: string; envFile?: string; localOnly?: boolean },
): Promise<void> {
  const localOnly = opts.localOnly ? localOnlyUser(opts) : undefined;
  let code: number;
  try {
    // Before anything reads the environment: runner credentials for launchd and Windows tasks.
    if (opts.envFile !== undefined) await loadEnvFile(userPath(opts.envFile));
    code = await runDaemon({
      configFile: configFileFor(opts),
      insecureLocalDemo: opts.insecureLocalDemo,
      localOnly,
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

/**
 * Who may call in `--local-only` mode: this process's user. Refused where the kernel cannot
 * say who owns a loopback connection (only Linux's /proc/net/tcp does, for cmesh).
 */
function localOnlyUser(opts: { insecureLocalDemo?: string }): { uid: number; user: string } {
  if (opts.insecureLocalDemo !== undefined) {
    throw new CliError(
      "--local-only and --insecure-local-demo exclude each other",
      EXIT.USAGE,
      "usage",
    );
  }
  const uid = Deno.build.os === "linux" ? Deno.uid() : null;
  if (uid === null) {
    throw new CliError(
      `--local-only needs Linux: it checks that every connection belongs to your user through /proc/net/tcp, which ${Deno.build.os} does not have`,
      EXIT.USAGE,
      "usage",
    );
  }
  return { uid, user: Deno.env.get("USER") || Deno.env.get("LOGNAME") || `uid ${uid}` };
}
