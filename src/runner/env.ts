/**
 * @module
 * The scrubbed environment of a runner process. Nothing is inherited by default: the child
 * gets a small base allowlist, the names its manifest (and the config) explicitly pass, and
 * literal values the manifest (and the config) set. Pure: the daemon env is a parameter.
 *
 * @example
 * ```ts
 * import { scrubbedEnv } from "./env.ts";
 * import { claudeManifest } from "./builtin/claude.ts";
 * const env = scrubbedEnv(
 *   { PATH: "/usr/bin", HOME: "/home/u", ANTHROPIC_API_KEY: "k", AWS_SECRET_ACCESS_KEY: "s" },
 *   claudeManifest,
 * );
 * // env has PATH, HOME, TERM=dumb, NO_COLOR=1, ANTHROPIC_API_KEY and the CLAUDE_CODE_* settings;
 * // never AWS_SECRET_ACCESS_KEY.
 * ```
 */
import type { RunnerManifest } from "./manifest.ts";

/** Names copied from the daemon env when set (every platform). */
export const BASE_ENV_ALLOWLIST: readonly string[] = [
  "PATH",
  "HOME",
  "LANG",
  "LC_ALL",
  "LC_CTYPE",
  "TZ",
  "USER",
  "LOGNAME",
  "TMPDIR",
];

/**
 * Extra names copied on Windows, where many programs cannot start without them
 * (`SYSTEMROOT` for Winsock/crypto, `COMSPEC`/`PATHEXT` for shells, profile dirs for config).
 */
export const WINDOWS_BASE_ENV_ALLOWLIST: readonly string[] = [
  "SYSTEMROOT",
  "SYSTEMDRIVE",
  "WINDIR",
  "COMSPEC",
  "PATHEXT",
  "USERPROFILE",
  "APPDATA",
  "LOCALAPPDATA",
  "HOMEDRIVE",
  "HOMEPATH",
  "TEMP",
  "TMP",
  "USERNAME",
];

/** Values always set: no terminal features, no colour codes in the output we parse. */
export const FORCED_ENV: Readonly<Record<string, string>> = { TERM: "dumb", NO_COLOR: "1" };

/** True for names that belong to cmesh itself (tokens, paths); these never reach a runner. */
export function isCmeshOwnedName(name: string): boolean {
  return name.toUpperCase().startsWith("CMESH_");
}

/** Options of {@link scrubbedEnv}. */
export interface ScrubOptions {
  /** The OS the child runs on; `windows` adds its base names and matches names case-insensitively. */
  os?: string;
}

function lookup(env: Readonly<Record<string, string>>, name: string, caseInsensitive: boolean) {
  if (Object.hasOwn(env, name)) return env[name];
  if (!caseInsensitive) return undefined;
  const upper = name.toUpperCase();
  for (const [k, v] of Object.entries(env)) if (k.toUpperCase() === upper) return v;
  return undefined;
}

/**
 * Builds a runner's environment. Precedence, later wins: base allowlist, forced values
 * (`TERM=dumb`, `NO_COLOR=1`), manifest `env.pass`, `configPass`, manifest `env.set`,
 * `configSet`. `CMESH_*` names are never copied from the daemon env, whoever asks.
 *
 * @param daemonEnv the daemon's own environment (e.g. `Deno.env.toObject()`)
 * @param manifest supplies `env.pass` and `env.set`
 * @param configPass extra names to copy, from config.toml
 * @param configSet extra literal values, from config.toml
 * @returns a fresh object; pass it as the child's complete env (`clearEnv: true`)
 */
export function scrubbedEnv(
  daemonEnv: Readonly<Record<string, string>>,
  manifest: Pick<RunnerManifest, "env">,
  configPass: readonly string[] = [],
  configSet: Readonly<Record<string, string>> = {},
  options: ScrubOptions = {},
): Record<string, string> {
  const windows = options.os === "windows";
  const out: Record<string, string> = {};
  const copy = (name: string) => {
    if (isCmeshOwnedName(name)) return;
    const value = lookup(daemonEnv, name, windows);
    if (value !== undefined) out[name] = value;
  };
  for (const name of BASE_ENV_ALLOWLIST) copy(name);
  if (windows) { for (const name of WINDOWS_BASE_ENV_ALLOWLIST) copy(name); }
  Object.assign(out, FORCED_ENV);
  for (const name of manifest.env.pass) copy(name);
  for (const name of configPass) copy(name);
  Object.assign(out, manifest.env.set);
  Object.assign(out, configSet);
  return out;
}

/**
 * The base allowlist alone (plus forced values): the env for helper processes such as the
 * version probe, which need no credentials.
 *
 * @example
 * ```ts
 * import { baseEnv } from "./env.ts";
 * baseEnv({ PATH: "/usr/bin", SECRET: "x" }); // { PATH: "/usr/bin", TERM: "dumb", NO_COLOR: "1" }
 * ```
 */
export function baseEnv(
  daemonEnv: Readonly<Record<string, string>>,
  options: ScrubOptions = {},
): Record<string, string> {
  return scrubbedEnv(daemonEnv, { env: { pass: [], set: {} } }, [], {}, options);
}
