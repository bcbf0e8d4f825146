/**
 * Sandboxes started ahead (`src/runner/sandbox/warm.ts`, `warm_pool.ts`): a real bwrap sandbox
 * started ahead runs the command it is handed with exactly that environment, refuses when its cwd
 * was swapped for another directory or when it has ended, leaves nothing behind when ended while
 * starting; the pool keeps one per key, ends what waits too long, and ends all at close. Runs real
 * bwrap and /bin/sh.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { probeSandbox } from "../../../src/runner/sandbox/availability.ts";
import { hostLayout } from "../../../src/runner/sandbox/host.ts";
import { planRunSandbox, type SandboxSettings } from "../../../src/runner/sandbox/mod.ts";
import { WarmStart } from "../../../src/runner/sandbox/warm.ts";
import { WarmPool } from "../../../src/runner/sandbox/warm_pool.ts";
import { delay } from "../../../src/util/bounded_command.ts";
import { resolveProcessTools } from "../../../src/runner/process_list.ts";
import { superviseRun } from "../../../src/runner/supervisor.ts";
import { untilNoneMatch, varTmpTest, warmLaunchersUnder } from "../../support/sandbox_runs.ts";

/** Settings for real bwrap runs on this host. */
async function settings(): Promise<SandboxSettings> {
  return { mode: "required", availability: await probeSandbox(), host: await hostLayout() };
}

/** A test on Linux in a fresh base dir under /var/tmp (removed after). */
function linuxTest(name: string, fn: (base: string) => Promise<void>): void {
  varTmpTest(name, { prefix: "cmesh-warm-" }, fn);
}

/** A fresh `base/cwd`, and a runner sandbox over it started ahead (ready). */
async function warmInCwd(base: string): Promise<{ cwd: string; start: WarmStart }> {
  const cwd = join(base, "cwd");
  await Deno.mkdir(cwd);
  return { cwd, start: await warmRunner(base, cwd) };
}

/** A runner sandbox over `cwd` started ahead in `base/run`, once its launcher is ready. */
async function warmRunner(
  base: string,
  cwd: string,
  key = "k",
  untilReady = true,
): Promise<WarmStart> {
  const planned = planRunSandbox(await settings(), {
    profile: "edit",
    cwd,
    installPaths: [],
    configDirs: [],
    network: { kind: "none" },
  });
  assert.ok(planned.ok && planned.plan?.key, JSON.stringify(planned));
  const runDir = join(base, "run");
  await Deno.mkdir(base, { recursive: true });
  const made = planned.plan.at(runDir);
  assert.ok(made.ok && made.sandbox.warm);
  const warm = made.sandbox.warm;
  const start = WarmStart.start({
    key,
    token: "r0123456789abcdef0123456789abcdef",
    runDir,
    ctl: warm.ctl,
    argv: warm.runner(warm.ctl, [cwd]),
    checks: [cwd],
  });
  assert.ok(start);
  for (let i = 0; untilReady && i < 500 && !(await exists(join(warm.ctl, "ready"))); i++) {
    await delay(10);
  }
  return start;
}

/** Waits (bounded) until `cond` holds. */
async function eventually(cond: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await cond()) return;
    await delay(10);
  }
  assert.fail(`never: ${what}`);
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function outputOf(child: Deno.ChildProcess) {
  await child.stdin.close().catch(() => {});
  const [out, err, status] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.status,
  ]);
  return { out, err, code: status.code };
}

linuxTest("a warm sandbox runs what it is handed, with exactly that environment", async (base) => {
  const cwd = join(base, "cwd");
  await Deno.mkdir(cwd);
  // env (no shell of its own, which would add PWD) prints exactly what it was given.
  const envStart = await warmRunner(base, cwd);
  try {
    assert.ok(envStart.waiting);
    const env = { PATH: "/usr/bin:/bin", X: "1", CMESH_RUN_ID: envStart.token };
    assert.deepEqual(await envStart.launch(["/usr/bin/env"], env), { ok: true });
    assert.equal(envStart.waiting, false);
    const { out, err, code } = await outputOf(envStart.child);
    assert.equal(code, 0, err);
    const seen = out.trimEnd().split("\n").sort();
    assert.deepEqual(seen, [`CMESH_RUN_ID=${envStart.token}`, "PATH=/usr/bin:/bin", "X=1"]);
    assert.equal((await envStart.launch(["/bin/true"], {})).ok, false, "launched once only");
  } finally {
    await envStart.discard();
  }
  assert.equal(await exists(join(base, "run")), false, "discard removes the run dir");
  const start = await warmRunner(base, cwd);
  try {
    const script = 'printf "%s|" "$@"; pwd; echo made > f';
    const launched = await start.launch(["/bin/sh", "-c", script, "sh", "a b", "c'd"], {});
    assert.deepEqual(launched, { ok: true });
    const { out, err, code } = await outputOf(start.child);
    assert.equal(code, 0, err);
    assert.equal(out, `a b|c'd|${cwd}\n`);
    assert.equal(await Deno.readTextFile(join(cwd, "f")), "made\n", "the cwd is the bound one");
  } finally {
    await start.discard();
  }
});

