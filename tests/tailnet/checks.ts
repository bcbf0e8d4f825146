/**
 * @module
 * Helpers of the real-tailnet test steps: curl from a namespace, `cmesh delegate` from a node,
 * audit look-ups on the server, and messages for failed assertions.
 *
 * @example
 * ```ts
 * import { curl, show } from "./checks.ts";
 * const r = await curl("cmtn-x-hub", "GET", "http://100.64.0.2:7433/v1/hello", { maxTimeS: 5 });
 * console.log(show(r));
 * ```
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { curlFrom } from "../support/netns.ts";
import type { AuditRow, CmeshRun, Role, TailnetWorld } from "./world.ts";

/** An HTTP exchange made with curl from inside a namespace. */
export interface Curl {
  /** curl's exit code: 0 answer, 7 connection refused, 28 timeout. */
  exit: number;
  status: number;
  body: { error?: { code?: string; message?: string; rule?: string } } & Record<string, unknown>;
  stderr: string;
}

/**
 * One HTTP request with curl from inside namespace `ns` (a real kernel source address), by
 * `curlFrom` of `tests/support/netns.ts`; a body that is not JSON is `{}`.
 */
export async function curl(
  ns: string,
  method: string,
  url: string,
  opts: { json?: unknown; maxTimeS?: number; sourceIp?: string } = {},
): Promise<Curl> {
  const r = await curlFrom(ns, method, url, opts);
  return {
    exit: r.curlExit,
    status: r.status,
    body: (r.json ?? {}) as Curl["body"],
    stderr: r.stderr,
  };
}

/** Describes a CLI run or curl exchange for an assertion message. */
export const show = (r: CmeshRun | Curl) =>
  "json" in r
    ? `exit ${r.code}\nstdout: ${r.stdout.slice(0, 1500)}\nstderr: ${r.stderr.slice(-1500)}`
    : `curl exit ${r.exit}, HTTP ${r.status}: ${JSON.stringify(r.body)} ${r.stderr}`;

/** The `{error}` of a CLI run's JSON output. */
export function errorOf(r: CmeshRun): { code?: string; message?: string; rule?: string } {
  return (r.json?.error ?? {}) as { code?: string; message?: string; rule?: string };
}

/** SHA-256 of a file, hex. */
export async function sha256(path: string): Promise<string> {
  return createHash("sha256").update(await Deno.readFile(path)).digest("hex");
}

/** `cmesh delegate server <prompt> --cwd <repo> --profile <p> --runner demo --wait --json` from `from`. */
export function delegate(w: TailnetWorld, from: Role, profile: string, prompt: string) {
  return w.cmesh(
    from,
    "delegate",
    "server",
    prompt,
    "--cwd",
    w.repo,
    "--profile",
    profile,
    "--runner",
    "demo",
    "--wait",
    "--json",
  );
}

/** The worker's decision record for a task. */
export async function decisionOf(w: TailnetWorld, taskId: string): Promise<AuditRow> {
  const rec = (await w.audit("server")).find((r) =>
    r.kind === "task.decision" && r.task_id === taskId
  );
  assert.ok(rec, `the server has no task.decision audit record for ${taskId}`);
  return rec;
}

/** Server audit records whose source is `ip` (any kind). */
export async function recordsFrom(w: TailnetWorld, ip: string): Promise<AuditRow[]> {
  return (await w.audit("server")).filter((r) => r.actor?.source_ip === ip);
}

/** The task id the laptop's daemon gave a denied delegation (from the CLI's JSON error). */
export function deniedTaskId(r: CmeshRun): string {
  const task = (r.json?.error as { task?: { id?: string } } | undefined)?.task;
  assert.ok(task?.id, `the denial names no task: ${show(r)}`);
  return task.id;
}
