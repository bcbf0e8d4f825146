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
import { posix, win32 } from "node:path";

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

/**
 * Per-OS default paths, honouring `CMESH_HOME`, XDG variables and `%APPDATA%`. Paths are
 * joined with the target OS's separator, whatever OS computes them. Empty or relative
 * XDG / `%APPDATA%` values are ignored (the XDG spec says to treat them as unset).
 */
export function cmeshPaths({ os, env }: PathInputs): CmeshPaths {
  const join = os === "windows" ? win32.join : posix.join;
  const isAbs = os === "windows" ? win32.isAbsolute : posix.isAbsolute;
  const absEnv = (name: string): string | undefined => {
    const v = env[name];
    return v && isAbs(v) ? v : undefined;
  };
  const home = env.CMESH_HOME;
  if (home) {
    return {
      configDir: home,
      configFile: join(home, "config.toml"),
      runnersDir: join(home, "runners"),
      stateDir: join(home, "state"),
    };
  }
  // On Windows, HOME may be a POSIX-style path set by Git Bash or MSYS: prefer USERPROFILE.
  const userHome = os === "windows" ? env.USERPROFILE ?? env.HOME : env.HOME ?? env.USERPROFILE;
  let configDir: string;
  let stateDir: string;
  if (os === "windows") {
    const appData = absEnv("APPDATA") ??
      (userHome ? join(userHome, "AppData", "Roaming") : undefined);
    if (!appData) throw new Error("cannot find %APPDATA%: set CMESH_HOME to choose a directory");
    configDir = join(appData, "cmesh");
    stateDir = join(absEnv("LOCALAPPDATA") ?? appData, "cmesh", "state");
  } else if (os === "darwin") {
    if (!userHome) throw new Error("cannot find $HOME: set CMESH_HOME to choose a directory");
    configDir = join(userHome, "Library", "Application Support", "cmesh");
    stateDir = join(configDir, "state");
  } else {
    const xdgConfig = absEnv("XDG_CONFIG_HOME");
    const xdgState = absEnv("XDG_STATE_HOME");
    if (!userHome && !(xdgConfig && xdgState)) {
      throw new Error("cannot find $HOME: set CMESH_HOME to choose a directory");
    }
    configDir = join(xdgConfig ?? join(userHome!, ".config"), "cmesh");
    stateDir = join(xdgState ?? join(userHome!, ".local", "state"), "cmesh");
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

/**
 * The state directory a config uses: `daemon.state_dir`, else the per-OS default (or
 * `$CMESH_HOME/state`). The one place this fallback is decided.
 *
 * @example
 * ```ts
 * stateDirFor({ daemon: { state_dir: "/var/lib/cmesh" } }); // "/var/lib/cmesh"
 * ```
 */
export function stateDirFor(config: { daemon: { state_dir?: string } }): string {
  return config.daemon.state_dir ?? currentPaths().stateDir;
}
