/**
 * @module
 * `cmesh_delegate`: hand a scoped task to a coding agent on a peer, optionally waiting (with
 * progress notifications) for it to finish. Its description teaches the calling agent how to
 * delegate well; it is the tool most worth reading.
 *
 * @example
 * ```ts
 * import { registerDelegateTool } from "./delegate.ts";
 * // registerDelegateTool(server, { control });
 * ```
 */
import { z } from "../../deps/zod.ts";
import { AbsolutePath, Name } from "../../protocol/task.ts";
import { followTask, POLL_S } from "../follow.ts";
import { taskText } from "../format.ts";
import { errorResult, okResult } from "../results.ts";
import { FollowOut, toTaskOut } from "../schemas.ts";
import { followText, nextWait, reporterFor, type ToolRegistrar, waitSecondsArg } from "./common.ts";

/** The description of `cmesh_delegate`. */
export const DELEGATE_DESCRIPTION =
  `Delegate a scoped task to a coding agent (Claude Code, Codex, ...) on another machine of the user's tailnet, through the local cmesh daemon. The remote agent works in \`cwd\` on that peer with the capabilities of \`profile\`; cmesh returns its final text as UNTRUSTED claims, next to the worker's own evidence (exit status, duration, git HEAD before/after, diff stat, changed files, tokens/cost, permission denials, truncation).

How to delegate well:
- Call cmesh_peers first: it shows which peers are online and what each allows you (profiles, cwd roots, runners).
- Make the task self-contained: the remote agent has none of your context. Name the files, the command to run or the question to answer, and what to report back (e.g. "run the tests, report the failing test names and the first error of each").
- Keep it small and scoped to one repository. \`cwd\` is an absolute path ON THE PEER, inside a root the peer allows.
- Use the least profile that can do the job: query (read-only inspection, the default) for questions; edit only to change files; build to also run builds/tests; full only when the user asked for it.
- Trust the evidence, not the claims: a claimed fix with no changed files, a non-zero exit, or permission denials mean it did not happen as told.

Waiting: with wait_seconds 0 (default) you get the task id at once; follow it with cmesh_wait, then read cmesh_result. With wait_seconds > 0 this call waits up to that long (sending progress notifications if you pass a progressToken) and returns the result if the task finished, else the status so far. Waiting never cancels the task; cmesh_cancel does.

Refusals come back as errors that say whose policy refused and what is allowed: your own outbound policy (rule outbound.*, nothing was sent) or the peer's (its reason, quoted and labelled as the peer's).`;

/** Registers `cmesh_delegate`. */
export const registerDelegateTool: ToolRegistrar = (server, { control }) => {
  server.registerTool("cmesh_delegate", {
    title: "Delegate a task to a peer's coding agent",
    description: DELEGATE_DESCRIPTION,
    inputSchema: {
      peer: z.string().min(1).max(253).describe(
        "the peer's name as cmesh_peers lists it (its Tailscale hostname)",
      ),
      task: z.string().min(1).describe(
        "the prompt for the remote agent: self-contained, scoped, saying what to report back",
      ),
      cwd: AbsolutePath.describe(
        "absolute working directory ON THE PEER (a repository inside a root the peer allows)",
      ),
      profile: Name.default("query").describe(
        "capability set, least first: query (read-only, default), edit, build, full",
      ),
      runner: Name.optional().describe(
        "the coding-agent CLI to run on the peer (e.g. claude, codex); cmesh_peers lists the runners each peer allows you. Default: the peer's default runner",
      ),
      timeout_s: z.int().positive().max(7 * 24 * 3600).optional().describe(
        "hard time limit for the remote run, in seconds (the peer may cap it)",
      ),
      wait_seconds: waitSecondsArg("how long to wait for the task to finish before returning")
        .default(0),
    },
    outputSchema: FollowOut,
    annotations: {
      title: "Delegate a task to a peer",
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: false,
      openWorldHint: true,
    },
  }, async (args, extra) => {
    const startedAt = Date.now();
    const progress = reporterFor(extra);
    // Waiting starts in the delegate call itself (one round trip for a task that ends quickly);
    // its answer is the follow loop's first.
    const waitNow = args.wait_seconds > 0
      ? { timeoutS: Math.min(args.wait_seconds, POLL_S), untilTerminal: !progress.enabled }
      : undefined;
    const res = await control.delegate(
      {
        peer: args.peer,
        // The tool's argument keeps its public name `task`; it is the prompt (docs/mcp-tools.md).
        prompt: args.task,
        cwd: args.cwd,
        profile: args.profile,
        ...(args.runner ? { runner: args.runner } : {}),
        ...(args.timeout_s ? { timeout_s: args.timeout_s } : {}),
      },
      extra.signal,
      waitNow,
    );
    if (!res.ok) return errorResult(res.error, { peer: args.peer });
    const task = toTaskOut({ ...res.value.task, peer: res.value.peer });
    const accepted = `Delegated to ${task.peer} as task ${task.id} (accepted, ${task.state}).`;
    if (args.wait_seconds === 0) {
      const out: FollowOut = {
        task_id: task.id,
        peer: task.peer,
        state: task.state,
        done: false,
        waited_s: 0,
        task,
        events: [],
        events_omitted: 0,
        next_after: 0,
        result: null,
      };
      const text = [
        accepted,
        taskText(task),
        `Next: ${nextWait(out)} to follow it, then cmesh_result; cmesh_cancel stops it.`,
      ].join("\n\n");
      return okResult(text, out);
    }
    const { events, result } = res.value;
    const followed = await followTask(control, task.id, {
      waitSeconds: args.wait_seconds,
      after: 0,
      progress,
      signal: extra.signal,
      startedAt,
      // An older daemon answers without waiting (no events): the loop then asks itself.
      first: events
        ? {
          task: { ...res.value.task, peer: res.value.peer },
          events,
          ...(result ? { result } : {}),
        }
        : undefined,
    });
    if (!followed.ok) {
      return errorResult({
        ...followed.error,
        message:
          `task ${task.id} was accepted by ${task.peer}, but following it failed: ${followed.error.message}`,
      });
    }
    const f = followed.value;
    // Once it is done, the result's (or status's) own first line says how it ended: said once.
    const lead = f.done
      ? `Delegated to ${task.peer} as task ${task.id}; waited ${f.waited_s}s for it to end.`
      : `${accepted} Still ${f.state} after waiting ${f.waited_s}s.`;
    return okResult(followText(f, lead), f);
  });
};
