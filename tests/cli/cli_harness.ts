/**
 * @module
 * Runs the real `cmesh` entry point the way `deno task cmesh` does (release permission flags,
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
  /** Everything on stderr. */
  stderr: string;
  /**
   * The same as `stderr`: Deno prints nothing of its own under explicit permission flags
   * (tests/cli/quiet_stderr_test.ts), so all of stderr is cmesh's.
   */
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

/**
 * Runs `deno run --no-prompt <permission flags> src/main.ts ...args` from the repository root,
 * as `deno task cmesh` does.
 */
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
  return { code, stdout, stderr, cmeshStderr: stderr };
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
