/**
 * @module
 * Where a task enters the worker, in five steps; each denial is audited with its rule and reason
 * and answered with them:
 *
 * 1. **source**: the connection's own address is a tailnet address, and the request is no
 *    browser's and names this node (`guards/tailnet_source.ts`, `util/front_door.ts`);
 * 2. **identity**: tailscaled's whois names the caller (`guards/caller_identity.ts`);
 * 3. **decide**: inbound policy on the realpath'd cwd (`inbound/decide.ts`), then the sandbox,
 *    then the load limits (`policy/limits.ts`);
 * 4. **record**: the task row and its `task.decision` record in one transaction, a denial its
 *    record alone (`store/record_decision.ts`, the requester's shape too);
 * 5. **enqueue**: the run queue, which decides once more just before the spawn (`redecide.ts`).
 *
 * Steps 1 and 2 guard every `/v1` route, so {@link admissionGuards} gives them as middleware;
 * {@link createAdmission} runs steps 3 to 5 for `POST /v1/tasks`.
 */
import type { MiddlewareHandler } from "hono";
import type { Config } from "../config/schema.ts";
import type { CwdResolver } from "../inbound/cwd_resolve.ts";
import { decideInbound } from "../inbound/decide.ts";
import { type Allow, type Deny, deny } from "../policy/decision.ts";
import type { InboundMatch } from "../policy/inbound.ts";
import { admissionLimits, limitsFor, suggestRetryAfterS } from "../policy/limits.ts";
import type { CallerIdentity } from "../policy/types.ts";
import { type ErrorCode, errorReply } from "../protocol/errors.ts";
import type { TaskRequest } from "../protocol/task.ts";
import { sandboxRefusal, type SandboxSettings, sandboxState } from "../runner/sandbox/mod.ts";
import type { RunQueue } from "../scheduler/queue.ts";
import type { TaskBus } from "../scheduler/task_bus.ts";
import type { Store } from "../store/db.ts";
import { requestHash } from "../store/hash.ts";
import { recordDecision } from "../store/record_decision.ts";
import { lastEvent } from "../store/task_events.ts";
import { listTasks, toTaskStatus } from "../store/task_queries.ts";
import { getTask } from "../store/tasks.ts";
import { frontDoor } from "../util/front_door.ts";
import { logger } from "../util/log.ts";
import type { WorkerEnv } from "./env.ts";
import { callerIdentity } from "./guards/caller_identity.ts";
import { type SourceOptions, tailnetSource } from "./guards/tailnet_source.ts";
import type { IdentityLookup, TaskOutcome, WorkerTasks } from "./ports.ts";

const log = logger("worker");
/** How long the recent run time behind `Retry-After` advice is reused. */
const RECENT_RUN_TTL_MS = 5000;

/** What steps 1 and 2 need. */
export interface GuardDeps {
  source: SourceOptions;
  /** Which `Host` values name this worker (`guards/node_hosts.ts`). */
  hosts: { allowed(host: string): boolean; describe(): string };
  identity: IdentityLookup;
}

/** Steps 1 (source) and 2 (identity), as middleware run before every `/v1` route. */
export function admissionGuards(
  deps: GuardDeps,
  audit: Pick<WorkerTasks, "auditDenied">,
): MiddlewareHandler<WorkerEnv>[] {
  return [...source(deps, audit), identity(deps, audit)];
}

/** Step 1: the connection's source address, then the browser/Host guard (headers only). */
function source(deps: GuardDeps, audit: Pick<WorkerTasks, "auditDenied">) {
  return [
    tailnetSource(deps.source, audit),
    frontDoor({
      hostAllowed: (host) => deps.hosts.allowed(host),
      expected: () => deps.hosts.describe(),
      surface: "this cmesh worker",
      onDenied: (c, rule, reason) =>
        audit.auditDenied({ sourceIp: c.get("sourceIp"), rule, reason }),
    }),
  ];
}

/** Step 2: who the caller is, from whois on the connection (fail closed). */
function identity(deps: GuardDeps, audit: Pick<WorkerTasks, "auditDenied">) {
  return callerIdentity(deps.identity, audit);
}

