/**
 * @module
 * Running service-manager commands (`systemctl`, `launchctl`, `schtasks`) with their output
 * captured, and "not installed" reported as a value rather than an exception, so an install
 * can say exactly what to do instead.
 *
 * @example
 * ```ts
 * import { systemCommandRunner } from "./commands.ts";
 * const run = systemCommandRunner();
 * const r = await run("systemctl", ["--user", "is-active", "cmesh.service"]);
 * if (r.missing) console.log("no systemctl here");
 * ```
 */

/** What one command did. `missing` means the program was not found. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
  missing?: boolean;
}

/** Runs a command to completion (injected, so tests can record instead). */
export type RunCommand = (program: string, args: string[]) => Promise<CommandResult>;

/** A {@link RunCommand} that really runs the program, with stdin closed and a timeout. */
export function systemCommandRunner(timeoutMs = 30_000): RunCommand {
  return async (program, args) => {
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const out = await new Deno.Command(program, {
        args,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        signal,
      }).output();
      const dec = (b: Uint8Array) => new TextDecoder().decode(b);
      return { code: out.code, stdout: dec(out.stdout), stderr: dec(out.stderr) };
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        return { code: 127, stdout: "", stderr: `${program}: not found`, missing: true };
      }
      if (signal.aborted) {
        return { code: 124, stdout: "", stderr: `${program} did not finish in ${timeoutMs} ms` };
      }
      return { code: 126, stdout: "", stderr: `${program}: ${(e as Error).message}` };
    }
  };
}

/** `program args...` for messages. */
export function describeCommand(program: string, args: string[]): string {
  return [program, ...args].map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(" ");
}
