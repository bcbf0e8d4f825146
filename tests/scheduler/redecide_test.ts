/**
 * The decision at dequeue (issue 12 item 3), in process: `worker/tasks.ts` admits tasks,
 * the real run queue and executor run them with a `/bin/sh -c` runner, and a "restart" is a
 * new queue and executor over the same store with a new config, as `worker/thread.ts` wires
 * them. Each refusal must end `denied` with error code `revoked`, a `task.revoked` audit
 * record naming the rule, and must not run.
 */
import assert from "node:assert/strict";
import { Config } from "../../src/config/schema.ts";
import type { CallerIdentity } from "../../src/policy/types.ts";
import { isTerminal } from "../../src/protocol/task.ts";
import { parseManifest } from "../../src/runner/manifest.ts";
import { resolveProcessTools } from "../../src/runner/process_list.ts";
import type { ResolvedRunner } from "../../src/runner/runtime.ts";
import { executeTask } from "../../src/scheduler/executor.ts";
import { RunQueue } from "../../src/scheduler/queue.ts";
import { recoverInbound } from "../../src/scheduler/recovery.ts";
import { TaskBus } from "../../src/scheduler/task_bus.ts";
import { listAudit } from "../../src/store/audit.ts";
import { openStore, type Store } from "../../src/store/db.ts";
import { getResult } from "../../src/store/task_events.ts";
import { getTask, type TaskRecord } from "../../src/store/tasks.ts";
import { resolveRoots } from "../../src/inbound/cwd_resolve.ts";
import { redecideAtDequeue } from "../../src/worker/redecide.ts";
import { createWorkerTasks } from "../../src/worker/tasks.ts";
import { laptop as laptopCaller } from "../policy/_helpers.ts";

const laptop = laptopCaller();

const sh: ResolvedRunner = {
  name: "sh",
  manifest: parseManifest({
    name: "sh",
    binary: "/bin/sh",
    base_args: ["-c"],
    prompt: { via: "arg", end_of_options: false },
    output: "text",
    cancel: { signals: ["SIGTERM", "SIGKILL"], grace_ms: 300 },
    profiles: { query: { args: [] }, build: { args: [] } },
  }, "tests:sh"),
  binary: "/bin/sh",
  prefixArgs: [],
  args: [],
  envPass: [],
  envSet: {},
};

const tools = { ...resolveProcessTools(), gitBin: null };

/** The worker's config: one rule for `laptop` on `root`, profiles query and build. */
function configFor(
  root: string,
  change: { peers?: string[]; buildEnabled?: boolean; capability?: string; cwd?: string } = {},
) {
  return Config.parse({
    inbound: {
      enabled: true,
      max_concurrent: 1,
      allow: [{
        peers: change.peers ?? ["laptop"],
        cwd: [change.cwd ?? root],
        profiles: ["query", "build"],
        runners: ["sh"],
      }],
    },
    profiles: { build: { enabled: change.buildEnabled ?? true } },
    ...(change.capability ? { tailscale: { app_capability: change.capability } } : {}),
  });
}

/** One start of the worker over `store`: tasks, queue and executor with `config`. */
async function startNode(store: Store, config: Config, bus: TaskBus, runnerList = [sh]) {
  const runners = new Map(runnerList.map((r) => [r.name, r]));
  const rootsReal = await resolveRoots(config.inbound.allow);
  const deps = {
    store,
    bus,
    runners,
    tools,
    env: { PATH: "/usr/bin:/bin" },
    runnerStateDir: () => "/nonexistent-runner-state",
    runDir: (token: string) => `/nonexistent-runs/${token}`,
    // The re-decision is what this tests; the sandbox around the run has tests/sandbox/.
    sandbox: {
      mode: "off" as const,
      availability: { ok: false as const, kind: "none" as const, reason: "off", fix: "" },
      host: { system: [], etc: [], unshareUser: true },
    },
    maxOutputBytes: 1 << 20,
    defaultTimeoutS: 600,
    nodeName: "server",
    redecide: (task: TaskRecord) =>
      redecideAtDequeue(
        { config, rootsReal, runnersAvailable: [...runners.keys()], caseInsensitive: false },
        task,
      ),
  };
  const queue = new RunQueue(
    { maxConcurrent: 1 },
    (task, signal) => executeTask(deps, task.id, signal),
  );
  const tasks = createWorkerTasks({
    config,
    store,
    queue,
    bus,
    nodeName: "server",
    runners,
    rootsReal,
    caseInsensitive: false,
  });
  return { queue, tasks };
}

