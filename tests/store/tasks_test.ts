import assert from "node:assert/strict";
import { z } from "zod";
import type { TaskResult } from "../../src/protocol/task.ts";
import { TaskStatus } from "../../src/protocol/task.ts";
import type { TaskError } from "../../src/protocol/task_errors.ts";
import { StoreError } from "../../src/store/errors.ts";
import { requestHash } from "../../src/store/hash.ts";
import { appendAudit, listAudit } from "../../src/store/audit.ts";
import {
  appendEvent,
  getResult,
  lastEvent,
  listEvents,
  saveResult,
} from "../../src/store/task_events.ts";
import {
  countActive,
  listRunningTasks,
  listTasks,
  toTaskStatus,
} from "../../src/store/task_queries.ts";
import { getTask, insertTask, updateTaskState } from "../../src/store/tasks.ts";
import { sampleTask, steppingClock, tempStore } from "./_helpers.ts";

const ID = "task_0000000001";

function result(id: string, state: TaskResult["state"] = "succeeded"): TaskResult {
  return {
    id,
    state,
    profile: "query",
    runner: "claude",
    cwd: "/srv/app",
    started_at: "2026-01-01T00:00:01.000Z",
    finished_at: "2026-01-01T00:00:09.000Z",
    claims: { final_text: "all green", session_id: "s1" },
    evidence: {
      exit_code: 0,
      signal: null,
      duration_ms: 8000,
      git: null,
      usage: { input_tokens: 10, output_tokens: 20, cost_usd: 0.01 },
      permission_denials: [],
      truncated: { stdout: false, stderr: false },
      stderr_tail: "",
    },
    error: null,
  };
}

Deno.test("insertTask stores every field and reads it back", () => {
  using store = tempStore({ now: steppingClock() });
  const task = sampleTask(ID, { run_token: "tok", cwd_requested: "/srv/./app" });
  const r = insertTask(store, task);
  assert.equal(r.outcome, "created");
  assert.deepEqual(getTask(store, "inbound", ID), {
    direction: "inbound",
    id: ID,
    peer: "laptop",
    requester: task.requester,
    requester_stable_id: "nLAPTOP",
    state: "queued",
    profile: "query",
    runner: "claude",
    cwd: "/srv/app",
    cwd_requested: "/srv/./app",
    prompt: task.prompt,
    timeout_s: 600,
    request_hash: task.request_hash,
    created_at: "2026-01-01T00:00:00.000Z",
    started_at: null,
    finished_at: null,
    error: null,
    run_token: "tok",
    pgid: null,
    remote_state: null,
    updated_at: "2026-01-01T00:00:00.000Z",
  });
  assert.deepEqual(r.task, getTask(store, "inbound", ID));
  assert.equal(getTask(store, "inbound", "task_missing01"), null);
});

Deno.test("idempotency: same id + same hash → existing; different hash → conflict", () => {
  using store = tempStore();
  const first = insertTask(store, sampleTask(ID));
  const retry = insertTask(store, sampleTask(ID));
  assert.equal(retry.outcome, "existing");
  assert.deepEqual(retry.task, first.task);
  const changed = insertTask(store, sampleTask(ID, { prompt: "other", request_hash: "h2" }));
  assert.equal(changed.outcome, "conflict");
  assert.equal(changed.outcome === "conflict" && changed.reason, "different_request");
  assert.equal(getTask(store, "inbound", ID)!.prompt, first.task.prompt, "nothing overwritten");
});

Deno.test("idempotency: the same id from another requester is a conflict, not a retry", () => {
  using store = tempStore();
  insertTask(store, sampleTask(ID));
  const other = insertTask(store, sampleTask(ID, { requester_stable_id: "nOTHER" }));
  assert.equal(other.outcome, "conflict");
  assert.equal(other.outcome === "conflict" && other.reason, "different_requester");
});

Deno.test("the same id can exist once per direction", () => {
  using store = tempStore();
  assert.equal(insertTask(store, sampleTask(ID)).outcome, "created");
  assert.equal(
    insertTask(store, sampleTask(ID, { direction: "outbound", peer: "buildbox" })).outcome,
    "created",
  );
  assert.equal(getTask(store, "outbound", ID)!.peer, "buildbox");
  assert.equal(getTask(store, "inbound", ID)!.peer, "laptop");
});

