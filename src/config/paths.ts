/**
 * @module
 * Where cmesh keeps its config and state on each OS. `CMESH_HOME` overrides all of it:
 * config at `$CMESH_HOME/config.toml`, state in `$CMESH_HOME/state`.
 *
 * @example
 * ```ts
 * import { cmeshPaths } from "./paths.ts";
 * const p = cmeshPaths({ os: "linux", env: { HOME: "/home/ann" } });
 * p.configFile; // "/home/ann/.config/cmesh/config.toml"
 * p.stateDir; // "/home/ann/.local/state/cmesh"
 * ```
 */
import { join } from "node:path";

/** Resolved locations of cmesh's files. */
export interface CmeshPaths {
  /** Directory holding `config.toml` and `runners/`. */
  configDir: string;
  configFile: string;
  /** Custom runner manifests (`*.toml`). */
  runnersDir: string;
  /** Default state directory (database, token, lock); `daemon.state_dir` overrides it. */
  stateDir: string;
}

/** Inputs to path resolution, so it stays pure and testable. */
export interface PathInputs {
  os: typeof Deno.build.os;
  env: Record<string, string | undefined>;
}

/** Per-OS default paths, honouring `CMESH_HOME`, XDG variables and `%APPDATA%`. */
export function cmeshPaths({ os, env }: PathInputs): CmeshPaths {
  const home = env.CMESH_HOME;
  if (home) {
    return {
      configDir: home,
      configFile: join(home, "config.toml"),
      runnersDir: join(home, "runners"),
      stateDir: join(home, "state"),
    };
  }
  const userHome = env.HOME ?? env.USERPROFILE;
  let configDir: string;
  let stateDir: string;
  if (os === "windows") {
    const appData = env.APPDATA ?? (userHome ? join(userHome, "AppData", "Roaming") : undefined);
    if (!appData) throw new Error("cannot find %APPDATA%: set CMESH_HOME to choose a directory");
    configDir = join(appData, "cmesh");
    stateDir = join(env.LOCALAPPDATA ?? appData, "cmesh", "state");
  } else if (os === "darwin") {
    if (!userHome) throw new Error("cannot find $HOME: set CMESH_HOME to choose a directory");
    configDir = join(userHome, "Library", "Application Support", "cmesh");
    stateDir = join(configDir, "state");
  } else {
    if (!userHome && !(env.XDG_CONFIG_HOME && env.XDG_STATE_HOME)) {
      throw new Error("cannot find $HOME: set CMESH_HOME to choose a directory");
    }
    configDir = join(env.XDG_CONFIG_HOME ?? join(userHome!, ".config"), "cmesh");
    stateDir = join(env.XDG_STATE_HOME ?? join(userHome!, ".local", "state"), "cmesh");
  }
  return {
    configDir,
    configFile: join(configDir, "config.toml"),
    runnersDir: join(configDir, "runners"),
    stateDir,
  };
}

/** Paths for the current process (reads env; needs `--allow-env`). */
export function currentPaths(): CmeshPaths {
  return cmeshPaths({ os: Deno.build.os, env: Deno.env.toObject() });
}
