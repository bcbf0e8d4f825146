/** The bounded follow loop against a scripted control API (no processes). */
import assert from "node:assert/strict";
import { ControlCalls, type ControlResponse } from "../../src/control/calls.ts";
import { followTask, MAX_EVENTS, POLL_S } from "../../src/mcp/follow.ts";
import { ProgressReporter } from "../../src/mcp/progress.ts";
import { taskResult } from "../support/task_fixtures.ts";

const status = (state: string, seq: number) => ({
  id: "t0123456789",
  peer: "box",
  state,
  profile: "query",
  runner: "demo",
  cwd: "/srv/app",
  created_at: new Date(Date.now() - 5000).toISOString(),
  started_at: new Date(Date.now() - 4000).toISOString(),
  finished_at: null,
  last_event: seq
    ? { seq, at: "", kind: "tool", text: `Read f${seq}.ts`, data: { big: "x" } }
    : null,
  error: null,
});
const events = (from: number, to: number) =>
  Array.from(
    { length: to - from + 1 },
    (_, i) => ({ seq: from + i, at: "", kind: "tool", text: `Read f${from + i}.ts` }),
  );

/** A control transport double: GETs are answered by `get`; POSTs are not expected. */
class ControlDouble extends ControlCalls {
  constructor(readonly get: (path: string) => Promise<ControlResponse>) {
    super();
  }
  post(): Promise<ControlResponse> {
    return Promise.reject(new Error("unused"));
  }
}

/** A control double: `/wait` answers come from `script`, in order; the last repeats. */
function scripted(script: ((q: URLSearchParams) => Record<string, unknown>)[]) {
  const paths: string[] = [];
  let i = 0;
  const control = new ControlDouble((path) => {
    paths.push(path);
    if (path.endsWith("/result")) {
      return Promise.resolve({
        ok: true,
        status: 200,
        body: {
          peer: "box",
          result: taskResult({ runner: "demo" }),
        },
      });
    }
    const q = new URLSearchParams(path.split("?")[1]);
    const step = script[Math.min(i++, script.length - 1)];
    return Promise.resolve({ ok: true, status: 200, body: step(q) });
  });
  return { control, paths };
}

function recorder() {
  const messages: string[] = [];
  const progress = new ProgressReporter({
    progressToken: 1,
    send: (n) => Promise.resolve(void messages.push((n.params as { message: string }).message)),
  });
  return { progress, messages };
}

Deno.test("follows until terminal, keeps events after `after`, fetches the result", async () => {
  const { control, paths } = scripted([
    () => ({ task: status("running", 3), events: events(1, 3) }),
    () => ({ task: status("running", 5), events: events(4, 5) }),
    () => ({ task: status("succeeded", 6), events: events(6, 6) }),
  ]);
  const { progress, messages } = recorder();
  const out = await followTask(control, "t0123456789", { waitSeconds: 30, after: 2, progress });
  assert.ok(out.ok);
  const f = out.value;
  assert.equal(f.done, true);
  assert.equal(f.state, "succeeded");
  assert.deepEqual(f.events.map((e) => e.seq), [3, 4, 5, 6]);
  assert.equal(f.next_after, 6);
  assert.equal(f.result?.claims.final_text, "done");
  assert.equal("data" in (f.task.last_event ?? {}), false);
  // Each long-poll asks for events after the last one seen, for at most POLL_S seconds.
  assert.match(paths[0], /\/v1\/tasks\/t0123456789\/wait\?after=2&timeout_s=10&with=result$/);
  assert.match(paths[1], /after=3&/);
  assert.match(paths[2], /after=5&/);
  assert.ok(
    paths.every((p) =>
      p.endsWith("/result") ||
      Number(new URLSearchParams(p.split("?")[1]).get("timeout_s")) <= POLL_S
    ),
  );
  // First report (new state) and the final one (terminal) always go out.
  assert.equal(messages[0].startsWith("running · 4s · last: tool Read f3.ts"), true, messages[0]);
  assert.match(messages.at(-1)!, /^succeeded · /);
});

