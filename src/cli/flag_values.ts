/**
 * @module
 * Checks of flag values and arguments a command can make before it talks to the daemon, so a
 * bad value is a usage error (exit 2, code `usage`) whether or not the daemon runs, as
 * docs/commands.md promises.
 *
 * @example
 * ```ts
 * import { taskIdArg } from "./flag_values.ts";
 * taskIdArg("t123456789"); // ok; "../x" throws a usage CliError
 * ```
 */
import { AbsolutePath, Name, TASK_STATES, TaskId, type TaskState } from "../protocol/task.ts";
import { CliError, EXIT } from "./output.ts";

const usage = (message: string) => new CliError(message, EXIT.USAGE, "usage");

/** A task id argument or `--id` value (`t…`, 8–64 of `[A-Za-z0-9_-]`). */
export function taskIdArg(id: string, flag = "task id"): string {
  if (!TaskId.safeParse(id).success) {
    throw usage(
      `${flag} "${id}" is not a task id (8-64 characters of A-Z a-z 0-9 _ -, starting with a letter or digit)`,
    );
  }
  return id;
}

/** A profile or runner name. */
export function nameFlag(flag: string, value: string): string {
  if (!Name.safeParse(value).success) {
    throw usage(
      `${flag} "${value}" is not a valid name (lowercase letters, digits, _ and -, starting with a letter)`,
    );
  }
  return value as TaskState;
}

/** An absolute path on the peer (`--cwd`): never resolved here, it names the peer's disk. */
export function peerCwdFlag(value: string): string {
  if (!AbsolutePath.safeParse(value).success) {
    throw usage(
      `--cwd "${value}" must be an absolute path on the peer (it is not resolved against this machine's directory)`,
    );
  }
  return value as TaskState;
}

/** A whole number in `min..max`. */
export function intFlag(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isInteger(n) || n < min || n > max) {
    throw usage(`${flag} must be a whole number from ${min} to ${max}, got "${value}"`);
  }
  return n;
}

/** A task state filter. */
export function stateFlag(value: string): TaskState {
  if (!(TASK_STATES as readonly string[]).includes(value)) {
    throw usage(`--state must be one of ${TASK_STATES.join(", ")}, got "${value}"`);
  }
  return value as TaskState;
}