linuxTest("a cwd swapped for another directory after the start is refused", async (base) => {
  const { cwd, start } = await warmInCwd(base);
  try {
    await Deno.rename(cwd, join(base, "elsewhere"));
    await Deno.mkdir(cwd);
    const launched = await start.launch(["/bin/echo", "ran"], {});
    assert.equal(launched.ok, false);
    assert.match(
      !launched.ok ? launched.reason : "",
      /is not the directory the warm sandbox bound/,
    );
  } finally {
    await start.discard();
  }
  assert.equal((await start.child.status).success, false, "it was ended, never ran");
});

linuxTest(
  "a warm sandbox that ended is refused; keepRunDir leaves the dir for a cold start",
  async (base) => {
    const { start } = await warmInCwd(base);
    start.child.kill("SIGKILL");
    await start.ended;
    const launched = await start.launch(["/bin/echo", "ran"], {});
    assert.deepEqual(launched, { ok: false, reason: "the warm sandbox has ended" });
    await start.discard({ keepRunDir: true });
    assert.ok(await exists(join(base, "run", "home")));
  },
);

linuxTest(
  "pool: one per key, the oldest goes past max, idle ones end, close ends all",
  async (base) => {
    const dirs = ["a", "b", "c"].map((n) => join(base, n));
    for (const d of dirs) await Deno.mkdir(join(d, "cwd"), { recursive: true });
    const pool = new WarmPool({ max: 2, idleMs: 60_000 });
    try {
      assert.equal(pool.take("a"), null);
      const a = await warmRunner(dirs[0], join(dirs[0], "cwd"), "a");
      const b = await warmRunner(dirs[1], join(dirs[1], "cwd"), "b");
      pool.add(a);
      pool.add(b);
      assert.equal(pool.size, 2);
      const c = await warmRunner(dirs[2], join(dirs[2], "cwd"), "c");
      pool.add(c);
      assert.deepEqual([pool.has("a"), pool.has("b"), pool.has("c")], [false, true, true]);
      await a.ended;
      await eventually(async () => !(await exists(join(dirs[0], "run"))), "the evicted one's dir");
      assert.equal(pool.take("b"), b);
      assert.equal(pool.has("b"), false);
      await b.discard();
    } finally {
      await pool.close();
    }
    assert.equal(pool.size, 0);
    assert.equal(await exists(join(dirs[2], "run")), false, "close ended the last one");

    const idle = new WarmPool({ max: 2, idleMs: 50 });
    const d = await warmRunner(dirs[0], join(dirs[0], "cwd"), "d");
    idle.add(d);
    await d.ended;
    assert.equal(idle.has("d"), false, "ended after idling");
    const dup = await warmRunner(dirs[1], join(dirs[1], "cwd"), "e");
    const dup2 = await warmRunner(dirs[2], join(dirs[2], "cwd"), "e");
    idle.add(dup);
    idle.add(dup2);
    await dup2.ended;
    assert.equal(idle.take("e"), dup, "the one already waiting stays");
    await dup.discard();
    await idle.close();
  },
);

/** A "sandbox" that is only `script` (no bwrap): how a launcher that misbehaves is handled. */
function fakeStart(base: string, script: string): WarmStart {
  const ctl = join(base, "run", "ctl");
  const start = WarmStart.start({
    key: "fake",
    token: "r0123456789abcdef0123456789abcdef",
    runDir: join(base, "run"),
    ctl,
    argv: ["/bin/sh", "-c", script, "sh", ctl],
    checks: [base],
  });
  assert.ok(start);
  return start;
}

