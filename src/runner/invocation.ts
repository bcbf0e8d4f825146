/**
 * @module
 * Turns a manifest, a profile and a prompt into a concrete {@link Invocation}: argv, the
 * scrubbed env, cwd and stdin. Pure: no Deno APIs; the binary is resolved beforehand
 * (`probe.ts`) and the daemon env is passed in.
 *
 * argv layout: `[binary, ...base_args, ...env_args, ...profile.args, ...extraArgs, <prompt part>]`
 * (`env_args`: those of the variables the child gets) where
 * the prompt part is `["--", prompt]` (`prompt.via = "arg"`) or `prompt.args` with the prompt
 * written to stdin (`prompt.via = "stdin"`).
 *
 * @example
 * ```ts
 * import { buildInvocation } from "./invocation.ts";
 * import { codexManifest } from "./builtin/codex.ts";
 * const inv = buildInvocation({
 *   manifest: codexManifest, profile: "query", prompt: "List the failing tests",
 *   cwd: "/srv/app", resolvedBinary: "/usr/local/bin/codex", env: { PATH: "/usr/bin" },
 * });
 * // inv.argv = ["/usr/local/bin/codex", "exec", "--json", ..., "--sandbox", "read-only", "-"]
 * // inv.stdin = "List the failing tests"
 * ```
 */
import type { Invocation } from "./types.ts";
import {
  CWD_PLACEHOLDER,
  ENV_VALUE_PLACEHOLDER,
  type RunnerManifest,
  RunnerSetupError,
} from "./manifest.ts";
import { scrubbedEnv, type ScrubOptions } from "./env.ts";
import { isBatchFile } from "./windows_launch.ts";
import { isAbsolutePath } from "../protocol/task.ts";

/**
 * Largest prompt passed as one argv element, in UTF-8 bytes. Linux refuses a single
 * argument over 128 KiB (MAX_ARG_STRLEN) with E2BIG; the margin leaves room for the rest.
 */
export const MAX_ARG_PROMPT_BYTES = 120_000;

/** Env additions from config.toml for one runner. */
export interface ExtraEnv {
  /** Names copied from the daemon env when set. */
  pass?: readonly string[];
  /** Literal values; these win over the manifest's `env.set`. */
  set?: Readonly<Record<string, string>>;
}

/** Input of {@link buildInvocation}. */
export interface BuildInvocationInput {
  manifest: RunnerManifest;
  /** Profile name, already allowed by policy. */
  profile: string;
  prompt: string;
  /** Canonical (realpath'd) working directory, already allowed by policy. */
  cwd: string;
  /** Absolute path of the binary, from `resolveBinary`. */
  resolvedBinary: string;
  /** The daemon's environment; only the allowlisted parts reach the child. */
  env: Readonly<Record<string, string>>;
  /** Args before the manifest's (on Windows, the script of an npm shim run by node.exe). */
  prefixArgs?: readonly string[];
  /** Args from config.toml (e.g. `-m gpt-5.5`), placed after the profile args. */
  extraArgs?: readonly string[];
  extraEnv?: ExtraEnv;
  /** Private state directory; set as `manifest.state_dir_env` when both are present. */
  stateDir?: string;
  /** OS of the child (default: not Windows). */
  os?: ScrubOptions["os"];
}

/**
 * Substitutes `{cwd}` in manifest args. A cwd containing `,` is refused when `{cwd}` is part
 * of a larger token (`--allow-read={cwd}`): list-valued flags split on commas, so such a cwd
 * could smuggle in a second path.
 */
function substituteCwd(args: readonly string[], cwd: string, runner: string): string[] {
  return args.map((arg) => {
    if (!arg.includes(CWD_PLACEHOLDER)) return arg;
    if (arg !== CWD_PLACEHOLDER && cwd.includes(",")) {
      throw new RunnerSetupError(
        "runner_cwd_unsafe",
        `runner ${runner} puts the cwd inside the argument ${
          JSON.stringify(arg)
        }, and this cwd contains ',' which would split it into several paths; use a directory without ','`,
      );
    }
    return arg.replaceAll(CWD_PLACEHOLDER, cwd);
  });
}

/**
 * The manifest's `env_args` for the variables the child gets. A value with control characters
 * is refused: it could not be a URL or name, and would not survive quoting as one argument.
 */
