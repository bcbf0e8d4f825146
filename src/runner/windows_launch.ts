/**
 * @module
 * How a runner is started on Windows without `cmd.exe`. npm installs CLIs there as `.cmd`
 * shims; starting one runs `cmd.exe /c`, whose argument parsing re-reads `%`, `^`, `&`, `|`
 * and quotes in every argument (the "BatBadBut" class of bugs), so a prompt or a path could
 * become a command. cmesh never starts a batch file: it reads npm's shim, finds the script
 * it would run, and starts `node <script>` directly. A `.cmd`/`.bat` that is not an npm shim
 * is refused with what to configure instead.
 *
 * @example
 * ```ts
 * import { npmShimTarget } from "./windows_launch.ts";
 * const text = '@ECHO off\r\n... "%_prog%"  "%dp0%\\node_modules\\@openai\\codex\\bin\\codex.js" %*\r\n';
 * npmShimTarget(text, "C:\\Users\\ann\\AppData\\Roaming\\npm\\codex.cmd");
 * // "C:\\Users\\ann\\AppData\\Roaming\\npm\\node_modules\\@openai\\codex\\bin\\codex.js"
 * ```
 */
import { RunnerSetupError } from "./manifest.ts";

/** How to start a runner: the executable and the arguments that go before the manifest's. */
export interface RunnerLaunch {
  binary: string;
  prefixArgs: string[];
}

/** True for a file Windows would hand to `cmd.exe` (`.cmd`, `.bat`). */
export function isBatchFile(path: string): boolean {
  return /\.(cmd|bat)$/i.test(path);
}

/**
 * The script an npm `.cmd` shim (cmd-shim) runs with node, as an absolute path, or null when
 * the text is not such a shim. Only the shim's own directory (`%dp0%` / `%~dp0`) is accepted
 * as the base: a shim pointing anywhere else is not trusted.
 */
export function npmShimTarget(text: string, shimPath: string): string | null {
  if (text.length > 64 * 1024) return null;
  const m = /"%(?:dp0%|~dp0)\\?([^"%]+\.(?:c?js|mjs))"\s+%\*/i.exec(text);
  if (!m) return null;
  const rel = m[1].replace(/^[\\/]+/, "");
  if (rel.split(/[\\/]/).some((s) => s === ".." || s === "." || s === "")) return null;
  const dir = shimPath.replace(/[\\/][^\\/]*$/, "");
  return `${dir}\\${rel.replaceAll("/", "\\")}`;
}

/**
 * Turns a resolved runner binary into a launch that never goes through `cmd.exe`. Anything that
 * is not a batch file is started as is.
 *
 * @throws {RunnerSetupError} `runner_batch_file` for a batch file that is not an npm shim, or
 *   whose node cannot be found.
 */
export async function windowsLaunch(
  runner: string,
  binary: string,
  deps: {
    readTextFile(path: string): Promise<string>;
    findNode(shimDir: string): Promise<string | null>;
  },
): Promise<RunnerLaunch> {
  if (!isBatchFile(binary)) return { binary, prefixArgs: [] };
  const refuse = (why: string) =>
    new RunnerSetupError(
      "runner_batch_file",
      `runner ${runner}: ${binary} is a batch file, and cmesh never starts runners through cmd.exe (its argument parsing could turn a prompt into commands); ${why}. Set runners.${runner}.binary to the program's .exe, or to node.exe with the script in runners.${runner}.args`,
    );
  let text: string;
  try {
    text = await deps.readTextFile(binary);
  } catch (e) {
    throw refuse(`it cannot be read (${(e as Error).message})`);
  }
  const script = npmShimTarget(text, binary);
  if (script === null) throw refuse("it is not an npm shim cmesh can see through");
  const node = await deps.findNode(binary.replace(/[\\/][^\\/]*$/, ""));
  if (node === null) throw refuse("node.exe was not found next to it or on PATH");
  return { binary: node, prefixArgs: [script] };
}
