/**
 * @module
 * The decision at dequeue: just before a queued task is spawned, its cwd is resolved again
 * from the path the requester sent and admission's decision ({@link decideInbound}, the same
 * code path) runs again against the worker's current config and the caller identity stored
 * with the task. A task admitted under an older state of the world (a rule since narrowed, a
 * profile since disabled, a runner gone, a directory swapped for a symlink) is refused
 * instead of running under the decision it was admitted with.
 *
 * The caller's identity is what whois said at admission (node, DNS name, StableID, login,
 * tags, and the grant entry of the configured app capability). The caller is not connected at
 * dequeue, so a grant revoked in the tailnet policy meanwhile is not seen; a capability
 * configured after admission finds no stored grant and is refused (fail closed).
 *
 * @example
 * ```ts
 * import type { TaskRecord } from "../store/tasks.ts";
 * import { redecideAtDequeue, type RedecideContext } from "./redecide.ts";
 * declare const context: RedecideContext;
 * declare const task: TaskRecord; // a queued inbound task
 * const d = await redecideAtDequeue(context, task);
 * if (!d.allow) console.log(d.rule, d.reason); // e.g. "profile.disabled", "profile build is disabled …"
 * ```
 */
import type { CallerIdentity, InboundPolicyConfig } from "../policy/types.ts";
import type { DequeueDecision } from "../scheduler/redecide.ts";
import type { TaskRecord } from "../store/tasks.ts";
import type { CwdResolver } from "../inbound/cwd_resolve.ts";
import { decideInbound } from "../inbound/decide.ts";
import { matchingRules } from "../policy/caller.ts";
import type { Config } from "../config/schema.ts";

/** What the decision at dequeue reads besides the task: the worker's current view. */
export interface RedecideContext {
  config: InboundPolicyConfig;
  /** Realpaths of each rule's cwd roots, as resolved when the worker started. */
  rootsReal: (string | null)[][];
  runnersAvailable: string[];
  caseInsensitive: boolean;
  /** How to resolve the cwd: the same resolver admission uses (default: in this thread). */
  resolve?: CwdResolver;
}

/**
 * The caller of a stored inbound task, rebuilt from the identity stored at admission; `null`
 * when none was stored. A DNS name missing from older rows stays empty, so a rule naming the
 * caller only by its MagicDNS name no longer matches it (fail closed).
 */
export function callerOfTask(task: TaskRecord): CallerIdentity | null {
  const r = task.requester;
  if (!r || !r.stable_id) return null;
  return {
    node: r.node,
    dnsName: r.dns_name ?? "",
    stableId: r.stable_id,
    login: r.login || null,
    tags: r.tags,
    capMap: r.cap_map ?? {},
  };
}

/**
 * Decides a queued task again, now. Allows only when the current config allows it for the
 * stored caller AND the requested cwd still resolves to the directory admission decided on;
 * the allow carries that freshly resolved directory, which is what the run must use.
 */
export async function redecideAtDequeue(
  ctx: RedecideContext,
  task: TaskRecord,
): Promise<DequeueDecision> {
  const caller = callerOfTask(task);
  if (caller === null) {
    return {
      allow: false,
      rule: "task.identity_missing",
      reason: `task ${task.id} has no stored requester identity to decide it again with`,
    };
  }
  const requested = task.cwd_requested ?? task.cwd;
  const { decision, cwd } = await decideInbound({
    config: ctx.config,
    caller,
    request: {
      cwd: requested,
      profile: task.profile,
      runner: task.runner,
      promptBytes: new TextEncoder().encode(task.prompt).length,
      timeoutS: task.timeout_s ?? undefined,
    },
    rootsReal: ctx.rootsReal,
    runnersAvailable: ctx.runnersAvailable,
    caseInsensitive: ctx.caseInsensitive,
    resolve: ctx.resolve,
  });
  if (!decision.allow) return { allow: false, rule: decision.rule, reason: decision.reason };
  // The policy allows the directory the path names now; it must also be the one admitted.
  if (!cwd.ok || cwd.real !== task.cwd) {
    const now = cwd.ok ? cwd.real : "nothing";
    return {
      allow: false,
      rule: "cwd.changed",
      reason: `cwd ${requested} resolved to ${task.cwd} when the task was admitted and now ` +
        `resolves to ${now}`,
    };
  }
  return { allow: true, rule: decision.rule, reason: decision.reason, cwdReal: cwd.real };
}

/**
 * The per-peer limit of a task queued before a restart: the first rule naming its requester
 * (as stored from whois) that allows its profile.
 */
export function requeuedPeerLimit(config: Config, task: TaskRecord): number | undefined {
  const caller = callerOfTask(task);
  if (!caller) return undefined;
  const rule = matchingRules(caller, config.inbound.allow)
    .map(({ index }) => config.inbound.allow[index])
    .find((rule) => rule.profiles.includes(task.profile));
  return rule?.max_concurrent;
}