/**
 * Shell that waits until the test writes `go` into the cwd: a task that swaps a directory must not
 * do it before the next task was admitted (its run may start within milliseconds of its own
 * admission, before the test submits the next one).
 */
const WAIT_FOR_GO = "while [ ! -e go ]; do sleep 0.02; done;";

/** A temp world: `<base>/root` (allowed) with `sub`, and `<base>/outside` next to it. */
async function makeWorld() {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "cmesh-redecide-" }));
  const root = `${base}/root`;
  const outside = `${base}/outside`;
  await Deno.mkdir(`${root}/sub`, { recursive: true });
  await Deno.mkdir(outside);
  const store = openStore(":memory:");
  return {
    base,
    root,
    outside,
    store,
    bus: new TaskBus(),
    async cleanup() {
      store.close();
      await Deno.remove(base, { recursive: true });
    },
  };
}

async function submit(
  tasks: Awaited<ReturnType<typeof startNode>>["tasks"],
  id: string,
  cwd: string,
  prompt: string,
  caller = laptop,
) {
  const r = await tasks.submit(caller, { id, cwd, prompt, profile: "build" }, "100.64.0.2");
  assert.ok(r.ok && r.status === 202, `admission of ${id}: ${JSON.stringify(r)}`);
}

/** Waits until task `id` reaches a terminal state (or, with `state`, that state). */
async function until(store: Store, id: string, state?: string): Promise<TaskRecord> {
  for (;;) {
    const t = getTask(store, "inbound", id)!;
    if (state ? t.state === state : isTerminal(t.state)) return t;
    // Waiting for a state it can no longer reach would never end: fail instead.
    if (state && isTerminal(t.state)) assert.fail(`${id} ended ${t.state}: ${JSON.stringify(t)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

/** Asserts the task was refused at dequeue by `rule`, and says so everywhere. */
function assertRevoked(store: Store, id: string, rule: string, reason: RegExp) {
  const t = getTask(store, "inbound", id)!;
  assert.equal(t.state, "denied", JSON.stringify(t));
  assert.equal(t.started_at, null, "it never started");
  assert.equal(t.error?.code, "revoked");
  assert.equal(t.error?.rule, rule);
  assert.match(t.error?.message ?? "", reason);
  const result = getResult(store, "inbound", id)!;
  assert.equal(result.state, "denied");
  assert.equal(result.error?.rule, rule);
  const audit = listAudit(store, { taskId: id, limit: 50 });
  const revoked = audit.filter((a) => a.kind === "task.revoked");
  assert.equal(revoked.length, 1, JSON.stringify(audit));
  assert.equal(revoked[0].decision, "deny");
  assert.equal(revoked[0].rule, rule);
  assert.match(revoked[0].reason ?? "", reason);
  assert.ok(!audit.some((a) => a.kind === "task.start"), "no task.start was recorded");
}

Deno.test("redecide: a queued task whose cwd was swapped for a symlink out of the root is refused", async () => {
  const w = await makeWorld();
  const node = await startNode(w.store, configFor(w.root), w.bus);
  try {
    // The running task replaces `sub` with a symlink to ../outside (a build may do this), once
    // the next task was admitted: it waits for the `go` file.
    await submit(
      node.tasks,
      "t_swapper1",
      w.root,
      `${WAIT_FOR_GO} rm -rf sub && ln -s ../outside sub && echo swapped`,
    );
    // Queued behind it (max_concurrent 1), admitted while `sub` was a plain directory.
    await submit(node.tasks, "t_victim01", `${w.root}/sub`, "pwd -P > ran-here.txt");
    await Deno.writeTextFile(`${w.root}/go`, "");
    assert.equal((await until(w.store, "t_swapper1")).state, "succeeded");
    await until(w.store, "t_victim01");
    assert.equal(await exists(`${w.outside}/ran-here.txt`), false, "it ran outside the root");
    assertRevoked(
      w.store,
      "t_victim01",
      "inbound.allow[0].cwd",
      new RegExp(`resolves to ${w.outside}`),
    );
  } finally {
    await node.queue.close();
    await w.cleanup();
  }
});

Deno.test("redecide: a cwd that now resolves to another directory inside the root is refused (cwd.changed)", async () => {
  const w = await makeWorld();
  await Deno.mkdir(`${w.root}/other`);
  await Deno.symlink("sub", `${w.root}/link`);
  const node = await startNode(w.store, configFor(w.root), w.bus);
  try {
    await submit(node.tasks, "t_swapper2", w.root, `${WAIT_FOR_GO} rm link && ln -s other link`);
    await submit(node.tasks, "t_victim02", `${w.root}/link`, "touch ran-here.txt");
    await Deno.writeTextFile(`${w.root}/go`, "");
    await until(w.store, "t_victim02");
    assert.equal(await exists(`${w.root}/other/ran-here.txt`), false);
    assertRevoked(
      w.store,
      "t_victim02",
      "cwd.changed",
      new RegExp(
        `resolved to ${w.root}/sub when the task was admitted and now resolves to ` +
          `${w.root}/other`,
      ),
    );
  } finally {
    await node.queue.close();
    await w.cleanup();
  }
});

/**
 * Admits a hanging task and one queued behind it, stops the node (as a daemon shutdown does),
 * and starts it again with `changed` config; returns the queued task's id.
 */
async function restartWithQueued(
  w: Awaited<ReturnType<typeof makeWorld>>,
  changed: Config,
  prompt = "touch ran-here.txt",
  runnersAfter = [sh],
  before: { config?: Config; caller?: CallerIdentity } = {},
): Promise<string> {
  const first = await startNode(w.store, before.config ?? configFor(w.root), w.bus);
  await submit(first.tasks, "t_hanging1", w.root, "sleep 600", before.caller);
  await submit(first.tasks, "t_queued01", `${w.root}/sub`, prompt, before.caller);
  await until(w.store, "t_hanging1", "running");
  await first.queue.close("shutdown");
  assert.equal(getTask(w.store, "inbound", "t_hanging1")!.state, "interrupted");
  assert.equal(getTask(w.store, "inbound", "t_queued01")!.state, "queued");
  const second = await startNode(w.store, changed, w.bus, runnersAfter);
  const report = await recoverInbound({
    store: w.store,
    bus: w.bus,
    queue: second.queue,
    tools,
    nodeName: "server",
  });
  assert.deepEqual(report.requeued, ["t_queued01"]);
  await until(w.store, "t_queued01");
  await second.queue.close();
  return "t_queued01";
}

Deno.test("redecide: after a restart with the peer removed from the rule, its queued task is refused", async () => {
  const w = await makeWorld();
  try {
    const id = await restartWithQueued(w, configFor(w.root, { peers: ["phone"] }));
    assertRevoked(w.store, id, "inbound.no_matching_rule", /no \[\[inbound.allow\]\] rule/);
    assert.equal(await exists(`${w.root}/sub/ran-here.txt`), false);
  } finally {
    await w.cleanup();
  }
});

Deno.test("redecide: after a restart with the profile disabled, its queued task is refused", async () => {
  const w = await makeWorld();
  try {
    const id = await restartWithQueued(w, configFor(w.root, { buildEnabled: false }));
    assertRevoked(w.store, id, "profile.disabled", /profile build is disabled/);
    assert.equal(await exists(`${w.root}/sub/ran-here.txt`), false);
  } finally {
    await w.cleanup();
  }
});

Deno.test("redecide: after a restart with the rule's root narrowed, its queued task is refused", async () => {
  const w = await makeWorld();
  await Deno.mkdir(`${w.root}/narrow`);
  try {
    const id = await restartWithQueued(w, configFor(w.root, { cwd: `${w.root}/narrow` }));
    assertRevoked(w.store, id, "inbound.allow[0].cwd", /outside the allowed roots/);
    assert.equal(await exists(`${w.root}/sub/ran-here.txt`), false);
  } finally {
    await w.cleanup();
  }
});

Deno.test("redecide: after a restart without the runner, its queued task is refused", async () => {
  const w = await makeWorld();
  try {
    const id = await restartWithQueued(w, configFor(w.root), "touch ran-here.txt", []);
    assertRevoked(w.store, id, "runner.unavailable", /runner sh is not installed/);
    assert.equal(await exists(`${w.root}/sub/ran-here.txt`), false);
  } finally {
    await w.cleanup();
  }
});

Deno.test("redecide: a grant capability configured after admission finds no stored grant (fail closed)", async () => {
  const w = await makeWorld();
  try {
    const id = await restartWithQueued(
      w,
      configFor(w.root, { capability: "example.com/cap/cmesh" }),
    );
    const t = getTask(w.store, "inbound", id)!;
    assert.equal(t.state, "denied");
    assert.match(t.error?.rule ?? "", /^grant\./);
    assert.equal(await exists(`${w.root}/sub/ran-here.txt`), false);
  } finally {
    await w.cleanup();
  }
});

Deno.test("redecide: the grant stored at admission is checked again: kept, it runs; narrowed config refuses", async () => {
  const cap = "example.com/cap/cmesh";
  for (const narrowed of [false, true]) {
    const w = await makeWorld();
    try {
      const granted = {
        ...laptop,
        capMap: { [cap]: [{ profiles: ["build"], cwd: [`${w.root}/**`] }] },
      };
      const config = configFor(w.root, { capability: cap });
      const after = narrowed ? configFor(w.root, { capability: "example.com/cap/other" }) : config;
      const id = await restartWithQueued(w, after, "touch ran-here.txt", [sh], {
        config,
        caller: granted,
      });
      const t = getTask(w.store, "inbound", id)!;
      if (narrowed) {
        assert.equal(t.state, "denied", JSON.stringify(t));
        assert.match(t.error?.rule ?? "", /^grant\./);
        assert.equal(await exists(`${w.root}/sub/ran-here.txt`), false);
      } else {
        assert.equal(t.state, "succeeded", JSON.stringify(t));
        assert.equal(await exists(`${w.root}/sub/ran-here.txt`), true);
      }
    } finally {
      await w.cleanup();
    }
  }
});

Deno.test("redecide: unchanged, the queued task runs in the freshly resolved directory (control)", async () => {
  const w = await makeWorld();
  try {
    const id = await restartWithQueued(w, configFor(w.root), "pwd -P > ran-here.txt");
    const t = getTask(w.store, "inbound", id)!;
    assert.equal(t.state, "succeeded", JSON.stringify(t));
    assert.equal(await Deno.readTextFile(`${w.root}/sub/ran-here.txt`), `${w.root}/sub\n`);
    const start = listAudit(w.store, { taskId: id, limit: 50 }).find((a) =>
      a.kind === "task.start"
    );
    assert.equal((start?.data as { cwd?: string })?.cwd, `${w.root}/sub`);
    assert.equal((start?.data as { rule?: string })?.rule, "inbound.allow[0]");
  } finally {
    await w.cleanup();
  }
});