Deno.test("requestHash ignores key order and undefined fields", () => {
  const a = { id: ID, prompt: "p", cwd: "/x", profile: "query", timeout_s: undefined };
  const b = { profile: "query", cwd: "/x", prompt: "p", id: ID };
  assert.equal(requestHash(a), requestHash(b));
  assert.notEqual(requestHash(a), requestHash({ ...b, prompt: "q" }));
  assert.match(requestHash(a), /^[0-9a-f]{64}$/);
});

Deno.test("a denied task is stored terminal, with its error and finished_at", () => {
  using store = tempStore();
  const error: TaskError = {
    code: "revoked",
    message: "profile build not allowed",
    rule: "inbound.allow[0].profile",
  };
  insertTask(store, sampleTask(ID, { state: "denied", error }));
  const t = getTask(store, "inbound", ID)!;
  assert.equal(t.state, "denied");
  assert.deepEqual(t.error, error);
  assert.ok(t.finished_at);
  assert.equal(updateTaskState(store, "inbound", ID, "running"), false);
});

Deno.test("updateTaskState sets started_at/finished_at and the given fields", () => {
  using store = tempStore({ now: steppingClock() });
  insertTask(store, sampleTask(ID)); // t0
  assert.ok(updateTaskState(store, "inbound", ID, "running", { run_token: "rt", pgid: 77 })); // t1
  let t = getTask(store, "inbound", ID)!;
  assert.equal(t.started_at, "2026-01-01T00:00:01.000Z");
  assert.equal(t.run_token, "rt");
  assert.equal(t.pgid, 77);
  assert.ok(updateTaskState(store, "inbound", ID, "running", { pgid: 78 })); // t2: started_at kept
  t = getTask(store, "inbound", ID)!;
  assert.equal(t.started_at, "2026-01-01T00:00:01.000Z");
  assert.equal(t.updated_at, "2026-01-01T00:00:02.000Z");
  const error: TaskError = { code: "runner_failed", message: "exit 1" };
  assert.ok(updateTaskState(store, "inbound", ID, "failed", { error, pgid: null })); // t3
  t = getTask(store, "inbound", ID)!;
  assert.equal(t.state, "failed");
  assert.equal(t.finished_at, "2026-01-01T00:00:03.000Z");
  assert.deepEqual(t.error, error);
  assert.equal(t.pgid, null);
  assert.equal(t.run_token, "rt", "fields not given stay as they were");
});

Deno.test("terminal states are immutable: updateTaskState returns false and changes nothing", () => {
  for (
    const terminal of ["succeeded", "failed", "cancelled", "timed_out", "interrupted"] as const
  ) {
    using store = tempStore();
    insertTask(store, sampleTask(ID));
    assert.ok(updateTaskState(store, "inbound", ID, terminal));
    const before = getTask(store, "inbound", ID)!;
    assert.equal(updateTaskState(store, "inbound", ID, "running"), false, terminal);
    assert.equal(updateTaskState(store, "inbound", ID, "succeeded", { pgid: 1 }), false);
    assert.equal(updateTaskState(store, "inbound", ID, terminal), false);
    assert.deepEqual(getTask(store, "inbound", ID), before);
  }
});

Deno.test("updateTaskState on a missing task returns false", () => {
  using store = tempStore();
  assert.equal(updateTaskState(store, "inbound", ID, "running"), false);
});

Deno.test("outbound tasks keep the peer's last state in remote_state", () => {
  using store = tempStore();
  insertTask(store, sampleTask(ID, { direction: "outbound", peer: "buildbox", requester: null }));
  assert.ok(updateTaskState(store, "outbound", ID, "running", { remote_state: "running" }));
  assert.equal(getTask(store, "outbound", ID)!.remote_state, "running");
  assert.equal(getTask(store, "outbound", ID)!.requester, null);
});

Deno.test("listTasks filters by state, peer, requester, since; newest first; limit", () => {
  using store = tempStore({ now: steppingClock() });
  for (let i = 0; i < 6; i++) {
    insertTask(
      store,
      sampleTask(`task_list_000${i}`, {
        requester_stable_id: i % 2 ? "nB" : "nA",
        peer: i < 3 ? "laptop" : "desk",
      }),
    );
  }
  updateTaskState(store, "inbound", "task_list_0000", "running");
  insertTask(store, sampleTask("task_list_out1", { direction: "outbound" }));
  const ids = (q: Parameters<typeof listTasks>[1]) => listTasks(store, q).map((t) => t.id);
  assert.deepEqual(
    ids({ direction: "inbound" }),
    [5, 4, 3, 2, 1, 0].map((i) => `task_list_000${i}`),
  );
  assert.deepEqual(ids({ direction: "inbound", requesterStableId: "nA" }), [
    "task_list_0004",
    "task_list_0002",
    "task_list_0000",
  ]);
  assert.deepEqual(ids({ direction: "inbound", state: "running" }), ["task_list_0000"]);
  assert.deepEqual(ids({ direction: "inbound", state: ["running", "queued"], peer: "desk" }), [
    "task_list_0005",
    "task_list_0004",
    "task_list_0003",
  ]);
  assert.deepEqual(ids({ direction: "inbound", state: [] }), []);
  assert.deepEqual(ids({ direction: "inbound", since: "2026-01-01T00:00:04.000Z" }), [
    "task_list_0005",
    "task_list_0004",
  ]);
  assert.deepEqual(ids({ direction: "inbound", limit: 2 }), ["task_list_0005", "task_list_0004"]);
  assert.deepEqual(ids({ direction: "outbound" }), ["task_list_out1"]);
});

