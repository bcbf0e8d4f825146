/**
 * @module
 * Finds a runner's binary and asks it for its version. I/O at the edge: `Deno.stat` and
 * `Deno.Command`, with a scrubbed env and stdin closed.
 *
 * @example
 * ```ts
 * import { probeVersion, resolveBinary } from "./probe.ts";
 * const git = await resolveBinary("git", Deno.env.get("PATH") ?? "", { runner: "git" });
 * console.log(await probeVersion(git, ["--version"], 5000)); // "git version 2.x"
 * ```
 */
import { RunnerSetupError } from "./manifest.ts";
import { baseEnv } from "./env.ts";
import { isAbsolutePath } from "../protocol/task.ts";

/** Who is asking, for error messages. */
export interface ResolveContext {
  /** Runner name, e.g. `codex`. */
  runner: string;
  /** e.g. "install it with `npm i -g @openai/codex`" (manifest `install_hint`). */
  installHint?: string;
  /** Defaults to `Deno.build.os`. */
  os?: string;
  /** Windows executable extensions; defaults to `.COM;.EXE;.BAT;.CMD`. */
  pathExt?: string;
}

/** A drive path (`C:\x`) is absolute only on Windows. */
function isAbsolute(p: string, windows: boolean): boolean {
  return windows ? isAbsolutePath(p) : p.startsWith("/");
}

async function executableFile(path: string, windows: boolean): Promise<boolean> {
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) return false;
    return windows || info.mode === null || (info.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/**
 * Resolves a manifest `binary` to an absolute path: an absolute path is checked as is; a bare
 * name is looked up in the absolute entries of `pathEnv` (relative entries such as `.` are
 * skipped: they would make the result depend on the daemon's cwd).
 *
 * @throws {RunnerSetupError} `runner_binary_not_found`, e.g. "runner 'codex': binary 'codex'
 *   not found on PATH (/usr/bin:/bin); install it with `npm i -g @openai/codex` or set
 *   runners.codex.binary in config.toml"
 */
export async function resolveBinary(
  binary: string,
  pathEnv: string,
  context: ResolveContext,
): Promise<string> {
  const windows = (context.os ?? Deno.build.os) === "windows";
  const hint = `${
    context.installHint === undefined ? "" : `${context.installHint} or `
  }set runners.${context.runner}.binary in config.toml`;
  if (isAbsolute(binary, windows)) {
    if (await executableFile(binary, windows)) return binary;
    throw new RunnerSetupError(
      "runner_binary_not_found",
      `runner '${context.runner}': binary ${binary} does not exist or is not an executable file; ${hint}`,
    );
  }
  if (/[\\/]/.test(binary)) {
    throw new RunnerSetupError(
      "runner_binary_not_found",
      `runner '${context.runner}': binary '${binary}' is a relative path; use a bare name looked up on PATH or an absolute path`,
    );
  }
  const sep = windows ? ";" : ":";
  const exts = windows
    ? ["", ...(context.pathExt ?? ".COM;.EXE;.BAT;.CMD").split(";").filter((e) => e !== "")]
    : [""];
  for (const dir of pathEnv.split(sep)) {
    if (!isAbsolute(dir, windows)) continue;
    for (const ext of exts) {
      const candidate = `${dir.replace(/[\\/]+$/, "")}${windows ? "\\" : "/"}${binary}${ext}`;
      if (await executableFile(candidate, windows)) return candidate;
    }
  }
  throw new RunnerSetupError(
    "runner_binary_not_found",
    `runner '${context.runner}': binary '${binary}' not found on PATH (${pathEnv}); ${hint}`,
  );
}

/**
 * Runs `path ...args` and returns the first non-empty line of its stdout (or of stderr when
 * stdout is empty). The child gets the base env only and stdin `/dev/null`.
 *
 * @param env the env to scrub (default: the daemon's own env)
 * @throws {RunnerSetupError} `runner_version_probe_failed` on spawn error, non-zero exit,
 *   empty output or timeout
 */
export async function probeVersion(
  path: string,
  args: readonly string[],
  timeoutMs: number,
  env: Readonly<Record<string, string>> = Deno.env.toObject(),
): Promise<string> {
  const fail = (why: string) =>
    new RunnerSetupError(
      "runner_version_probe_failed",
      `${[path, ...args].join(" ")} ${why}`,
    );
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(path, {
      args: [...args],
      env: baseEnv(env, { os: Deno.build.os }),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: controller.signal,
    }).output();
  } catch (e) {
    if (controller.signal.aborted) throw fail(`did not answer within ${timeoutMs} ms`);
    throw fail(`could not be started: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    clearTimeout(timer);
  }
  if (controller.signal.aborted) throw fail(`did not answer within ${timeoutMs} ms`);
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  const stdout = decode(output.stdout);
  const stderr = decode(output.stderr);
  if (!output.success) {
    const tail = (stderr.trim() || stdout.trim()).split("\n").slice(-3).join(" | ");
    throw fail(
      `failed (${output.signal === null ? `exit code ${output.code}` : `signal ${output.signal}`})${
        tail === "" ? "" : `: ${tail}`
      }`,
    );
  }
  const line = [stdout, stderr].flatMap((s) => s.split("\n")).map((l) => l.trim())
    .find((l) => l !== "");
  if (line === undefined) throw fail("printed nothing");
  return line;
}
