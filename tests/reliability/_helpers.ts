/**
 * @module
 * Helpers shared by the reliability tests: a small control API client for a mesh's requester
 * (loopback meshes only: it is called from this process), store facts read straight from the
 * databases, the run-marker check, and `cmesh audit verify` for a home.
 */
import { DatabaseSync } from "node:sqlite";
import { runCmesh } from "../support/daemon.ts";
import { controlToken, type MeshWorld } from "../support/mesh_world.ts";
import { psRows } from "../support/proc.ts";

/** Terminal task states. */
export const TERMINAL = ["succeeded", "failed", "cancelled", "timed_out", "interrupted", "denied"];

/**
 * A control API client for `mesh`'s requester (reads the token on first use, and again after a
 * 401, as cmesh's own client does: the daemon writes a new token at every start).
 */
export function controlClient(mesh: MeshWorld) {
  let token: string | null = null;
  const send = async (method: string, path: string, body?: unknown) => {
    token ??= await controlToken(mesh.requesterHome);
    const res = await fetch(`${mesh.requesterControlUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(20_000),
    });
    const json = await res.json().catch(() => null) as Record<string, unknown> | null;
    return { status: res.status, json };
  };
  const call = async (method: string, path: string, body?: unknown) => {
    try {
      const first = await send(method, path, body);
      if (first.status !== 401) return first;
      const before = token;
      token = await controlToken(mesh.requesterHome);
      return token === before ? first : await send(method, path, body);
    } catch (e) {
      return { status: 0, json: { transport: String(e) } as Record<string, unknown> };
    }
  };
  return {
    /** `POST /v1/delegate` with a client task id (0 = the call did not complete). */
    delegate: (id: string, task: string, extra: Record<string, unknown> = {}) =>
      call("POST", "/v1/delegate", {
        id,
        peer: mesh.peerName,
        task,
        cwd: mesh.plain,
        profile: "query",
        runner: "sh",
        timeout_s: 120,
        ...extra,
      }),
    /** The requester's view of a task, or null. */
    async state(id: string): Promise<string | null> {
      const r = await call("GET", `/v1/tasks/${id}`);
      return r.status === 200 ? (r.json as { task: { state: string } }).task.state : null;
    },
    call,
  };
}

/** `SELECT` rows from a database file (read-only; fine while a daemon runs, WAL). */
export function query<T>(path: string, sql: string, ...args: (string | number)[]): T[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return db.prepare(sql).all(...args) as T[];
  } finally {
    db.close();
  }
}

/** Live processes carrying one of `tokens` as `CMESH_RUN_ID` (pid and command). */
export async function processesOfRuns(tokens: Iterable<string>): Promise<string[]> {
  const wanted = new Set(tokens);
  const out: string[] = [];
  for (const row of await psRows()) {
    if (row.stat.startsWith("Z")) continue;
    const m = /(?:^|\s)CMESH_RUN_ID=(\S+)/.exec(row.argsAndEnv);
    if (m && wanted.has(m[1])) out.push(`${row.pid} ${row.argsAndEnv.slice(0, 80)}`);
  }
  return out;
}

/** Runs `cmesh audit verify` for a home: exit code and output. */
export async function auditVerify(home: string): Promise<{ code: number; text: string }> {
  const r = await runCmesh(["audit", "verify"], { CMESH_HOME: home });
  return { code: r.code, text: r.stdout + r.stderr };
}

/** Sleeps `ms`. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
