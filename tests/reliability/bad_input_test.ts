/**
 * Reliability: over 10,000 generated malformed requests against a real worker daemon's API and
 * a real requester daemon's control API (see `_malformed.ts` for what is generated). Every one
 * must get a 4xx JSON error (`{"error": {"code", "message"}}`); both daemons must stay up and
 * keep answering; their RSS must stay bounded; and the only rows written are audit records of
 * denials (table row counts compared before and after).
 *
 * Requests that are not valid HTTP/1.1 (an asterisk-form or non-ASCII request target) are
 * refused by Deno's HTTP server itself with a bare 400, before cmesh runs: for those only the
 * 4xx status is checked.
 *
 * Runs on loopback (the worker in the local-demo identity mode), so it needs no root.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { controlToken, createMesh, shRunner } from "../support/mesh_world.ts";
import { rawHttp, rawRequestBytes } from "../support/raw_http.ts";
import { type BadCase, workerCases } from "./_malformed.ts";
import { controlCases } from "./_malformed_control.ts";

const WORKER_CASES = 6000;
const CONTROL_CASES = 4500;
const MAX_BODY = 256 * 1024;
const RSS_BOUND_MIB = 300;

interface Answer {
  status: number;
  type: string;
  text: string;
}

async function send(base: URL, c: BadCase): Promise<Answer> {
  if (c.raw || ["TRACE", "CONNECT"].includes(c.method)) {
    const headers = { host: base.host, ...c.headers };
    const r = await rawHttp(
      base.hostname,
      Number(base.port),
      rawRequestBytes(c.method, c.path, headers, c.body),
    );
    return { status: r.status, type: r.headers["content-type"] ?? "", text: r.text };
  }
  try {
    const res = await fetch(new URL(c.path as string, base), {
      method: c.method,
      headers: c.headers,
      body: c.body as BodyInit | undefined,
    });
    return {
      status: res.status,
      type: res.headers.get("content-type") ?? "",
      text: await res.text(),
    };
  } catch (e) {
    return { status: 0, type: "", text: `fetch failed: ${e}` };
  }
}

/** Sends every case with `concurrency` in flight; returns the failures by kind. */
async function sendAll(
  base: URL,
  cases: BadCase[],
  concurrency: number,
): Promise<{ failures: Map<string, string[]>; statuses: Map<number, number> }> {
  const failures = new Map<string, string[]>();
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= cases.length) return;
      const c = cases[i];
      const a = await send(base, c);
      statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
      let problem = "";
      if (a.status < 400 || a.status > 499) problem = `status ${a.status}`;
      else if (c.httpLayer) problem = "";
      else if (!a.type.includes("application/json")) problem = `content-type "${a.type}"`;
      else {
        try {
          const err = (JSON.parse(a.text) as { error?: { code?: unknown; message?: unknown } })
            .error;
          if (typeof err?.code !== "string" || typeof err?.message !== "string") {
            problem = "no {error: {code, message}}";
          }
        } catch {
          problem = "body is not JSON";
        }
      }
      if (problem) {
        const list = failures.get(c.kind) ?? [];
        if (list.length < 5) {
          const path = typeof c.path === "string" ? c.path.slice(0, 120) : "<bytes>";
          list.push(`${problem}: ${c.method} ${path} → ${a.text.slice(0, 200)}`);
        } else if (list.length === 5) list.push("…");
        failures.set(c.kind, list);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { failures, statuses };
}

function rowCounts(path: string): Record<string, number> {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const n = (sql: string) => Number((db.prepare(sql).get() as { n: number }).n);
    return {
      tasks: n("SELECT count(*) AS n FROM tasks"),
      task_events: n("SELECT count(*) AS n FROM task_events"),
      task_results: n("SELECT count(*) AS n FROM task_results"),
      audit: n("SELECT count(*) AS n FROM audit"),
      audit_not_denials: n(
        "SELECT count(*) AS n FROM audit WHERE coalesce(decision, '') <> 'deny' " +
          "AND kind NOT IN ('daemon.start', 'daemon.stop')",
      ),
    };
  } finally {
    db.close();
  }
}