Deno.test("stops at the deadline with the status so far, and caps the events", async () => {
  let n = 0;
  const { control, paths } = scripted([
    () => ({ task: status("running", ++n * 20), events: events((n - 1) * 20 + 1, n * 20) }),
  ]);
  const { progress } = recorder();
  const out = await followTask(control, "t0123456789", { waitSeconds: 0.2, after: 0, progress });
  assert.ok(out.ok);
  // Each long-poll asks for at most what is left of the 0.2 s: the loop cannot outlive it.
  const waits = paths.filter((p) => !p.endsWith("/result"));
  assert.ok(waits.length >= 1);
  for (const p of waits) {
    assert.ok(Number(new URLSearchParams(p.split("?")[1]).get("timeout_s")) <= 0.2, p);
  }
  assert.equal(out.value.done, false);
  assert.equal(out.value.result, null);
  assert.equal(out.value.events.length, MAX_EVENTS);
  assert.equal(out.value.events_omitted + MAX_EVENTS, n * 20);
  assert.equal(out.value.next_after, n * 20);
});

Deno.test("wait_seconds 0 looks once with timeout_s=0", async () => {
  const { control, paths } = scripted([() => ({ task: status("queued", 0), events: [] })]);
  const out = await followTask(control, "t0123456789", {
    waitSeconds: 0,
    after: 0,
    progress: recorder().progress,
  });
  assert.ok(out.ok);
  assert.equal(paths.length, 1);
  assert.match(paths[0], /timeout_s=0&with=result$/);
  assert.equal(out.value.state, "queued");
});

Deno.test("a control error is returned, not thrown", async () => {
  const control = new ControlDouble(() =>
    Promise.resolve({
      ok: false,
      status: 404,
      error: { code: "not_found", message: "no outbound task t0123456789" },
    })
  );
  const out = await followTask(control, "t0123456789", {
    waitSeconds: 5,
    after: 0,
    progress: recorder().progress,
  });
  assert.deepEqual(out, {
    ok: false,
    error: { code: "not_found", message: "no outbound task t0123456789" },
  });
});

Deno.test("without a progress token, one long-poll until the end instead of one per event", async () => {
  const { control, paths } = scripted([
    (q) => ({
      task: status(q.get("until") === "terminal" ? "succeeded" : "running", 3),
      events: events(1, 3),
    }),
  ]);
  const progress = new ProgressReporter({ send: () => Promise.resolve() });
  const out = await followTask(control, "t0123456789", { waitSeconds: 30, after: 0, progress });
  assert.ok(out.ok);
  assert.equal(out.value.task.state, "succeeded");
  const waits = paths.filter((p) => p.includes("/wait"));
  assert.equal(waits.length, 1);
  assert.match(waits[0], /&until=terminal&with=result$/);
});

Deno.test("a result sent with the terminal answer is used: no separate result call", async () => {
  const sent = taskResult({
    runner: "demo",
    claims: { final_text: "sent along", session_id: null },
  });
  const { control, paths } = scripted([
    (q) => ({
      task: status("succeeded", 1),
      events: events(1, 1),
      ...(q.get("with") === "result" ? { result: sent } : {}),
    }),
  ]);
  const out = await followTask(control, "t0123456789", {
    waitSeconds: 30,
    after: 0,
    progress: recorder().progress,
  });
  assert.ok(out.ok);
  assert.equal(out.value.result?.claims.final_text, "sent along");
  assert.deepEqual(paths.filter((p) => p.endsWith("/result")), []);
});

Deno.test("follow: an answer in hand (a delegate that waited) is the first poll's", async () => {
  const quiet = () => new ProgressReporter({ send: () => Promise.resolve() });
  const done = { task: status("succeeded", 2), events: events(1, 2), result: taskResult() };
  const once = scripted([() => ({ task: status("running", 9), events: [] })]);
  const ended = await followTask(once.control, "t0123456789", {
    waitSeconds: 30,
    after: 0,
    progress: quiet(),
    first: done as never,
  });
  assert.ok(ended.ok);
  assert.equal(ended.value.state, "succeeded");
  assert.deepEqual(ended.value.events.map((e) => e.seq), [1, 2]);
  assert.ok(ended.value.result, "the result came with the answer in hand");
  assert.deepEqual(once.paths, [], "a terminal first answer needs no call");

  const later = scripted([(q) => ({
    task: status("succeeded", 3),
    events: events(Number(q.get("after")) + 1, 3),
    result: taskResult(),
  })]);
  const followed = await followTask(later.control, "t0123456789", {
    waitSeconds: 30,
    after: 0,
    progress: quiet(),
    first: { task: status("running", 1), events: events(1, 1) } as never,
  });
  assert.ok(followed.ok);
  assert.deepEqual(followed.value.events.map((e) => e.seq), [1, 2, 3]);
  assert.equal(later.paths.length, 1);
  assert.match(later.paths[0], /after=1&/, "the loop goes on after the answer's last event");
});