/** What steps 3 to 5 need. */
export interface AdmissionDeps {
  config: Config;
  store: Store;
  queue: RunQueue;
  bus: TaskBus;
  runnerNames: string[];
  /** Realpaths of each rule's cwd roots (see `resolveRoots`). */
  rootsReal: (string | null)[][];
  caseInsensitive: boolean;
  /** How runs are sandboxed: recorded in every decision; required but unusable refuses. */
  sandbox?: SandboxSettings;
  /** How to resolve a cwd (the sandboxed thread's port to the main thread); default local. */
  resolveCwd?: CwdResolver;
}

/** One submission: who sent which request, from where (steps 1 and 2 established both). */
interface Entry {
  caller: CallerIdentity;
  req: TaskRequest;
  sourceIp: string;
}

/** What step 3 found out, allow or deny, with what the `task.decision` record keeps. */
type Decided =
  & { runner: string; cwdReal: string | null; promptBytes: number }
  & ((Allow & { matched: InboundMatch }) | (Deny & { code: ErrorCode }));

/**
 * Builds the admission of `POST /v1/tasks` (steps 3 to 5): a retry with the same id and body
 * gets the stored task (200) without a second record or queue entry.
 *
 * @example
 * ```ts
 * import type { CallerIdentity } from "../policy/types.ts";
 * import { type AdmissionDeps, createAdmission } from "./admission.ts";
 * declare const deps: AdmissionDeps;
 * declare const caller: CallerIdentity;
 * const req = { id: "t_0123456789", prompt: "hi", cwd: "/src", profile: "build" };
 * const r = await createAdmission(deps)(caller, req, "100.64.0.2");
 * if (!r.ok) console.log(r.status, r.body.error.rule);
 * ```
 */
export function createAdmission(deps: AdmissionDeps): WorkerTasks["submit"] {
  const recentRunS = recentRunTime(deps.store);
  return async (caller, req, sourceIp) => {
    const entry = { caller, req, sourceIp };
    const decided = await decide(deps, entry, recentRunS);
    const recorded = record(deps, entry, decided);
    if (!decided.allow) return refusal(entry, decided);
    if (recorded.outcome === "conflict") {
      const reason = `task id ${req.id} is already used for a different request; use a new id`;
      return { ok: false, ...errorReply("conflict", reason) };
    }
    const created = recorded.outcome === "created";
    if (created) enqueue(deps, entry, decided);
    const task = getTask(deps.store, "inbound", req.id)!;
    const status = toTaskStatus(task, lastEvent(deps.store, "inbound", req.id));
    return { ok: true, status: created ? 202 : 200, task: status };
  };
}

/** Step 3: inbound policy (cwd realpath'd), then the sandbox, then the load limits. */
async function decide(
  deps: AdmissionDeps,
  { caller, req }: Entry,
  recentRunS: () => number | null,
): Promise<Decided> {
  const { config, queue } = deps;
  const promptBytes = new TextEncoder().encode(req.prompt).length;
  const { decision, runner, cwd } = await decideInbound({
    config,
    caller,
    request: { ...req, promptBytes, timeoutS: req.timeout_s },
    rootsReal: deps.rootsReal,
    runnersAvailable: deps.runnerNames,
    caseInsensitive: deps.caseInsensitive,
    resolve: deps.resolveCwd,
  });
  const found = { runner, cwdReal: cwd.ok ? cwd.real : null, promptBytes };
  if (!decision.allow) return { ...found, ...decision, code: "denied" };
  const unsandboxable = deps.sandbox ? sandboxRefusal(deps.sandbox) : null;
  if (unsandboxable !== null) {
    return { ...found, ...deny("sandbox.mode", unsandboxable), code: "sandbox_unavailable" };
  }
  // A retry of a task already admitted is not counted against the limits again.
  if (getTask(deps.store, "inbound", req.id)?.requester_stable_id !== caller.stableId) {
    const global = queue.counts();
    const load = admissionLimits({
      global,
      peer: queue.counts(caller.stableId),
      limits: limitsFor(config.inbound, decision.matched.limits),
      retryAfterS: () =>
        suggestRetryAfterS({
          recentRunS: recentRunS(),
          queued: global.queued,
          maxConcurrent: config.inbound.max_concurrent,
        }),
    });
    if (!load.allow) return { ...found, ...load, code: "queue_full" };
  }
  return { ...found, ...decision };
}

