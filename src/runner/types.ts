/**
 * @module
 * The contract between the scheduler and the runner layer: what to run, and what came of it.
 */
import type { Claims, Evidence, TaskEvent, TaskState } from "../protocol/task.ts";
import type { TaskError } from "../protocol/task_errors.ts";

/** A fully resolved process invocation. `argv[0]` is an absolute path to the binary. */
export interface Invocation {
  /** Absolute binary path followed by its arguments. */
  argv: string[];
  /** The complete, scrubbed environment of the child (nothing else is inherited). */
  env: Record<string, string>;
  /** Working directory (already realpath'd and allowed by policy). */
  cwd: string;
  /** `null` → stdin is /dev/null; a string → written to stdin, then closed. */
  stdin: string | null;
}

/** Limits the supervisor enforces on one run. */
export interface RunLimits {
  /** Hard wall-clock timeout; the whole tree is killed when it passes. */
  timeoutMs: number;
  /** Bytes of stdout kept (the rest is drained and dropped, and `truncated.stdout` set). */
  maxStdoutBytes: number;
  /** Bytes of stderr kept (tail). */
  maxStderrBytes: number;
}

/** An event as a runner parser produces it; the store assigns `seq` and `at`. */
export type RunnerEvent = Omit<TaskEvent, "seq" | "at">;

/** What a finished run produced. `state` is terminal. */
export interface RunOutcome {
  state: Extract<TaskState, "succeeded" | "failed" | "cancelled" | "timed_out">;
  claims: Claims;
  evidence: Evidence;
  error: TaskError | null;
}
