/**
 * @module
 * Runs one admitted inbound task: `queued → running` (stored and audited with its run token
 * before the process starts), events streamed into the store, then the terminal state, the
 * result and the audit record in one transaction.
 */
import { buildInvocation } from "../runner/invocation.ts";
import { RunnerSetupError } from "../runner/manifest.ts";
import { newRunToken } from "../runner/process_list.ts";
import { executeRun, type RunTools, workTreeTop } from "../runner/run.ts";
import type { ResolvedRunner } from "../runner/runtime.ts";
import {
  etcViewFor,
  planRunSandbox,
  type SandboxSettings,
  sandboxState,
} from "../runner/sandbox/mod.ts";
import type { WarmPool } from "../runner/sandbox/warm_pool.ts";
import {
  egressRecordEvent,
  EgressRuntime,
  egressSummaryEvent,
} from "../runner/sandbox/egress/run_egress.ts";
import { appendAudit } from "../store/audit.ts";
import type { Store } from "../store/db.ts";
import { appendEvent } from "../store/task_events.ts";
import { getTask, updateTaskState } from "../store/tasks.ts";
import { finishTask, type TerminalOutcome, untilStored } from "./finish.ts";
import { type Redecide, refuseAtDequeue } from "./redecide.ts";
import { RunEvents } from "./run_events.ts";
import { warmStartsFor } from "./warm_starts.ts";
import type { TaskBus } from "./task_bus.ts";

/** What the executor needs. */
export interface ExecutorDeps {
  store: Store;
  bus: TaskBus;
  runners: ReadonlyMap<string, ResolvedRunner>;
  tools: RunTools;
  /** The daemon env snapshot; only allowlisted parts reach runners. */
  env: Readonly<Record<string, string>>;
  /** Egress of the runs (absent: `model` runs are refused, `none`/`host` work). */
  egress?: EgressRuntime;
  /** Per-runner private state dir (e.g. CLAUDE_CONFIG_DIR), under the state dir. */
  runnerStateDir(runner: string): string;
  /** The per-run dir holding a sandboxed run's private HOME and TMPDIR (removed afterwards). */
  runDir(runToken: string): string;
  /** How runs are sandboxed. */
  sandbox: SandboxSettings;
  /** Sandboxes started ahead for the next run like the last (absent: every start is cold). */
  warm?: WarmPool;
  maxOutputBytes: number;
  defaultTimeoutS: number;
  nodeName: string;
  /**
   * Decides a queued task again just before it starts (current config, stored caller, cwd
   * resolved again); a refusal ends it `denied`. Its allow gives the directory the run uses.
   */
  redecide: Redecide;
}

const NO_CLAIMS = { final_text: null, session_id: null };