function envArgs(manifest: RunnerManifest, env: Readonly<Record<string, string>>): string[] {
  const out: string[] = [];
  for (const [name, args] of Object.entries(manifest.env_args)) {
    const value = env[name];
    if (value === undefined || value === "") continue;
    // deno-lint-ignore no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(value)) {
      throw new RunnerSetupError(
        "runner_env_unsafe",
        `runner ${manifest.name}: ${name} contains control characters; fix its value in the daemon's environment or runners.${manifest.name}.env`,
      );
    }
    const quoted = JSON.stringify(value);
    out.push(...args.map((a) => a.replaceAll(ENV_VALUE_PLACEHOLDER, quoted)));
  }
  return out;
}

function promptPart(
  manifest: RunnerManifest,
  prompt: string,
): { args: string[]; stdin: string | null } {
  const runner = manifest.name;
  if (manifest.prompt.via === "stdin") return { args: [...manifest.prompt.args], stdin: prompt };
  if (prompt.includes("\0")) {
    throw new RunnerSetupError(
      "runner_prompt_unsafe",
      `runner ${runner} takes the prompt as an argument, which cannot contain NUL characters`,
    );
  }
  const bytes = new TextEncoder().encode(prompt).length;
  if (bytes > MAX_ARG_PROMPT_BYTES) {
    throw new RunnerSetupError(
      "runner_prompt_too_long",
      `runner ${runner} takes the prompt as a command-line argument, limited to ${MAX_ARG_PROMPT_BYTES} bytes; this prompt has ${bytes}. Shorten it (put long material in a file in the cwd and refer to it), or give the runner prompt = { via = "stdin" }`,
    );
  }
  // A one-word prompt could equal a subcommand name: commander (Claude Code's parser)
  // dispatches `claude -p -- update` to `claude update` even after `--`. A trailing newline
  // keeps the argument from ever equalling a command name and means nothing to the model.
  const arg = /\s/.test(prompt) ? prompt : `${prompt}\n`;
  if (manifest.prompt.end_of_options) return { args: ["--", arg], stdin: null };
  if (prompt.startsWith("-")) {
    throw new RunnerSetupError(
      "runner_prompt_unsafe",
      `runner ${runner} passes the prompt as a bare argument (prompt.end_of_options = false), so a prompt starting with '-' would be read as a flag; rephrase the prompt or set prompt.end_of_options = true`,
    );
  }
  return { args: [arg], stdin: null };
}

/**
 * Builds the invocation of one run.
 *
 * @throws {RunnerSetupError} `runner_unknown_profile` ("runner claude has no profile
 *   'deploy'; it has: query, edit, build, full"), `runner_binary_not_absolute`,
 *   `runner_prompt_too_long`, `runner_prompt_unsafe`, `runner_cwd_unsafe`
 */
export function buildInvocation(input: BuildInvocationInput): Invocation {
  const { manifest, profile, prompt, cwd } = input;
  const spec = Object.hasOwn(manifest.profiles, profile) ? manifest.profiles[profile] : undefined;
  if (spec === undefined) {
    throw new RunnerSetupError(
      "runner_unknown_profile",
      `runner ${manifest.name} has no profile '${profile}'; it has: ${
        Object.keys(manifest.profiles).join(", ")
      }`,
    );
  }
  if (!isAbsolutePath(input.resolvedBinary)) {
    throw new RunnerSetupError(
      "runner_binary_not_absolute",
      `runner ${manifest.name}: binary path ${
        JSON.stringify(input.resolvedBinary)
      } is not absolute; resolve it with resolveBinary first`,
    );
  }
  if (input.os === "windows" && isBatchFile(input.resolvedBinary)) {
    // cmd.exe would re-parse every argument (prompt, cwd): never start a batch file.
    throw new RunnerSetupError(
      "runner_batch_file",
      `runner ${manifest.name}: ${input.resolvedBinary} is a batch file; cmesh starts runners without cmd.exe (see windows_launch.ts)`,
    );
  }
  const tail = promptPart(manifest, prompt);
  const env = scrubbedEnv(
    input.env,
    manifest,
    input.extraEnv?.pass ?? [],
    input.extraEnv?.set ?? {},
    { os: input.os },
  );
  const argv = [
    input.resolvedBinary,
    ...(input.prefixArgs ?? []),
    ...substituteCwd(manifest.base_args, cwd, manifest.name),
    ...envArgs(manifest, env),
    ...substituteCwd(spec.args, cwd, manifest.name),
    ...(input.extraArgs ?? []),
    ...tail.args,
  ];
  if (manifest.state_dir_env !== undefined && input.stateDir !== undefined) {
    env[manifest.state_dir_env] = input.stateDir;
  }
  return { argv, env, cwd, stdin: tail.stdin };
}
