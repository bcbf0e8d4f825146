/**
 * @module
 * Tests for supervisor.ts, driving the fake agent from tests/support/fake_agent.ts (the small
 * pieces it is built from are tested in line_stream_test.ts).
 */
import assert from "node:assert/strict";
import { type SuperviseOptions, superviseRun } from "../../src/runner/supervisor.ts";
import { newRunToken, RUN_TOKEN_ENV } from "../../src/runner/process_list.ts";
import type { Invocation, RunLimits } from "../../src/runner/types.ts";
import { fakeAgentInvocation, type FakeStep } from "../support/fake_agent.ts";
import { isAlive, killBin, livePids, liveWithMarker, psBin, reap, sessionOf } from "./_ps.ts";

const LIMITS: RunLimits = { timeoutMs: 30_000, maxStdoutBytes: 1 << 20, maxStderrBytes: 4096 };

/** Runs a fake agent script; collects stdout lines. */
async function runFake(
  script: FakeStep[],
  limits: Partial<RunLimits> = {},
  extra: Partial<SuperviseOptions> & { stdin?: string | null } = {},
) {
  const dir = Deno.makeTempDirSync();
  const inv = fakeAgentInvocation(script, { cwd: dir, stdin: extra.stdin ?? null });
  return await runInvocation(inv, limits, extra);
}

async function runInvocation(
  inv: Invocation,
  limits: Partial<RunLimits> = {},
  extra: Partial<SuperviseOptions> = {},
) {
  const lines: string[] = [];
  const token = extra.runToken ?? newRunToken();
  const run = await superviseRun(inv, { ...LIMITS, ...limits }, {
    runToken: token,
    onStdoutLine: (l) => lines.push(l),
    cancelSignals: ["SIGINT", "SIGTERM", "SIGKILL"],
    graceMs: 300,
    killBin,
    psBin,
    ...extra,
  });
  // Look at the system right after the run, then make sure a failing assertion cannot leak.
  const alive = livePids();
  const leftovers = liveWithMarker(token);
  reap(token);
  return { run, lines, token, alive, leftovers };
}

// ---------------------------------------------------------------- supervised runs

Deno.test("normal run: lines streamed in order, final line without newline, clean exit", async () => {
  const seen: string[] = [];
  const { run, lines } = await runFake(
    [
      { claude: "init" },
      { claude: "assistant", text: "working" },
      { stderr: "a warning" },
      { claude: "result", text: "all done" },
      { no_newline: "trailing" },
    ],
    {},
    { onStderrLine: (l) => seen.push(l) },
  );
  assert.equal(run.code, 0);
  assert.equal(run.signal, null);
  assert.equal(run.timedOut, false);
  assert.equal(run.cancelled, false);
  assert.equal(run.exited, true);
  assert.equal(run.streamsDrained, true);
  assert.deepEqual(run.truncated, { stdout: false, stderr: false });
  assert.ok(run.pgid > 0);
  assert.deepEqual(lines.slice(0, 3).map((l) => JSON.parse(l).type), [
    "system",
    "assistant",
    "result",
  ]);
  assert.equal(JSON.parse(lines[2]).result, "all done");
  assert.equal(lines[3], "trailing");
  assert.equal(lines.length, 4);
  assert.equal(run.lastStdoutLine, "trailing");
  assert.equal(run.stderrTail, "a warning\n");
  assert.deepEqual(seen, ["a warning"]);
  assert.deepEqual(run.survivors, []);
  assert.equal(run.callbackError, null);
});

Deno.test("exit codes and signals are reported", async () => {
  const exit3 = await runFake([{ stderr: "boom" }, { exit: 3 }]);
  assert.equal(exit3.run.code, 3);
  assert.equal(exit3.run.signal, null);
  assert.match(exit3.run.stderrTail, /boom/);
  const killed = await runFake([{ raise: "SIGTERM" }]);
  assert.equal(killed.run.code, null);
  assert.equal(killed.run.signal, "SIGTERM");
  assert.equal(killed.run.cancelled, false);
});

