/**
 * @module
 * What the user service runs: the `cmesh daemon` command line (the compiled binary, or `deno
 * run` from a source checkout with the same permission flags the release build bakes in), the
 * environment it needs, and where its files go. Pure: every input is passed in, so the
 * generators that consume a {@link ServiceSpec} are tested for content on any OS.
 *
 * @example
 * ```ts
 * import { daemonInvocation } from "./spec.ts";
 * daemonInvocation({ standalone: true, execPath: "/home/ann/.local/bin/cmesh" });
 * // { program: "/home/ann/.local/bin/cmesh", args: ["daemon"] }
 * ```
 */
import { posix, win32 } from "node:path";
import { fileURLToPath } from "node:url";
import { denoRunArgs } from "../util/deno_permissions.ts";

/** The service's name in every service manager (`cmesh.service`, the task `\cmesh`). */
export const SERVICE_NAME = "cmesh";

/** The launchd label (reverse-DNS, as launchd expects). */
export const LAUNCHD_LABEL = "dev.cmesh.daemon";

/** Environment variables copied from the installing shell into the service, when set. */
export const CARRIED_ENV = [
  "PATH",
  "CMESH_HOME",
  "CMESH_CONFIG",
  "XDG_CONFIG_HOME",
  "XDG_STATE_HOME",
] as const;

/** A program and its arguments. */
export interface Invocation {
  program: string;
  args: string[];
}

/** How this cmesh runs: compiled (`Deno.build.standalone`) or from source. */
export interface SelfInfo {
  /** True for a `deno compile`d binary. */
  standalone: boolean;
  /** `Deno.execPath()`: the cmesh binary, or the deno binary when run from source. */
  execPath: string;
  /** Repository root (holds `deno.json` and `src/main.ts`); needed from source only. */
  repoRoot?: string;
  /** Target OS, for path joining (default: `Deno.build.os`). */
  os?: typeof Deno.build.os;
}

/** The running cmesh, described for {@link cmeshInvocation}. */
export function currentSelf(): SelfInfo {
  return {
    standalone: Deno.build.standalone,
    execPath: Deno.execPath(),
    repoRoot: fileURLToPath(new URL("../../", import.meta.url)),
    os: Deno.build.os,
  };
}

/**
 * The command line that runs `cmesh <args...>`. A compiled binary carries its permissions
 * inside; from source it is `deno run --no-prompt <permission flags> --config <repo>/deno.json
 * <repo>/src/main.ts`, the flags the tests and the release build use (util/deno_permissions.ts).
 */
export function cmeshInvocation(self: SelfInfo, args: string[]): Invocation {
  if (self.standalone) return { program: self.execPath, args };
  if (!self.repoRoot) throw new Error("running from source, but the repository root is unknown");
  const join = (self.os ?? Deno.build.os) === "windows" ? win32.join : posix.join;
  return {
    program: self.execPath,
    args: denoRunArgs(
      join(self.repoRoot, "src", "main.ts"),
      args,
      join(self.repoRoot, "deno.json"),
    ),
  };
}

/**
 * The `cmesh daemon` command line, with `--config` when one was chosen explicitly and
 * `--env-file` for service managers that cannot carry environment variables themselves.
 */
export function daemonInvocation(
  self: SelfInfo,
  configFile?: string,
  envFile?: string,
): Invocation {
  return cmeshInvocation(self, [
    "daemon",
    ...(configFile ? ["--config", configFile] : []),
    ...(envFile ? ["--env-file", envFile] : []),
  ]);
}

/** Everything a service definition needs. */
export interface ServiceSpec {
  /** What to run. */
  invocation: Invocation;
  /** Environment for the daemon (see {@link CARRIED_ENV}). */
  env: Record<string, string>;
  /** Working directory (the user's home: the daemon does not depend on it). */
  workingDirectory: string;
  /** Where launchd writes the daemon's output (systemd uses the journal). */
  logFile: string;
  /**
   * Optional env file for secrets such as runner API keys: systemd reads it (`EnvironmentFile=`),
   * launchd and Windows pass it to the daemon as `--env-file`.
   */
  envFile: string;
  /** The cmesh version that generated the file (written into a comment). */
  version: string;
}

/** Picks the variables of {@link CARRIED_ENV} that are set (and non-empty) in `env`. */
export function carriedEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of CARRIED_ENV) {
    const v = env[name];
    if (v) out[name] = v;
  }
  return out;
}