linuxTest("a launcher never ready: the launch says so, and discarding it ends it", async (base) => {
  const start = fakeStart(base, "exec sleep 60");
  const launched = await start.launch(["/bin/echo", "ran"], {});
  assert.deepEqual(launched, { ok: false, reason: "the warm sandbox is not ready" });
  await start.discard();
  assert.equal((await start.child.status).signal, "SIGKILL");
  assert.equal(await exists(join(base, "run")), false);
});

linuxTest(
  "a launcher that reported but never opened its FIFO: discarding it returns",
  async (base) => {
    const st = await Deno.stat(base);
    // The report is right, but the FIFO is never opened: our open of it waits until discarded.
    const start = fakeStart(
      base,
      `mkfifo "$1/go"; echo ${st.dev}:${st.ino} > "$1/ready"; exec sleep 60`,
    );
    const launched = await start.launch(["/bin/echo", "ran"], {});
    assert.deepEqual(launched, { ok: false, reason: "the warm sandbox is not ready" });
    await start.discard();
    assert.equal((await start.child.status).signal, "SIGKILL");
  },
);

linuxTest("a sandbox ended while it is still starting leaves no process behind", async (base) => {
  const cwd = join(base, "cwd");
  await Deno.mkdir(cwd);
  // Killed before its processes set their parent-death signal, bwrap would leave them waiting.
  for (let i = 0; i < 12; i++) {
    const start = await warmRunner(join(base, String(i)), cwd, "k", false);
    await delay(i % 4);
    await start.discard();
  }
  assert.deepEqual(await untilNoneMatch(warmLaunchersUnder(base)), [], "no launcher left");
});

linuxTest(
  "supervised in a sandbox started ahead: the prompt on stdin, the run's token, its exit",
  async (base) => {
    const { cwd, start } = await warmInCwd(base);
    const lines: string[] = [];
    const script = 'cat; echo "token=$CMESH_RUN_ID"; exit 3';
    const run = await superviseRun(
      // The cold argv, used only if the sandbox cannot be taken.
      { argv: ["/bin/false"], env: { PATH: "/usr/bin:/bin" }, cwd, stdin: "line one\nline two\n" },
      { timeoutMs: 30_000, maxStdoutBytes: 1 << 20, maxStderrBytes: 1 << 16 },
      {
        runToken: start.token,
        onStdoutLine: (line) => lines.push(line),
        cancelSignals: ["SIGTERM", "SIGKILL"],
        graceMs: 200,
        ...resolveProcessTools(),
        sandboxed: true,
        warm: { start, command: ["/bin/sh", "-c", script] },
      },
    );
    assert.deepEqual(run.warm, { ok: true });
    assert.deepEqual(lines, ["line one", "line two", `token=${start.token}`]);
    assert.equal(run.code, 3, run.stderrTail);
    await start.discard();
  },
);

linuxTest(
  "a run in a sandbox started ahead is cancelled as a cold one is: nothing survives",
  async (base) => {
    const { cwd, start } = await warmInCwd(base);
    const abort = new AbortController();
    const lines: string[] = [];
    // A child that leaves its session and drops the marker, and a parent that ignores SIGTERM; a
    // duration of their own to find them by.
    const secs = 600 + Math.floor(Math.random() * 3000);
    const script = `( setsid sh -c 'unset CMESH_RUN_ID; exec sleep ${secs}' & ); trap '' TERM; ` +
      `echo started; sleep ${secs}`;
    const running = superviseRun(
      { argv: ["/bin/false"], env: { PATH: "/usr/bin:/bin" }, cwd, stdin: null },
      { timeoutMs: 60_000, maxStdoutBytes: 1 << 20, maxStderrBytes: 1 << 16 },
      {
        runToken: start.token,
        onStdoutLine: (line) => {
          lines.push(line);
          if (line === "started") abort.abort();
        },
        signal: abort.signal,
        cancelSignals: ["SIGTERM", "SIGKILL"],
        graceMs: 200,
        ...resolveProcessTools(),
        sandboxed: true,
        warm: { start, command: ["/bin/sh", "-c", script] },
      },
    );
    const run = await running;
    assert.deepEqual(run.warm, { ok: true });
    assert.equal(run.cancelled, true);
    assert.equal(run.exited, true);
    assert.deepEqual(run.survivors, []);
    assert.deepEqual(await untilNoneMatch(`sleep ${secs}`), [], "no process of the run left");
    await start.discard();
  },
);