Deno.test("timeout kills the whole tree, including a setsid'd grandchild", async () => {
  const dir = Deno.makeTempDirSync();
  const { run, alive, leftovers } = await runFake([
    { spawn_setsid: { seconds: 300, pid_file: `${dir}/gc` } },
    { spawn_group_child: { seconds: 300, pid_file: `${dir}/member` } },
    { line: "ready" },
    { hang: true },
  ], { timeoutMs: 3000 });
  assert.equal(run.timedOut, true);
  assert.equal(run.cancelled, false);
  assert.equal(run.signal, "SIGINT", "the first signal of the sequence ended the agent");
  assert.equal(alive.has(Number(Deno.readTextFileSync(`${dir}/gc`))), false);
  assert.equal(alive.has(Number(Deno.readTextFileSync(`${dir}/member`))), false);
  assert.deepEqual(run.survivors, []);
  assert.deepEqual(leftovers, []);
});

Deno.test("cancel escalates SIGINT → SIGTERM → SIGKILL when the agent ignores the first two", async () => {
  const controller = new AbortController();
  const { run } = await runFake(
    [
      { ignore_signals: ["SIGINT", "SIGTERM"] },
      { line: "ready" },
      { hang: true },
    ],
    {},
    {
      signal: controller.signal,
      onStdoutLine: (l) => l === "ready" && controller.abort(),
    },
  );
  assert.equal(run.cancelled, true);
  assert.equal(run.timedOut, false);
  assert.equal(run.signal, "SIGKILL");
  assert.deepEqual(run.kills[0].steps.map((s) => s.signal), ["SIGINT", "SIGTERM", "SIGKILL"]);
  assert.ok(run.durationMs >= 600, "two grace periods passed before SIGKILL");
  assert.deepEqual(run.survivors, []);
});

Deno.test("a setsid'd grandchild is found by run token and killed: no survivors", async () => {
  const dir = Deno.makeTempDirSync();
  const controller = new AbortController();
  let grandchild = 0;
  let grandchildSession = 0;
  const { run, alive, leftovers } = await runFake(
    [
      // Like Claude's Bash tool: own session, and it ignores SIGINT/SIGTERM too.
      { spawn_setsid: { seconds: 300, pid_file: `${dir}/gc`, ignore_term: true } },
      { line: "ready" },
      { hang: true },
    ],
    {},
    {
      signal: controller.signal,
      onStdoutLine: (l) => {
        if (l !== "ready") return;
        grandchild = Number(Deno.readTextFileSync(`${dir}/gc`));
        grandchildSession = sessionOf(grandchild);
        controller.abort();
      },
    },
  );
  try {
    assert.ok(grandchild > 0);
    assert.notEqual(grandchildSession, run.pgid, "the grandchild escaped the run's session");
    assert.equal(run.cancelled, true);
    assert.equal(run.signal, "SIGINT", "the agent itself died on SIGINT");
    const signalledByPid = run.kills.flatMap((k) => k.steps).filter((s) =>
      s.pids.includes(grandchild)
    );
    assert.ok(signalledByPid.some((s) => s.signal === "SIGKILL"), "escalated to SIGKILL by pid");
    assert.equal(alive.has(grandchild), false);
    assert.deepEqual(leftovers, []);
    assert.deepEqual(run.survivors, []);
  } finally {
    if (grandchild > 0 && isAlive(grandchild)) Deno.kill(grandchild, "SIGKILL");
  }
});

Deno.test("after a normal exit, leftover token-marked processes are swept", async () => {
  const dir = Deno.makeTempDirSync();
  const { run, alive, leftovers } = await runFake([
    { spawn_setsid: { seconds: 300, pid_file: `${dir}/gc` } },
    { line: "bye" },
  ]);
  assert.equal(run.code, 0);
  assert.equal(run.cancelled || run.timedOut, false);
  const gc = Number(Deno.readTextFileSync(`${dir}/gc`));
  assert.equal(alive.has(gc), false);
  assert.ok(run.kills.some((k) => k.steps.some((s) => s.pids.includes(gc))));
  assert.deepEqual(leftovers, []);
});