Deno.test("scoping: a requester key sees only its own tasks and counts", () => {
  using store = tempStore();
  insertTask(store, sampleTask("task_scope_a1", { requester_stable_id: "nA" }));
  insertTask(store, sampleTask("task_scope_a2", { requester_stable_id: "nA" }));
  insertTask(store, sampleTask("task_scope_b1", { requester_stable_id: "nB" }));
  updateTaskState(store, "inbound", "task_scope_a1", "running");
  updateTaskState(store, "inbound", "task_scope_b1", "succeeded");
  assert.deepEqual(
    listTasks(store, { direction: "inbound", requesterStableId: "nB" }).map((t) => t.id),
    [
      "task_scope_b1",
    ],
  );
  assert.deepEqual(countActive(store, { direction: "inbound", requesterStableId: "nA" }), {
    queued: 1,
    running: 1,
  });
  assert.deepEqual(countActive(store, { direction: "inbound", requesterStableId: "nB" }), {
    queued: 0,
    running: 0,
  });
  assert.deepEqual(countActive(store, { direction: "inbound" }), { queued: 1, running: 1 });
  assert.deepEqual(countActive(store, { direction: "inbound", peer: "nowhere" }), {
    queued: 0,
    running: 0,
  });
  assert.deepEqual(countActive(store, { direction: "outbound" }), { queued: 0, running: 0 });
});

Deno.test("listRunningTasks lists running tasks of one direction, for crash recovery", () => {
  using store = tempStore({ now: steppingClock() });
  for (const id of ["task_run_0001", "task_run_0002", "task_run_0003"]) {
    insertTask(store, sampleTask(id));
  }
  insertTask(store, sampleTask("task_run_0001", { direction: "outbound" }));
  updateTaskState(store, "inbound", "task_run_0002", "running", { run_token: "t2", pgid: 2 });
  updateTaskState(store, "inbound", "task_run_0001", "running", { run_token: "t1", pgid: 1 });
  updateTaskState(store, "outbound", "task_run_0001", "running");
  const running = listRunningTasks(store, "inbound");
  assert.deepEqual(running.map((t) => [t.id, t.run_token, t.pgid]), [
    ["task_run_0002", "t2", 2],
    ["task_run_0001", "t1", 1],
  ]);
});

Deno.test("events get seq = last + 1 and a timestamp; listEvents pages by seq", () => {
  using store = tempStore({ now: steppingClock() });
  insertTask(store, sampleTask(ID));
  assert.equal(lastEvent(store, "inbound", ID), null);
  const e1 = appendEvent(store, "inbound", ID, { kind: "state", text: "running" });
  const e2 = appendEvent(store, "inbound", ID, { kind: "usage", text: "u", data: { tokens: 5 } });
  assert.deepEqual(e1, { seq: 1, at: "2026-01-01T00:00:01.000Z", kind: "state", text: "running" });
  assert.deepEqual(e2.data, { tokens: 5 });
  assert.deepEqual(listEvents(store, "inbound", ID), [e1, e2]);
  assert.deepEqual(listEvents(store, "inbound", ID, 1), [e2]);
  assert.deepEqual(listEvents(store, "inbound", ID, 0, 1), [e1]);
  assert.deepEqual(lastEvent(store, "inbound", ID), e2);
  assert.deepEqual(listEvents(store, "outbound", ID), [], "events are per direction");
});

