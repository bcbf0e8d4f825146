/**
 * @module
 * Resolving the config file and loading config for a command.
 */
import { currentPaths, stateDirFor } from "../config/paths.ts";
import { ConfigError } from "../config/errors.ts";
import { loadConfig, type LoadedConfig } from "../config/load.ts";
import { CliError, type CommonOptions, EXIT } from "./output.ts";

/** The config file a command uses: `--config`, else `CMESH_CONFIG`, else the per-OS default. */
export function configFileFor(opts: CommonOptions): string {
  // An empty CMESH_CONFIG counts as unset (`CMESH_CONFIG= cmesh ...`), not as the path "".
  return opts.config ?? (Deno.env.get("CMESH_CONFIG") || currentPaths().configFile);
}

/** Loads config for a command, turning config errors into a usage-class CLI error. */
export async function loadConfigFor(opts: CommonOptions): Promise<LoadedConfig> {
  try {
    return await loadConfig(configFileFor(opts));
  } catch (e) {
    if (e instanceof ConfigError) {
      throw new CliError(e.message, EXIT.FAILURE, "invalid_config", {
        file: e.file,
        problems: e.problems,
      });
    }
    throw e;
  }
}

/** The state dir a config resolves to (`daemon.state_dir`, else the per-OS default). */
export function stateDirOf(loaded: LoadedConfig): string {
  return stateDirFor(loaded.config);
}
