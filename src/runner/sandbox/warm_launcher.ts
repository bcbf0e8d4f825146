/**
 * @module
 * What the launcher of a sandbox started ahead (`warm.ts`) runs, as pure text: the launcher itself
 * (it makes and holds a FIFO, reports what it bound, waits for `go` on its stdin) and the script
 * that hands it a command with exactly its environment.
 *
 * @example
 * ```ts
 * import { launchScript, warmLauncher } from "./warm_launcher.ts";
 * const argv = warmLauncher("/var/lib/cmesh/runs/r1/ctl", ["/srv/app"]); // inside the sandbox
 * const script = launchScript(["/bin/echo", "hi"], { PATH: "/usr/bin" }); // into its FIFO
 * ```
 */
import { SHELL_NAME, shellWord } from "../../util/shell_word.ts";
import { RUN_TOKEN_ENV } from "../process_list.ts";

/** The launcher's exit code when it cannot get ready or is given nothing to run. */
export const WARM_LAUNCHER_FAILED = 125;

/**
 * The launcher: `sh -c LAUNCHER cmesh-warm <ctl dir> <checked path>...`. Absolute tool paths: it
 * starts with no environment but its run token. It holds the FIFO open read-write on fd 3 (so neither its
 * open nor ours waits for the other), and `.` then runs each command as it comes from the FIFO:
 * the script closes fd 3 first.
 */
const LAUNCHER = [
  "c=$1; shift; umask 077",
  // No `-m`: its chmod goes through /proc, which git's sandbox has not.
  `/usr/bin/mkfifo "$c/go" 2>/dev/null || exit ${WARM_LAUNCHER_FAILED}`,
  `exec 3<>"$c/go" || exit ${WARM_LAUNCHER_FAILED}`,
  `/usr/bin/stat -L -c %d:%i -- "$@" >"$c/ready" 2>/dev/null || exit ${WARM_LAUNCHER_FAILED}`,
  `IFS= read -r go && [ "$go" = go ] || exit ${WARM_LAUNCHER_FAILED}`,
  '. "$c/go"',
  `exit ${WARM_LAUNCHER_FAILED}`,
].join("\n");

/**
 * The argv (inside the sandbox) of a warm sandbox's launcher: control dir `ctl` (bound
 * writable), then the paths whose identity {@link WarmStart.launch} checks.
 *
 * @example
 * ```ts
 * warmLauncher("/var/lib/cmesh/runs/r1/ctl", ["/srv/app"])[0]; // "/bin/sh"
 * ```
 */
export function warmLauncher(ctl: string, checks: readonly string[]): string[] {
  return ["/bin/sh", "-c", LAUNCHER, "cmesh-warm", ctl, ...checks];
}

/**
 * The script a launcher runs: its FIFO closed, the environment set to exactly `env` (the
 * launcher's own holds only its run token, and the `PWD` the shell exports), then `exec` of
 * `command`. In
 * braces: a script cut short is a syntax error, never a shorter command. Null when it cannot be
 * written exactly (a NUL byte; through `env -i`, an `=` in the program path).
 *
 * @example
 * ```ts
 * launchScript(["/bin/echo", "hi"], { A: "1" });
 * // "{ exec 3>&-; unset PWD OLDPWD CMESH_RUN_ID; export A='1'; exec '/bin/echo' 'hi'; }\n"
 * ```
 */
export function launchScript(
  command: readonly string[],
  env: Readonly<Record<string, string>>,
): string | null {
  const entries = Object.entries(env);
  const words = [...command, ...entries.flat()];
  if (!command[0]?.startsWith("/") || words.some((w) => w.includes("\0"))) return null;
  const exec = command.map(shellWord).join(" ");
  if (entries.every(([k]) => SHELL_NAME.test(k))) {
    const exports = entries.map(([k, v]) => `${k}=${shellWord(v)}`).join(" ");
    const set = `unset PWD OLDPWD ${RUN_TOKEN_ENV}; ${exports ? `export ${exports}; ` : ""}`;
    return `{ exec 3>&-; ${set}exec ${exec}; }\n`;
  }
  if (command[0].includes("=") || entries.some(([k]) => k === "" || k.includes("="))) return null;
  const assignments = entries.map(([k, v]) => shellWord(`${k}=${v}`)).join(" ");
  return `{ exec 3>&-; exec /usr/bin/env -i ${assignments} ${exec}; }\n`;
}