Deno.test("event cap: the first n-1 events and the latest one are kept", () => {
  using store = tempStore({ maxEventsPerTask: 5 });
  insertTask(store, sampleTask(ID));
  for (let i = 1; i <= 12; i++) appendEvent(store, "inbound", ID, { kind: "log", text: `e${i}` });
  const events = listEvents(store, "inbound", ID);
  assert.deepEqual(events.map((e) => [e.seq, e.text]), [
    [1, "e1"],
    [2, "e2"],
    [3, "e3"],
    [4, "e4"],
    [12, "e12"],
  ]);
  assert.equal(lastEvent(store, "inbound", ID)!.seq, 12);
  const next = appendEvent(store, "inbound", ID, { kind: "state", text: "succeeded" });
  assert.equal(next.seq, 13);
  assert.equal(listEvents(store, "inbound", ID).length, 5);
});

Deno.test("event cap defaults to 2000 per task", () => {
  using store = tempStore();
  assert.equal(store.maxEventsPerTask, 2000);
  insertTask(store, sampleTask(ID));
  store.transaction(() => {
    for (let i = 0; i < 2100; i++) appendEvent(store, "inbound", ID, { kind: "log", text: "x" });
  });
  const n = store.db.prepare("SELECT count(*) AS n FROM task_events").get() as { n: number };
  assert.equal(n.n, 2000);
  assert.equal(lastEvent(store, "inbound", ID)!.seq, 2100);
});

Deno.test("appendEvent on a missing task: StoreError not_found", () => {
  using store = tempStore();
  assert.throws(
    () => appendEvent(store, "inbound", ID, { kind: "log", text: "x" }),
    (e: unknown) => e instanceof StoreError && e.code === "not_found" && e.message.includes(ID),
  );
});

Deno.test("saveResult/getResult round-trip; replace; validation", () => {
  using store = tempStore();
  insertTask(store, sampleTask(ID));
  assert.equal(getResult(store, "inbound", ID), null);
  saveResult(store, "inbound", ID, result(ID));
  assert.deepEqual(getResult(store, "inbound", ID), result(ID));
  saveResult(store, "inbound", ID, result(ID, "failed"));
  assert.equal(getResult(store, "inbound", ID)!.state, "failed");
  assert.throws(() => saveResult(store, "inbound", ID, result("task_other_01")), RangeError);
  const broken = { ...result(ID), claims: { final_text: 1 } } as unknown as TaskResult;
  assert.throws(
    () => saveResult(store, "inbound", ID, broken),
    (e: unknown) => e instanceof z.ZodError,
  );
  assert.throws(
    () => saveResult(store, "outbound", ID, result(ID)),
    (e: unknown) => e instanceof StoreError && e.code === "not_found",
  );
});

Deno.test("toTaskStatus builds a valid wire TaskStatus", () => {
  using store = tempStore();
  insertTask(store, sampleTask(ID));
  appendEvent(store, "inbound", ID, { kind: "state", text: "queued" });
  const status = toTaskStatus(getTask(store, "inbound", ID)!, lastEvent(store, "inbound", ID));
  assert.deepEqual(TaskStatus.parse(status), status);
  assert.equal(status.last_event?.seq, 1);
});

Deno.test("a state change and its audit record commit together or not at all", () => {
  using store = tempStore();
  insertTask(store, sampleTask(ID));
  assert.throws(() =>
    store.transaction(() => {
      updateTaskState(store, "inbound", ID, "cancelled");
      appendAudit(store, { kind: "task.cancel", task_id: ID });
      throw new Error("crash between the two writes and the commit");
    })
  );
  assert.equal(getTask(store, "inbound", ID)!.state, "queued");
  assert.deepEqual(listAudit(store), []);
  store.transaction(() => {
    updateTaskState(store, "inbound", ID, "cancelled");
    appendAudit(store, { kind: "task.cancel", task_id: ID });
  });
  assert.equal(getTask(store, "inbound", ID)!.state, "cancelled");
  assert.equal(listAudit(store, { taskId: ID }).length, 1);
});

Deno.test("NUL characters: replaced in free text, refused in identifiers", () => {
  using store = tempStore();
  insertTask(store, sampleTask(ID, { prompt: "before\0after" }));
  assert.equal(getTask(store, "inbound", ID)!.prompt, "before\ufffdafter");
  const ev = appendEvent(store, "inbound", ID, { kind: "log", text: "bin\0ary" });
  assert.equal(ev.text, "bin\ufffdary");
  assert.deepEqual(lastEvent(store, "inbound", ID), ev);
  assert.throws(
    () => insertTask(store, sampleTask("task_nul\0_0001")),
    /id must not contain a NUL/,
  );
  assert.throws(() => insertTask(store, sampleTask(ID, { cwd: "/srv\0" })), /cwd must not/);
});