Deno.test("an unmarked escapee holding stdout cannot stall the result (bounded drain)", async () => {
  const dir = Deno.makeTempDirSync();
  let escapee = 0;
  try {
    const { run, alive } = await runFake(
      [
        { spawn_unmarked: { seconds: 300, pid_file: `${dir}/esc` } },
        { line: "bye" },
      ],
      {},
      { drainMs: 300 },
    );
    escapee = Number(Deno.readTextFileSync(`${dir}/esc`));
    assert.equal(run.code, 0);
    assert.equal(run.streamsDrained, false, "the escapee still holds the pipe");
    assert.ok(alive.has(escapee), "a process that drops the marker and the group is out of reach");
  } finally {
    if (escapee > 0) Deno.kill(escapee, "SIGKILL");
  }
});

Deno.test("200 MiB of stdout: drained, truncated, retained buffers stay bounded", async () => {
  const max = 1 << 20;
  let deliveredChars = 0;
  let count = 0;
  const { run } = await runFake(
    [{ line: "first" }, { output_mb: 200, line_bytes: 1000 }, { stderr_kb: 512 }, { line: "LAST" }],
    { maxStdoutBytes: max, maxStderrBytes: 4096 },
    {
      maxLineChars: 64 * 1024,
      onStdoutLine: (l) => {
        deliveredChars += l.length + 1;
        count++;
      },
    },
  );
  assert.equal(run.code, 0);
  assert.equal(run.truncated.stdout, true);
  assert.equal(run.truncated.stderr, true);
  assert.equal(run.bytesRead.stdout, 200 * (1 << 20) + "first\n".length + "LAST\n".length);
  assert.equal(run.bytesRead.stderr, 512 * 1024);
  assert.ok(run.deliveredStdoutBytes <= max, `delivered ${run.deliveredStdoutBytes}`);
  assert.ok(
    run.deliveredStdoutBytes > max - 1000,
    "delivery stopped at the first line that did not fit",
  );
  assert.equal(deliveredChars, run.deliveredStdoutBytes);
  assert.equal(count, 1 + Math.floor((max - 6) / 1000));
  assert.ok(run.peakLineBufferChars <= 64 * 1024);
  assert.ok(new TextEncoder().encode(run.stderrTail).length <= 4096);
  assert.equal(run.lastStdoutLine, "LAST", "the last line is kept even though it was dropped");
});

Deno.test("an endless line is cut at maxLineChars and flags truncation", async () => {
  const lines: string[] = [];
  const { run } = await runFake([{ output_mb: 8, line_bytes: 8 << 20 }, { line: "after" }], {
    maxStdoutBytes: 1 << 20,
  }, { maxLineChars: 1000, onStdoutLine: (l) => lines.push(l) });
  assert.equal(run.truncated.stdout, true);
  assert.deepEqual(lines.map((l) => l.length), [1000, 5]);
  assert.equal(run.peakLineBufferChars, 1000);
});

Deno.test("stdin: null gives EOF at once; a prompt is fed and closed", async () => {
  const cat = await runInvocation(
    { argv: ["/bin/cat"], env: {}, cwd: "/", stdin: null },
    { timeoutMs: 5000 },
  );
  assert.equal(cat.run.code, 0);
  assert.equal(cat.run.timedOut, false);
  assert.deepEqual(cat.lines, []);
  const empty = await runFake([{ read_stdin: true }]);
  assert.equal(JSON.parse(empty.lines[0]).bytes, 0);
  const fed = await runFake([{ read_stdin: true }], {}, { stdin: "the prompt\nline 2" });
  assert.equal(JSON.parse(fed.lines[0]).text, "the prompt\nline 2");
  // A child that never reads a large prompt must not hang the supervisor.
  const ignored = await runFake([{ line: "no read" }], {}, { stdin: "x".repeat(1 << 20) });
  assert.equal(ignored.run.code, 0);
});