/** Runs a queued task to a terminal state. Resolves when it is stored. */
export async function executeTask(
  deps: ExecutorDeps,
  id: string,
  signal: AbortSignal,
): Promise<void> {
  const { store } = deps;
  const task = getTask(store, "inbound", id);
  if (!task || task.state !== "queued") return;
  const finish = (outcome: TerminalOutcome, auditKind?: string) =>
    untilStored(id, signal, () => finishTask(deps, task, outcome, auditKind));
  // Re-decide at dequeue: the stored decision may be stale (config, files or runners changed).
  const redeciding = deps.redecide(task);
  // While that looks at the cwd (off this thread), the /etc mirror is brought up to date for the
  // plan below: the refresh it would make itself, a moment earlier and without waiting for it.
  const etcView = etcViewFor(deps.sandbox, task.profile);
  const redecided = await redeciding;
  if (!redecided.allow) {
    await untilStored(id, signal, () => refuseAtDequeue(deps, task, redecided));
    return;
  }
  // The directory resolved just now, not the stored string: that is what was decided on.
  const cwd = redecided.cwdReal;
  const runner = deps.runners.get(task.runner);
  if (!runner) {
    await finish({
      state: "failed",
      claims: NO_CLAIMS,
      evidence: null,
      error: {
        code: "runner_unavailable",
        message: `runner ${task.runner} is no longer available on ${deps.nodeName}`,
      },
    });
    return;
  }
  let invocation;
  try {
    invocation = buildInvocation({
      manifest: runner.manifest,
      profile: task.profile,
      prompt: task.prompt,
      cwd,
      resolvedBinary: runner.binary,
      prefixArgs: runner.prefixArgs,
      os: Deno.build.os,
      env: deps.env,
      extraArgs: runner.args,
      extraEnv: { pass: runner.envPass, set: runner.envSet },
      stateDir: deps.runnerStateDir(runner.name),
    });
  } catch (e) {
    if (!(e instanceof RunnerSetupError)) throw e;
    await finish({ state: "failed", claims: NO_CLAIMS, evidence: null, error: e.toTaskError() });
    return;
  }
  const runnerStateDir = deps.runnerStateDir(runner.name);
  try {
    Deno.mkdirSync(runnerStateDir, { recursive: true, mode: 0o700 });
  } catch { /* the sandbox set-up below says what is wrong with it */ }
  // The network: the runner's egress narrowed by the profile; `model` starts this run's proxy.
  const egress = await (deps.egress ?? EgressRuntime.unconfigured()).forTask(
    runner,
    task.profile,
    deps.env,
    {
      sandboxed: sandboxState(deps.sandbox) !== "off",
      onRecord: (r) => {
        appendEvent(store, "inbound", id, egressRecordEvent(r));
        deps.bus.emit(id);
      },
    },
  );
  if (!egress.ok) {
    await finish({
      state: "failed",
      claims: NO_CLAIMS,
      evidence: null,
      error: { code: egress.code, message: egress.reason },
    });
    return;
  }
  invocation = { ...invocation, env: { ...invocation.env, ...egress.env } };
  const planned = planRunSandbox(deps.sandbox, {
    profile: task.profile,
    etcView,
    // The directory just re-resolved: bound by bwrap now, so a later swap cannot reach outside.
    cwd,
    installPaths: runner.install?.dirs ?? [],
    links: runner.install?.links ?? [],
    configDirs: [runnerStateDir],
    network: egress.network,
    extension: egress.extension,
  });
  // A sandbox started ahead for this same decision is taken (its token and dir become the run's).
  const warmth = planned.ok && planned.plan && deps.warm
    ? warmStartsFor(deps.warm, planned.plan, cwd, deps.runDir)
    : null;
  const runToken = warmth?.token ?? newRunToken();
  const prepared = !planned.ok
    ? planned
    : planned.plan === null
    ? { ok: true as const, sandbox: null }
    : planned.plan.at(warmth?.runDir ?? deps.runDir(runToken));
  if (!prepared.ok) {
    void warmth?.starts.runner?.discard();
    await egress.finish();
    await finish({
      state: "failed",
      claims: NO_CLAIMS,
      evidence: null,
      error: { code: "sandbox_unavailable", message: prepared.reason },
    });
    return;
  }
  const sandbox = prepared.sandbox;
  // Where git will look (the work tree's top), asked now: the look overlaps the start record.
  const repoTop = sandbox === null ? undefined : workTreeTop(cwd);
  const started = await untilStored(id, signal, () =>
    store.transaction(() => {
      if (!updateTaskState(store, "inbound", id, "running", { run_token: runToken })) {
        return false;
      }
      appendEvent(store, "inbound", id, {
        kind: "state",
        text: `running (${runner.name}, profile ${task.profile})`,
        data: { state: "running" },
      });
      appendAudit(store, {
        kind: "task.start",
        task_id: id,
        actor: { node: deps.nodeName, role: "worker" },
        data: {
          runner: runner.name,
          binary: runner.binary,
          argv_flags: invocation.argv.slice(1).filter((a) => a.startsWith("-")),
          cwd,
          profile: task.profile,
          rule: redecided.rule,
          sandbox: sandboxState(deps.sandbox),
          egress: egress.describe,
        },
      });
      return true;
    }));
  deps.bus.emit(id);
  if (!started) {
    void warmth?.starts.runner?.discard();
    await sandbox?.cleanup();
    await egress.finish();
    return;
  }
  const events = new RunEvents(store, deps.bus, id);
  const outcome = await executeRun({
    invocation,
    manifest: runner.manifest,
    limits: {
      timeoutMs: (task.timeout_s ?? deps.defaultTimeoutS) * 1000,
      maxStdoutBytes: deps.maxOutputBytes,
      maxStderrBytes: 64 * 1024,
    },
    runToken,
    tools: deps.tools,
    sandbox,
    ...(repoTop ? { repoTop } : {}),
    ...(warmth ? { warm: warmth.starts } : {}),
    signal,
    onEvent: (ev) => events.push(ev),
  }).catch(async (e) => {
    void warmth?.starts.runner?.discard();
    await sandbox?.cleanup();
    throw e;
  }).finally(() => events.flush());
  // The private HOME/TMPDIR go once the result is stored: off the path to the caller (a crash
  // before this leaves them to the sweep at start-up).
  try {
    const egressSummary = await egress.finish();
    if (egressSummary) {
      try {
        appendEvent(store, "inbound", id, egressSummaryEvent(egressSummary));
      } catch { /* the outcome below is stored with retries; this line is best effort */ }
    }
    if (outcome.state === "cancelled" && signal.reason === "shutdown") {
      await finish({
        ...outcome,
        egress: egressSummary,
        state: "interrupted",
        error: {
          code: "interrupted",
          message: "the worker daemon shut down while the task ran; its processes were stopped",
        },
      }, "task.interrupted");
    } else await finish({ ...outcome, egress: egressSummary });
  } finally {
    await sandbox?.cleanup();
    if (signal.reason !== "shutdown") warmth?.refill();
  }
}
