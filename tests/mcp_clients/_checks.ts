/**
 * @module
 * Checks shared by the requesting-agent tests (Claude Code and Codex): what the worker's fake
 * model saw (the delegated task reached the remote agent, its tool read the file), what the
 * requesting agent's model got back from `cmesh_result` (claims apart from evidence), and both
 * audit chains.
 */
import assert from "node:assert/strict";
import { listAudit } from "../../src/store/audit.ts";
import { verifyAudit } from "../../src/store/audit_verify.ts";
import { openStore } from "../../src/store/db.ts";
import type { LoggedRequest } from "../support/fake_model/server.ts";
import { type ClientWorld, LAPTOP_IP } from "./_world.ts";

/** The delegation tools every client must be offered (setup tools may come on top). */
export const DELEGATION_TOOLS = [
  "cmesh_peers",
  "cmesh_delegate",
  "cmesh_wait",
  "cmesh_cancel",
  "cmesh_status",
  "cmesh_result",
  "cmesh_tasks",
] as const;

/** The `structuredContent` of `cmesh_result` / a finished `cmesh_delegate`, as far as checked. */
export interface ResultPayload {
  task_id: string;
  peer: string;
  state: string;
  done: boolean;
  result: {
    state: string;
    runner: string;
    profile: string;
    cwd: string;
    claims: { final_text: string; session_id: string | null };
    evidence: {
      exit_code: number | null;
      git: { before: { head: string }; after: { head: string }; changed_files: string[] };
      permission_denials: unknown[];
      usage: { input_tokens: number | null; output_tokens: number | null };
    } | null;
  } | null;
}

/**
 * Checks the `cmesh_result` payload a requesting agent's model received: the task succeeded on
 * the worker with the runner asked for; the remote agent's text (with the marker from the
 * worker's `notes.txt`) is under `claims` only; the worker's evidence is apart and clean.
 */
export function checkResultPayload(p: ResultPayload, w: ClientWorld, taskId: string): void {
  const shown = JSON.stringify(p).slice(0, 3000);
  assert.equal(p.task_id, taskId, shown);
  assert.equal(p.peer, "server", shown);
  assert.equal(p.state, "succeeded", shown);
  assert.equal(p.done, true, shown);
  const r = p.result;
  assert.ok(r, `a result: ${shown}`);
  assert.equal(r.state, "succeeded", shown);
  assert.equal(r.runner, w.workerRunner, shown);
  assert.equal(r.profile, "query", shown);
  assert.equal(r.cwd, w.repo, shown);
  assert.ok(r.claims.final_text.includes(w.notes), `the remote agent's claim quotes notes.txt`);
  assert.ok(r.claims.session_id, "the remote CLI's session id");
  const ev = r.evidence;
  assert.ok(ev, `evidence: ${shown}`);
  assert.ok(!JSON.stringify(ev).includes(w.notes), "the claim text is not in the evidence");
  assert.equal(ev.exit_code, 0, shown);
  assert.match(ev.git.before.head, /^[0-9a-f]{40}$/);
  assert.equal(ev.git.after.head, ev.git.before.head, "a query task does not commit");
  assert.deepEqual(ev.git.changed_files, [], "a query task changes no file");
  assert.deepEqual(ev.permission_denials, []);
  assert.ok((ev.usage.input_tokens ?? 0) > 0, "token use as reported by the remote runner");
}

/**
 * The worker's fake model saw the delegated task as the remote agent's prompt, and the
 * remote agent's tool read the marker from `notes.txt` (the real runner CLI did the work).
 */
export async function checkWorkerModel(w: ClientWorld): Promise<void> {
  const api = w.workerRunner === "claude" ? "anthropic" : "openai";
  const reqs = (await w.workerModel.requests<LoggedRequest>()).filter((r) => r.api === api);
  assert.ok(reqs.length >= 2, `the ${w.workerRunner} runner asked its model twice: ${reqs.length}`);
  assert.ok(
    JSON.stringify(reqs[0].body).includes(w.prompt),
    "the delegated task text reached the remote agent's model",
  );
  assert.ok(
    JSON.stringify(reqs.at(-1)!.body).includes(w.notes),
    "the remote agent's tool read notes.txt on the worker",
  );
}

/** Both audit chains verify and hold the task: requester decision/dispatch/finish, worker decision/start/finish. */
export async function checkAudits(w: ClientWorld, taskId: string): Promise<void> {
  await w.stopDaemons();
  {
    using store = openStore(w.serverDb);
    const report = verifyAudit(store);
    assert.equal(report.ok, true, JSON.stringify(report));
    const recs = listAudit(store, { taskId, limit: 1000 });
    const kinds = recs.map((r) => r.kind);
    for (const k of ["task.decision", "task.start", "task.finish"]) {
      assert.equal(kinds.filter((x) => x === k).length, 1, `worker audit: ${k} once in ${kinds}`);
    }
    const decision = recs.find((r) => r.kind === "task.decision")!;
    assert.equal(decision.decision, "allow");
    assert.equal(decision.rule, "inbound.allow[0]");
    assert.equal(decision.actor?.node, "laptop");
    if (w.mode === "netns") {
      assert.equal(decision.actor?.source_ip, LAPTOP_IP, "the worker saw the laptop's address");
      assert.equal(decision.actor?.login, "alice@example.com", "identity from whois");
    }
  }
  {
    using store = openStore(w.laptopDb);
    const report = verifyAudit(store);
    assert.equal(report.ok, true, JSON.stringify(report));
    const kinds = listAudit(store, { taskId, limit: 1000 }).map((r) => r.kind);
    for (const k of ["outbound.decision", "outbound.dispatch", "outbound.finish"]) {
      assert.equal(
        kinds.filter((x) => x === k).length,
        1,
        `requester audit: ${k} once in ${kinds}`,
      );
    }
  }
}