Deno.test("the environment is exactly what was passed, plus the run marker", async () => {
  const { run, lines, token } = await runInvocation({
    argv: ["/usr/bin/env"],
    env: { A: "1", B: "two words", [RUN_TOKEN_ENV]: "overridden-by-the-supervisor" },
    cwd: "/",
    stdin: null,
  });
  assert.equal(run.code, 0);
  assert.deepEqual(lines.sort(), ["A=1", "B=two words", `${RUN_TOKEN_ENV}=${token}`].sort());
});

Deno.test("kill and ps are the injected absolute paths", async () => {
  const dir = Deno.makeTempDirSync();
  const log = `${dir}/calls.log`;
  const wrap = (name: string, real: string) => {
    const path = `${dir}/${name}`;
    Deno.writeTextFileSync(path, `#!/bin/sh\necho "${name} $*" >> ${log}\nexec ${real} "$@"\n`);
    Deno.chmodSync(path, 0o755);
    return path;
  };
  const controller = new AbortController();
  const { run } = await runFake([{ line: "ready" }, { hang: true }], {}, {
    killBin: wrap("mykill", killBin),
    psBin: wrap("myps", psBin),
    signal: controller.signal,
    onStdoutLine: () => controller.abort(),
  });
  assert.equal(run.cancelled, true);
  assert.deepEqual(run.kills[0].errors, []);
  const calls = Deno.readTextFileSync(log).trim().split("\n");
  assert.ok(calls.some((c) => c === `mykill -s INT -- -${run.pgid}`), calls.join("\n"));
  assert.ok(calls.some((c) => c.startsWith("myps -e -ww")));
});

Deno.test("bad invocations are rejected; an already-aborted run never spawns", async () => {
  await assert.rejects(
    () => runInvocation({ argv: ["cat"], env: {}, cwd: "/", stdin: null }),
    /absolute path/,
  );
  await assert.rejects(
    () => runInvocation({ argv: ["/nonexistent/bin"], env: {}, cwd: "/", stdin: null }),
    /cannot start \/nonexistent\/bin/,
  );
  await assert.rejects(
    () =>
      runInvocation({ argv: ["/bin/true"], env: {}, cwd: "/", stdin: null }, {}, {
        runToken: "x",
      }),
    /runToken/,
  );
  const { run } = await runInvocation({ argv: ["/bin/true"], env: {}, cwd: "/", stdin: null }, {}, {
    signal: AbortSignal.abort(),
  });
  assert.equal(run.cancelled, true);
  assert.equal(run.pgid, 0);
});

Deno.test("a throwing line callback does not stop the draining", async () => {
  const { run } = await runFake([{ line: "a" }, { line: "b" }], {}, {
    onStdoutLine: () => {
      throw new Error("consumer bug");
    },
  });
  assert.equal(run.code, 0);
  assert.equal(run.callbackError, "consumer bug");
  assert.equal(run.lastStdoutLine, "b");
});

// ---------------------------------------------------------------- under the daemon's sandbox

