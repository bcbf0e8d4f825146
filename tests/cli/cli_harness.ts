/**
 * @module
 * Runs the real `cmesh` entry point the way `deno task cmesh` does (release permission set,
 * no prompts, from the repository root), with a fresh `CMESH_HOME` per test and none of the
 * caller's cmesh or colour variables leaking in.
 *
 * @example
 * ```ts
 * import { runCmesh, withHome } from "./cli_harness.ts";
 * await withHome(async (home) => {
 *   const r = await runCmesh(["version", "--json"], { home });
 *   JSON.parse(r.stdout).version;
 * });
 * ```
 */
import { cmeshArgs, REPO_ROOT } from "../support/daemon.ts";
import { run } from "../support/proc.ts";

export { REPO_ROOT };

/** What one run of `cmesh` did. */
export interface CliRun {
  code: number;
  stdout: string;
  /** Everything on stderr, including Deno's own warnings. */
  stderr: string;
  /** stderr without Deno's own warnings: only what cmesh printed. */
  cmeshStderr: string;
}

/** Options for {@link runCmesh}. */
export interface RunOptions {
  /** Used as `CMESH_HOME`. */
  home: string;
  /** Extra environment (e.g. `NO_COLOR`, `CMESH_CONFIG`). */
  env?: Record<string, string>;
}

/** Variables the caller's shell must not pass to the child: they change cmesh's behaviour. */
const SCRUBBED = [
  /^CMESH_/,
  /^NO_COLOR$/,
  /^FORCE_COLOR$/,
  /^XDG_CONFIG_HOME$/,
  /^XDG_STATE_HOME$/,
];

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/** Deno prints this for `-P=<set>`; it is Deno's, not cmesh's. */
const DENO_WARNING = /Permissions in the config file is an experimental feature/;

/** Runs `deno run --no-prompt -P=cmesh src/main.ts ...args` from the repository root. */
export async function runCmesh(args: string[], opts: RunOptions): Promise<CliRun> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(Deno.env.toObject())) {
    if (!SCRUBBED.some((re) => re.test(k))) env[k] = v;
  }
  Object.assign(env, { CMESH_HOME: opts.home }, opts.env ?? {});
  const { code, stdout, stderr } = await run([Deno.execPath(), ...cmeshArgs(...args)], {
    cwd: REPO_ROOT,
    env,
    clearEnv: true,
  });
  const cmeshStderr = stderr.split("\n")
    .filter((line) => !DENO_WARNING.test(line.replace(ANSI, "")))
    .join("\n");
  return { code, stdout, stderr, cmeshStderr };
}

/** Runs `fn` with a fresh temporary directory as `CMESH_HOME`, removed afterwards. */
export async function withHome(fn: (home: string) => Promise<void>): Promise<void> {
  const home = await Deno.makeTempDir({ prefix: "cmesh-cli-test-" });
  try {
    await fn(home);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

/** True when `text` contains an ANSI escape sequence. */
export function hasAnsi(text: string): boolean {
  return text.includes("\x1b[");
}

/** Parses stdout as exactly one JSON document (fails the test otherwise). */
export function jsonOf(run: CliRun): Record<string, unknown> {
  try {
    return JSON.parse(run.stdout);
  } catch {
    throw new Error(`stdout is not one JSON document:\n${run.stdout}\nstderr:\n${run.stderr}`);
  }
}
