/**
 * @module
 * The worker's tasks behind `/v1`: admission (cwd realpath → inbound policy → load
 * limits → durable insert + audit in one transaction → queue), caller-scoped queries, cancel,
 * and `hello`. Every decision, allow or deny, is audited with its rule and reason.
 */
import type { Config } from "../config/schema.ts";
import { allowedFor } from "../policy/allowed.ts";
import { admissionLimits, limitsFor, suggestRetryAfterS } from "../policy/limits.ts";
import type { CallerIdentity } from "../policy/types.ts";
import { errorReply } from "../protocol/errors.ts";
import { MAX_STREAM_TASKS } from "../protocol/events.ts";
import {
  isTerminal,
  type TaskEvent,
  type TaskRequest,
  type TaskResult,
  type TaskStatus,
} from "../protocol/task.ts";
import type { ResolvedRunner } from "../runner/runtime.ts";
import { sandboxRefusal, type SandboxSettings, sandboxState } from "../runner/sandbox/mod.ts";
import { finishTask } from "../scheduler/executor.ts";
import type { RunQueue } from "../scheduler/queue.ts";
import type { TaskBus } from "../scheduler/task_bus.ts";
import { appendAudit } from "../store/audit.ts";
import type { Store } from "../store/db.ts";
import { requestHash } from "../store/hash.ts";
import {
  getResult,
  getTask,
  insertTask,
  lastEvent,
  listEvents,
  listTasks,
  type TaskRecord,
  toTaskStatus,
} from "../store/tasks.ts";
import { logger } from "../util/log.ts";
import { PROTOCOL, VERSION } from "../version.ts";

const log = logger("worker");
/** How long the recent run time behind `Retry-After` advice is reused. */
const RECENT_RUN_TTL_MS = 5000;
import type { CwdResolver } from "../inbound/cwd_resolve.ts";
import { decideInbound } from "../inbound/decide.ts";
import type { HelloBody, TaskOutcome, WorkerTasks } from "./ports.ts";

/** What the worker tasks need. */
export interface WorkerTasksDeps {
  config: Config;
  store: Store;
  queue: RunQueue;
  bus: TaskBus;
  nodeName: string;
  runners: ReadonlyMap<string, ResolvedRunner>;
  /** Realpaths of each rule's cwd roots (see `resolveRoots`). */
  rootsReal: (string | null)[][];
  caseInsensitive: boolean;
  /** How runs are sandboxed: recorded in every decision; required but unusable refuses. */
  sandbox?: SandboxSettings;
  /** How to resolve a cwd (the sandboxed thread's port to the main thread); default local. */
  resolveCwd?: CwdResolver;
}

function actorOf(caller: CallerIdentity, sourceIp?: string) {
  return {
    node: caller.node,
    stable_id: caller.stableId,
    login: caller.login,
    tags: caller.tags,
    ...(sourceIp ? { source_ip: sourceIp } : {}),
  };
}

/**
 * The caller's grant entry for the configured app capability, kept with the task so the
 * decision at dequeue sees the grant admission saw (never other capabilities of the caller).
 */
function grantOf(
  caller: CallerIdentity,
  capability: string | undefined,
): { cap_map?: Record<string, unknown[]> } {
  if (capability === undefined || !Object.hasOwn(caller.capMap, capability)) return {};
  return { cap_map: { [capability]: caller.capMap[capability] } };
}

