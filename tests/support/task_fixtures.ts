/**
 * @module
 * Task wire objects for tests: a finished task's result with every field set, to override what
 * a test is about.
 *
 * @example
 * ```ts
 * import { taskResult } from "./task_fixtures.ts";
 * taskResult({ claims: { final_text: "hi", session_id: null } });
 * ```
 */
import type { TaskResult } from "../../src/protocol/task.ts";

/** A succeeded `query` task's result on `claude` in /srv/app ("done", no evidence). */
export function taskResult(over: Partial<TaskResult> = {}): TaskResult {
  return {
    id: "t0123456789",
    state: "succeeded",
    profile: "query",
    runner: "claude",
    cwd: "/srv/app",
    started_at: null,
    finished_at: null,
    claims: { final_text: "done", session_id: null },
    evidence: null,
    error: null,
    ...over,
  };
}
