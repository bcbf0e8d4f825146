/**
 * @module
 * Resolving the config file and loading config for a command.
 */
import { isAbsolute, resolve } from "node:path";
import { currentPaths, stateDirFor } from "../config/paths.ts";
import { ConfigError } from "../config/errors.ts";
import { loadConfig, type LoadedConfig } from "../config/load.ts";
import { CliError, type CommonOptions, EXIT } from "./output.ts";

/**
 * The directory the user ran the command in. `deno task cmesh …` runs from the checkout and
 * sets `INIT_CWD` to where it was typed (npm scripts do the same); a compiled binary has
 * neither, and its cwd is the user's.
 */
export function userCwd(): string {
  const init = Deno.env.get("INIT_CWD");
  return init && isAbsolute(init) ? init : Deno.cwd();
}

/** A path the user typed (a flag value), made absolute against {@link userCwd}. */
export function userPath(path: string): string {
  return resolve(userCwd(), path);
}

/**
 * The config file a command uses: `--config`, else `CMESH_CONFIG`, else the per-OS default.
 * Relative paths are taken from the user's directory ({@link userCwd}). A `--config` file that
 * does not exist is a usage error (exit 2), unless the command creates it (`mayBeMissing`).
 */
export function configFileFor(opts: CommonOptions, { mayBeMissing = false } = {}): string {
  if (opts.config !== undefined) {
    const file = userPath(opts.config);
    if (!mayBeMissing && !existsSync(file)) {
      throw new CliError(
        `--config ${opts.config}: ${file} does not exist (create it with: cmesh config init --config ${file})`,
        EXIT.USAGE,
        "config_not_found",
        { file },
      );
    }
    return file;
  }
  // An empty CMESH_CONFIG counts as unset (`CMESH_CONFIG= cmesh ...`), not as the path "".
  const env = Deno.env.get("CMESH_CONFIG");
  return env ? userPath(env) : currentPaths().configFile;
}

function existsSync(file: string): boolean {
  try {
    Deno.statSync(file);
    return true;
  } catch (e) {
    // Unreadable is not missing: loading it will say why.
    return !(e instanceof Deno.errors.NotFound);
  }
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
