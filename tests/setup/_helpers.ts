/**
 * @module
 * Helpers for the onboarding tests (setup, service, installer): run the real CLI with a
 * controlled environment (a temporary HOME, a chosen PATH, nothing of the caller's cmesh or
 * agent variables), fake programs on PATH that record their arguments, and file helpers.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cmeshArgs, REPO_ROOT } from "../support/daemon.ts";
import { findOnPath, run } from "../support/proc.ts";

/** What one CLI run did. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The caller's variables that never reach the child (they change where things go). */
const SCRUB = /^(CMESH_|XDG_|CLAUDE_CONFIG_DIR$|CODEX_HOME$|NO_COLOR$|APPDATA$|USERPROFILE$)/;

/** A clean environment with `HOME` set, optionally with extra entries. */
export function cleanEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(Deno.env.toObject())) if (!SCRUB.test(k)) env[k] = v;
  return { ...env, HOME: home, NO_COLOR: "1", ...extra };
}

/** Runs `cmesh <args>` from source with the release permission flags with exactly `env`. */
export async function cmesh(args: string[], env: Record<string, string>): Promise<Run> {
  const { code, stdout, stderr } = await run([Deno.execPath(), ...cmeshArgs(...args)], {
    cwd: REPO_ROOT,
    env,
    clearEnv: true,
  });
  return { code, stdout, stderr };
}

/** Parses stdout as one JSON document, failing with the run's output otherwise. */
export function json<T = Record<string, unknown>>(r: Run): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}):\n${r.stdout}\n--- stderr:\n${r.stderr}`);
  }
}

/**
 * Writes a fake program `name` into `binDir` that appends its arguments (one line, space
 * separated) to `<binDir>/<name>.log` and exits with `code` (after printing `stderr`).
 */
export async function fakeProgram(
  binDir: string,
  name: string,
  opts: { code?: number; stdout?: string; stderr?: string } = {},
): Promise<string> {
  await Deno.mkdir(binDir, { recursive: true });
  const log = join(binDir, `${name}.log`);
  const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const script = `#!/bin/sh
printf '%s\\n' "$*" >> ${q(log)}
${opts.stdout ? `printf '%s\\n' ${q(opts.stdout)}` : ""}
${opts.stderr ? `printf '%s\\n' ${q(opts.stderr)} >&2` : ""}
exit ${opts.code ?? 0}
`;
  const file = join(binDir, name);
  await Deno.writeTextFile(file, script, { mode: 0o755 });
  await Deno.chmod(file, 0o755);
  return log;
}

/** The lines a fake program logged (empty when it never ran). */
export async function calls(log: string): Promise<string[]> {
  try {
    return (await Deno.readTextFile(log)).split("\n").filter((l) => l !== "");
  } catch {
    return [];
  }
}

/** The names in a directory. */
export async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) names.push(e.name);
  } catch { /* missing */ }
  return names.sort();
}

/**
 * Runs `program` with exactly `env` (2 minutes at the most) and returns its stdout; fails the
 * test with its output when it does not succeed. For the agents' own CLIs (`claude mcp list`).
 */
export async function mustSucceed(
  program: string,
  args: string[],
  env: Record<string, string>,
): Promise<string> {
  const r = await run([program, ...args], { env, clearEnv: true, timeoutMs: 120_000 });
  assert.ok(r.code === 0, `${program} ${args.join(" ")} failed:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** One server as `codex mcp list --json` lists it (the parts the tests read). */
export interface CodexMcpServer {
  name: string;
  transport: { command: string; args: string[] };
}

/** The MCP servers `codex mcp list --json` lists, run with exactly `env`. */
export async function codexMcpList(
  codex: string,
  env: Record<string, string>,
): Promise<CodexMcpServer[]> {
  return JSON.parse(await mustSucceed(codex, ["mcp", "list", "--json"], env)) as CodexMcpServer[];
}

/** Absolute path of `program` on PATH, or null. */
export const which: (program: string) => string | null = findOnPath;