Deno.test("works inside a Worker with narrowed permissions (run: agent, kill, ps, git only)", async () => {
  const dir = Deno.realPathSync(Deno.makeTempDirSync());
  const repo = `${dir}/repo`;
  Deno.mkdirSync(repo);
  new Deno.Command("/usr/bin/git", { args: ["init", "-q"], cwd: repo }).outputSync();
  const src = new URL("../../src/runner/", import.meta.url).href;
  const workerFile = `${dir}/sandboxed_worker.ts`;
  Deno.writeTextFileSync(
    workerFile,
    `
import { superviseRun } from "${src}supervisor.ts";
import { gitSnapshot } from "${src}evidence.ts";
const probe = (f: () => unknown) => { try { f(); return "ok"; } catch (e) { return (e as Error).name; } };
self.onmessage = async (e: MessageEvent) => {
  const { inv, token, killBin, psBin } = e.data;
  const probes = {
    readEtc: probe(() => Deno.readTextFileSync("/etc/hostname")),
    runSh: probe(() => new Deno.Command("/bin/sh", { args: ["-c", "true"] }).outputSync()),
    denoKill: probe(() => Deno.kill(1, "SIGCONT")),
    env: probe(() => Deno.env.get("HOME")),
  };
  const controller = new AbortController();
  const lines: string[] = [];
  const run = await superviseRun(inv, { timeoutMs: 20000, maxStdoutBytes: 65536, maxStderrBytes: 4096 }, {
    runToken: token, signal: controller.signal, cancelSignals: ["SIGINT", "SIGTERM"], graceMs: 300,
    killBin, psBin,
    onStdoutLine: (l) => { lines.push(l); if (l === "ready") controller.abort(); },
  });
  const snapshot = await gitSnapshot(inv.cwd + "/repo", "/usr/bin/git", {});
  self.postMessage({ run, lines, probes, snapshot });
};
`,
  );
  const token = newRunToken();
  const inv = fakeAgentInvocation([
    { claude: "init" },
    { spawn_setsid: { seconds: 300, pid_file: `${dir}/gc`, ignore_term: true } },
    { line: "ready" },
    { hang: true },
  ], { cwd: dir });
  const worker = new Worker(new URL(`file://${workerFile}`), {
    type: "module",
    deno: {
      permissions: {
        run: [Deno.execPath(), killBin, psBin, "/usr/bin/git"],
        read: [dir],
        write: [dir],
        env: false,
        net: false,
        sys: false,
        ffi: false,
        import: false,
      },
    },
  });
  try {
    const reply = new Promise<MessageEvent>((resolve, reject) => {
      worker.onmessage = resolve;
      worker.onerror = (e) => {
        e.preventDefault();
        reject(new Error(e.message));
      };
    });
    worker.postMessage({ inv, token, killBin, psBin });
    const { data } = await reply;
    assert.deepEqual(data.probes, {
      readEtc: "NotCapable",
      runSh: "NotCapable",
      denoKill: "NotCapable",
      env: "NotCapable",
    });
    assert.equal(data.lines[1], "ready");
    assert.equal(data.run.cancelled, true);
    assert.deepEqual(data.run.kills[0].errors, []);
    assert.deepEqual(data.run.survivors, []);
    assert.equal(isAlive(Number(Deno.readTextFileSync(`${dir}/gc`))), false);
    assert.deepEqual(liveWithMarker(token), []);
    assert.deepEqual(data.snapshot, { head: null, status: [] });
  } finally {
    worker.terminate();
    reap(token);
    try {
      Deno.kill(Number(Deno.readTextFileSync(`${dir}/gc`)), "SIGKILL");
    } catch { /* already dead */ }
  }
});

Deno.test("preamble: the wrapper's bytes before the end mark are kept apart from the runner's lines", async () => {
  const dir = Deno.makeTempDirSync();
  const script =
    `printf 'snap\\nshot\\0B5 0\\0'; exec /bin/sh -c 'echo one; printf "\\0B5 0\\0"; echo two'`;
  const { run, lines } = await runInvocation(
    { argv: ["/bin/sh", "-c", script], env: { PATH: "/usr/bin:/bin" }, cwd: dir, stdin: null },
    {},
    { preamble: { boundary: "B5", marks: 1, maxBytes: 1024 } },
  );
  assert.equal(run.code, 0);
  assert.equal(new TextDecoder().decode(run.preamble?.body ?? undefined), "snap\nshot\0B5 0\0");
  // A mark printed by the runner itself is its own output, not the preamble's.
  assert.deepEqual(lines, ["one", "\0B5 0\0two"]);
});