/** Builds the {@link WorkerTasks} implementation. */
export function createWorkerTasks(deps: WorkerTasksDeps): WorkerTasks {
  const { config, store, queue, bus } = deps;
  const runnerNames = [...deps.runners.keys()];
  const mine = (caller: CallerIdentity, id: string): TaskRecord | null => {
    const t = getTask(store, "inbound", id);
    return t && t.requester_stable_id === caller.stableId ? t : null;
  };
  // Mean run time of the last finished tasks, for Retry-After advice. Read at most once per
  // RECENT_RUN_TTL_MS: the query walks past every queued task, and a flood of refusals must
  // not turn into a flood of such reads.
  let recentRun: { at: number; value: number | null } | null = null;
  const recentRunS = (): number | null => {
    const now = Date.now();
    if (recentRun && now - recentRun.at < RECENT_RUN_TTL_MS) return recentRun.value;
    recentRun = { at: now, value: readRecentRunS() };
    return recentRun.value;
  };
  const readRecentRunS = (): number | null => {
    const done = listTasks(store, {
      direction: "inbound",
      state: ["succeeded", "failed", "cancelled", "timed_out"],
      limit: 20,
    })
      .filter((t) => t.started_at && t.finished_at)
      .map((t) => (Date.parse(t.finished_at!) - Date.parse(t.started_at!)) / 1000);
    return done.length ? done.reduce((a, b) => a + b, 0) / done.length : null;
  };
  const statusOf = (t: TaskRecord): TaskStatus =>
    toTaskStatus(t, lastEvent(store, "inbound", t.id));

  return {
    hello(caller): HelloBody {
      return {
        cmesh: VERSION,
        protocol: PROTOCOL,
        node: deps.nodeName,
        you: { node: caller.node, login: caller.login, tags: caller.tags },
        allowed: allowedFor(caller, config, runnerNames),
      };
    },

    async submit(caller, req: TaskRequest, sourceIp): Promise<TaskOutcome> {
      const { decision, runner, cwd } = await decideInbound({
        config,
        caller,
        request: {
          cwd: req.cwd,
          profile: req.profile,
          runner: req.runner,
          promptBytes: new TextEncoder().encode(req.prompt).length,
          timeoutS: req.timeout_s,
        },
        rootsReal: deps.rootsReal,
        runnersAvailable: runnerNames,
        caseInsensitive: deps.caseInsensitive,
        resolve: deps.resolveCwd,
      });
      const auditBase = {
        kind: "task.decision",
        task_id: req.id,
        actor: actorOf(caller, sourceIp),
        data: {
          cwd: req.cwd,
          cwd_real: cwd.ok ? cwd.real : null,
          profile: req.profile,
          runner,
          prompt_bytes: new TextEncoder().encode(req.prompt).length,
          sandbox: deps.sandbox ? sandboxState(deps.sandbox) : "off",
        },
      };
      if (!decision.allow) {
        appendAudit(store, {
          ...auditBase,
          decision: "deny",
          rule: decision.rule,
          reason: decision.reason,
        });
        log.info("denied task {id} from {node}: {rule}", {
          id: req.id,
          node: caller.node,
          rule: decision.rule,
        });
        const msg = decision.hint ? `${decision.reason} (${decision.hint})` : decision.reason;
        return { ok: false, ...errorReply("denied", msg, decision.rule) };
      }
      const unsandboxable = deps.sandbox ? sandboxRefusal(deps.sandbox) : null;
      if (unsandboxable !== null) {
        appendAudit(store, {
          ...auditBase,
          decision: "deny",
          rule: "sandbox.mode",
          reason: unsandboxable,
        });
        return { ok: false, ...errorReply("sandbox_unavailable", unsandboxable, "sandbox.mode") };
      }
      const existing = mine(caller, req.id);
      if (!existing) {
        const limits = limitsFor(config.inbound, decision.matched.limits);
        const global = queue.counts();
        const load = admissionLimits({
          global,
          peer: queue.counts(caller.stableId),
          limits,
          retryAfterS: () =>
            suggestRetryAfterS({
              recentRunS: recentRunS(),
              queued: global.queued,
              maxConcurrent: config.inbound.max_concurrent,
            }),
        });
        if (!load.allow) {
          appendAudit(store, {
            ...auditBase,
            decision: "deny",
            rule: load.rule,
            reason: load.reason,
          });
          const reason = load.hint ? `${load.reason} (${load.hint})` : load.reason;
          return {
            ok: false,
            ...errorReply("queue_full", reason, load.rule),
            retryAfterS: load.retryAfterS,
          };
        }
      }
      const inserted = store.transaction(() => {
        const r = insertTask(store, {
          direction: "inbound",
          id: req.id,
          peer: caller.node,
          requester: {
            node: caller.node,
            stable_id: caller.stableId,
            login: caller.login ?? "",
            tags: caller.tags,
            dns_name: caller.dnsName,
            ...grantOf(caller, config.tailscale.app_capability),
          },
          requester_stable_id: caller.stableId,
          profile: req.profile,
          runner,
          cwd: cwd.ok ? cwd.real : req.cwd,
          cwd_requested: req.cwd,
          prompt: req.prompt,
          timeout_s: decision.matched.timeoutS,
          request_hash: requestHash(req),
        });
        if (r.outcome === "created") {
          appendAudit(store, {
            ...auditBase,
            decision: "allow",
            rule: decision.rule,
            reason: decision.reason,
            data: {
              ...auditBase.data,
              rule_index: decision.matched.ruleIndex,
              matched_by: decision.matched.by,
              timeout_s: decision.matched.timeoutS,
            },
          });
        }
        return r;
      });
      if (inserted.outcome === "conflict") {
        const reason = `task id ${req.id} is already used for a different request; use a new id`;
        return { ok: false, ...errorReply("conflict", reason) };
      }
      if (inserted.outcome === "created") {
        log.info("admitted task {id} from {node} ({profile}, {runner}, {bytes} prompt bytes)", {
          id: req.id,
          node: caller.node,
          profile: req.profile,
          runner,
          bytes: auditBase.data.prompt_bytes,
        });
        queue.enqueue({
          id: req.id,
          requesterStableId: caller.stableId,
          peerMaxConcurrent: decision.matched.limits.maxConcurrent,
        });
        bus.emit(req.id);
      }
      const task = getTask(store, "inbound", req.id)!;
      return { ok: true, status: inserted.outcome === "created" ? 202 : 200, task: statusOf(task) };
    },

    status(caller, id) {
      const t = mine(caller, id);
      return t ? statusOf(t) : null;
    },

    result(caller, id): TaskResult | "pending" | null {
      const t = mine(caller, id);
      if (!t) return null;
      if (!isTerminal(t.state)) return "pending";
      return getResult(store, "inbound", id);
    },

    events(caller, id, afterSeq): TaskEvent[] | null {
      return mine(caller, id) ? listEvents(store, "inbound", id, afterSeq) : null;
    },

    openTaskIds(caller) {
      return listTasks(store, {
        direction: "inbound",
        requesterStableId: caller.stableId,
        state: ["queued", "running"],
        limit: MAX_STREAM_TASKS,
      }).map((t) => t.id);
    },

    subscribeAll(onChange) {
      return bus.onAny(onChange);
    },

    subscribe(id, onEvent) {
      let last = lastEvent(store, "inbound", id)?.seq ?? 0;
      return bus.on(id, () => {
        for (const ev of listEvents(store, "inbound", id, last)) {
          last = ev.seq;
          onEvent(ev);
        }
      });
    },

    cancel(caller, id): Promise<TaskOutcome> {
      const t = mine(caller, id);
      if (!t) {
        return Promise.resolve({
          ok: false,
          ...errorReply("not_found", `no task ${id} of yours here`),
        });
      }
      if (isTerminal(t.state)) return Promise.resolve({ ok: true, status: 200, task: statusOf(t) });
      appendAudit(store, {
        kind: "task.cancel",
        task_id: id,
        actor: actorOf(caller),
        data: { state: t.state },
      });
      const how = queue.cancel(id, "cancel");
      if (how !== "aborted") {
        finishTask({ store, bus, nodeName: deps.nodeName }, t, {
          state: "cancelled",
          claims: { final_text: null, session_id: null },
          evidence: null,
          error: { code: "cancelled", message: "cancelled before it started" },
        });
      }
      return Promise.resolve({
        ok: true,
        status: 202,
        task: statusOf(getTask(store, "inbound", id)!),
      });
    },

    auditDenied({ sourceIp, rule, reason, identity }) {
      appendAudit(store, {
        kind: "request.denied",
        actor: identity ? actorOf(identity, sourceIp) : { source_ip: sourceIp },
        decision: "deny",
        rule,
        reason,
      });
    },
  };
}
