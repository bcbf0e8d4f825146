/**
 * @module
 * The worker's tasks behind `/v1`: admission (`admission.ts`), caller-scoped queries, cancel,
 * and `hello`. A caller sees only its own tasks.
 */
import { allowedFor } from "../policy/allowed.ts";
import type { CallerIdentity } from "../policy/types.ts";
import { errorReply } from "../protocol/errors.ts";
import { MAX_STREAM_TASKS } from "../protocol/events.ts";
import { isTerminal, type TaskEvent, type TaskResult, type TaskStatus } from "../protocol/task.ts";
import type { ResolvedRunner } from "../runner/runtime.ts";
import { finishTask } from "../scheduler/finish.ts";
import { appendAudit } from "../store/audit.ts";
import { getResult, lastEvent, listEvents } from "../store/task_events.ts";
import { listTasks, toTaskStatus } from "../store/task_queries.ts";
import { getTask, type TaskRecord } from "../store/tasks.ts";
import { PROTOCOL, VERSION } from "../version.ts";
import { actorOf, type AdmissionDeps, createAdmission } from "./admission.ts";
import {
  EVENTS_PAGE,
  type HelloBody,
  type TaskNews,
  type TaskOutcome,
  type WorkerTasks,
} from "./ports.ts";

/** What the worker tasks need: admission's needs, this node's name and its runners. */
export interface WorkerTasksDeps extends Omit<AdmissionDeps, "runnerNames"> {
  nodeName: string;
  runners: ReadonlyMap<string, ResolvedRunner>;
}

/** Builds the {@link WorkerTasks} implementation. */
export function createWorkerTasks(deps: WorkerTasksDeps): WorkerTasks {
  const { config, store, queue, bus } = deps;
  const runnerNames = [...deps.runners.keys()];
  const mine = (caller: CallerIdentity, id: string): TaskRecord | null => {
    const t = getTask(store, "inbound", id);
    return t && t.requester_stable_id === caller.stableId ? t : null;
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

    submit: createAdmission({ ...deps, runnerNames }),

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

    since(caller, id, afterSeq): TaskNews | null {
      const t = mine(caller, id);
      if (!t) return null;
      // Read after the task, in the same turn: a terminal state and its last event are stored
      // together, so once the state reads terminal these are all the events there will be.
      const events = listEvents(store, "inbound", id, afterSeq, EVENTS_PAGE);
      if (!isTerminal(t.state)) return { events, ended: null };
      // A short page ends with the task's last event; otherwise (or none new) it is looked up.
      const last = events.length > 0 && events.length < EVENTS_PAGE
        ? events.at(-1)!
        : lastEvent(store, "inbound", id);
      return {
        events,
        ended: { status: toTaskStatus(t, last), result: getResult(store, "inbound", id) },
      };
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