/** Step 4: the `task.decision` record, and on allow the task row with it (one transaction). */
function record(deps: AdmissionDeps, { caller, req, sourceIp }: Entry, decided: Decided) {
  const audit = {
    kind: "task.decision",
    task_id: req.id,
    actor: actorOf(caller, sourceIp),
    data: {
      cwd: req.cwd,
      cwd_real: decided.cwdReal,
      profile: req.profile,
      runner: decided.runner,
      prompt_bytes: decided.promptBytes,
      sandbox: deps.sandbox ? sandboxState(deps.sandbox) : "off",
    },
  };
  if (!decided.allow) return recordDecision(deps.store, audit, decided);
  const { matched } = decided;
  return recordDecision(deps.store, audit, {
    ...decided,
    data: { rule_index: matched.ruleIndex, matched_by: matched.by, timeout_s: matched.timeoutS },
    task: {
      direction: "inbound",
      id: req.id,
      peer: caller.node,
      requester: {
        node: caller.node,
        stable_id: caller.stableId,
        login: caller.login ?? "",
        tags: caller.tags,
        dns_name: caller.dnsName,
        ...grantOf(caller, deps.config.tailscale.app_capability),
      },
      requester_stable_id: caller.stableId,
      profile: req.profile,
      runner: decided.runner,
      cwd: decided.cwdReal ?? req.cwd,
      cwd_requested: req.cwd,
      prompt: req.prompt,
      timeout_s: matched.timeoutS,
      request_hash: requestHash(req),
    },
  });
}

/** Step 5: a new task joins the run queue, and its followers hear of it. */
function enqueue(deps: AdmissionDeps, { caller, req }: Entry, decided: Decided & Allow): void {
  const { id, profile } = req;
  log.info("admitted task {id} from {node} ({profile}, {runner}, {bytes} prompt bytes)", {
    id,
    node: caller.node,
    profile,
    runner: decided.runner,
    bytes: decided.promptBytes,
  });
  const peerMaxConcurrent = decided.matched.limits.maxConcurrent;
  deps.queue.enqueue({ id, requesterStableId: caller.stableId, peerMaxConcurrent });
  deps.bus.emit(id);
}

/** The answer to a denial: its error code, rule, and reason (with the hint, when one helps). */
function refusal({ caller, req }: Entry, denied: Decided & Deny): TaskOutcome {
  const { code, rule, reason, hint, retryAfterS } = denied;
  if (code === "denied") {
    log.info("denied task {id} from {node}: {rule}", { id: req.id, node: caller.node, rule });
  }
  const message = hint ? `${reason} (${hint})` : reason;
  return { ok: false, ...errorReply(code, message, rule), retryAfterS };
}

/**
 * The caller as an audit actor.
 *
 * @example
 * ```ts
 * import type { CallerIdentity } from "../policy/types.ts";
 * import { actorOf } from "./admission.ts";
 * declare const caller: CallerIdentity;
 * actorOf(caller, "100.64.0.2"); // {node, stable_id, login, tags, source_ip}
 * ```
 */
export function actorOf(caller: CallerIdentity, sourceIp?: string): Record<string, unknown> {
  const { node, stableId: stable_id, login, tags } = caller;
  return { node, stable_id, login, tags, ...(sourceIp ? { source_ip: sourceIp } : {}) };
}

/**
 * The caller's grant entry for the configured app capability, kept with the task so the
 * decision at dequeue sees the grant admission saw (never other capabilities of the caller).
 */
function grantOf(
  caller: CallerIdentity,
  capability?: string,
): { cap_map?: Record<string, unknown[]> } {
  if (capability === undefined || !Object.hasOwn(caller.capMap, capability)) return {};
  return { cap_map: { [capability]: caller.capMap[capability] } };
}

/**
 * The mean run time of the last finished tasks, for `Retry-After` advice, read at most once per
 * {@link RECENT_RUN_TTL_MS}: the query walks past every queued task, and a flood of refusals must
 * not turn into a flood of such reads.
 */
function recentRunTime(store: Store): () => number | null {
  let recent: { at: number; value: number | null } | null = null;
  return () => {
    const now = Date.now();
    if (recent && now - recent.at < RECENT_RUN_TTL_MS) return recent.value;
    const done = listTasks(store, {
      direction: "inbound",
      state: ["succeeded", "failed", "cancelled", "timed_out"],
      limit: 20,
    })
      .filter((t) => t.started_at && t.finished_at)
      .map((t) => (Date.parse(t.finished_at!) - Date.parse(t.started_at!)) / 1000);
    recent = { at: now, value: done.length ? done.reduce((a, b) => a + b, 0) / done.length : null };
    return recent.value;
  };
}