async function rssMiB(pid: number): Promise<number> {
  const out = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)] }).output();
  return Number(new TextDecoder().decode(out.stdout).trim()) / 1024;
}

Deno.test({
  name: "reliability: 10,000+ malformed requests → 4xx JSON each, daemons up, only denials audited",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const mesh = await createMesh({ mode: "loopback", runners: { sh: shRunner() } });
    try {
      const token = await controlToken(mesh.requesterHome);
      const workerBase = new URL(mesh.workerUrl);
      const controlBase = new URL(mesh.requesterControlUrl);
      const workerPid = mesh.worker!.child.pid;
      const requesterPid = mesh.requester!.child.pid;
      const before = { worker: rowCounts(mesh.workerDb), requester: rowCounts(mesh.requesterDb) };
      const rss = { worker: [await rssMiB(workerPid)], requester: [await rssMiB(requesterPid)] };
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          rss.worker.push(await rssMiB(workerPid));
          rss.requester.push(await rssMiB(requesterPid));
          await new Promise((r) => setTimeout(r, 250));
        }
      })();

      const wCases = workerCases(1, WORKER_CASES, {
        valid: (i) => ({
          id: `t-bad-${String(i).padStart(8, "0")}`,
          prompt: "echo should never run",
          cwd: mesh.plain,
          profile: "query",
          runner: "sh",
        }),
        outsideCwd: mesh.base,
        maxBody: MAX_BODY,
      });
      const cCases = controlCases(2, CONTROL_CASES, {
        token,
        port: Number(controlBase.port),
        valid: () => ({
          peer: mesh.peerName,
          task: "echo should never run",
          cwd: mesh.plain,
          profile: "query",
          runner: "sh",
        }),
        outsideCwd: "/etc",
        maxBody: MAX_BODY,
      });
      const w = await sendAll(workerBase, wCases, 8);
      const c = await sendAll(controlBase, cCases, 8);
      sampling = false;
      await sampler;

      const report = (name: string, r: typeof w) =>
        `${name}: ${[...r.statuses].sort().map(([s, n]) => `${s}×${n}`).join(" ")}`;
      console.log(report("worker", w));
      console.log(report("control", c));
      const failed = [...w.failures, ...c.failures].map(([k, l]) => `[${k}] ${l.join("\n   ")}`);
      assert.equal(wCases.length + cCases.length >= 10_000, true);
      assert.deepEqual(
        failed,
        [],
        `requests not answered with a 4xx JSON error:\n${failed.join("\n")}`,
      );

      // Both daemons still serve.
      const hello = await fetch(new URL("/v1/hello", workerBase));
      assert.equal(hello.status, 200, await hello.text());
      const status = await fetch(new URL("/v1/status", controlBase), {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(status.status, 200, await status.text());

      const maxWorker = Math.max(...rss.worker);
      const maxRequester = Math.max(...rss.requester);
      console.log(
        `RSS MiB worker ${rss.worker[0].toFixed(0)} → max ${maxWorker.toFixed(0)}, ` +
          `requester ${rss.requester[0].toFixed(0)} → max ${maxRequester.toFixed(0)}`,
      );
      assert.ok(maxWorker < RSS_BOUND_MIB, `worker RSS reached ${maxWorker} MiB`);
      assert.ok(maxRequester < RSS_BOUND_MIB, `requester RSS reached ${maxRequester} MiB`);

      const after = { worker: rowCounts(mesh.workerDb), requester: rowCounts(mesh.requesterDb) };
      for (const side of ["worker", "requester"] as const) {
        const b = before[side];
        const a = after[side];
        assert.deepEqual(
          { tasks: a.tasks, task_events: a.task_events, task_results: a.task_results },
          { tasks: b.tasks, task_events: b.task_events, task_results: b.task_results },
          `${side}: no task, event or result rows were written`,
        );
        assert.equal(
          a.audit_not_denials,
          b.audit_not_denials,
          `${side}: every new audit record is a denial`,
        );
      }
      assert.ok(after.worker.audit > before.worker.audit, "policy denials were audited");
      assert.ok(after.requester.audit > before.requester.audit, "outbound denials were audited");
    } finally {
      await mesh.destroy();
    }
  },
});
