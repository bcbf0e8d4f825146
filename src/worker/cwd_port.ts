/**
 * @module
 * The narrow port through which the sandboxed worker thread asks the daemon's main thread to
 * resolve a requested cwd. The worker thread may read only its state dir and cwd roots, so it
 * cannot follow a symlink that leads *into* a root from outside (macOS `/tmp` →
 * `/private/tmp`, a symlinked home, `srv/link-to-app` → `app`); the main thread can, and it
 * answers with exactly what `resolveCwd` says there, which is also what `cmesh policy explain`
 * computes. The worker thread's read permissions stay as narrow as they were.
 *
 * What crosses the port: a path string in, `{ok, real}` or `{ok: false, reason}` out. No file
 * contents. Requests are bounded (path length, pending count) and time out; every failure is
 * a "could not be resolved" answer, which policy turns into a denial (fail closed).
 *
 * @example
 * ```ts
 * // worker thread
 * const port = new CwdPortClient((m) => self.postMessage(m));
 * self.onmessage = (e) => { if (isCwdResolveReply(e.data)) port.deliver(e.data); };
 * await port.resolve("/tmp/work");
 * // main thread
 * const worker = new Worker(new URL("./thread.ts", import.meta.url), { type: "module" });
 * worker.onmessage = async (e: MessageEvent) => {
 *   if (isCwdResolveRequest(e.data)) worker.postMessage(await answerCwdResolve(e.data));
 * };
 * ```
 */
import { type CwdResolver, resolveCwd, type ResolvedCwd } from "../inbound/cwd_resolve.ts";
import { PendingCalls } from "./pending_calls.ts";

/** Longest path the port forwards (longer ones are refused without asking). */
export const MAX_PORT_PATH = 4096;

/** Worker thread → main thread: resolve this path. */
export interface CwdResolveRequest {
  type: "cwd.resolve";
  id: number;
  path: string;
}

/** Main thread → worker thread: what `resolveCwd` said. */
export interface CwdResolveReply {
  type: "cwd.resolved";
  id: number;
  result: ResolvedCwd;
}

/** True for a well-formed {@link CwdResolveRequest}. */
export function isCwdResolveRequest(m: unknown): m is CwdResolveRequest {
  const r = m as Partial<CwdResolveRequest> | null;
  return typeof r === "object" && r !== null && r.type === "cwd.resolve" &&
    Number.isSafeInteger(r.id) && typeof r.path === "string";
}

/** True for a well-formed {@link CwdResolveReply}. */
export function isCwdResolveReply(m: unknown): m is CwdResolveReply {
  const r = m as Partial<CwdResolveReply> | null;
  return typeof r === "object" && r !== null && r.type === "cwd.resolved" &&
    Number.isSafeInteger(r.id) && typeof r.result === "object" && r.result !== null;
}

/** Main thread: answers one request with `resolve` (default {@link resolveCwd}). */
export async function answerCwdResolve(
  req: CwdResolveRequest,
  resolve: CwdResolver = resolveCwd,
): Promise<CwdResolveReply> {
  if (req.path.length > MAX_PORT_PATH) {
    return { type: "cwd.resolved", id: req.id, result: { ok: false, reason: "is too long" } };
  }
  let result: ResolvedCwd;
  try {
    result = await resolve(req.path);
  } catch {
    result = { ok: false, reason: "could not be resolved" };
  }
  return { type: "cwd.resolved", id: req.id, result };
}

/** Limits of {@link CwdPortClient}. */
export interface CwdPortOptions {
  /** How long to wait for the main thread. Default 5000 ms. */
  timeoutMs?: number;
  /** Most requests in flight; more are refused at once. Default 64. */
  maxPending?: number;
}

/** Worker thread: a {@link CwdResolver} that asks the main thread and fails closed. */
export class CwdPortClient {
  readonly #post: (m: CwdResolveRequest) => void;
  readonly #calls: PendingCalls<ResolvedCwd>;

  constructor(post: (m: CwdResolveRequest) => void, opts: CwdPortOptions = {}) {
    this.#post = post;
    this.#calls = new PendingCalls({
      timeoutMs: opts.timeoutMs ?? 5000,
      maxPending: opts.maxPending ?? 64,
    });
  }

  /** Resolves `path` through the main thread. Never throws. */
  readonly resolve: CwdResolver = (path) => {
    if (path.length > MAX_PORT_PATH) {
      return Promise.resolve({ ok: false, reason: "is too long" });
    }
    return this.#calls.call(
      (id) => this.#post({ type: "cwd.resolve", id, path }),
      { ok: false, reason: "could not be resolved (the daemon did not answer)" },
      { ok: false, reason: "could not be resolved now (too many cwd checks in flight; retry)" },
    );
  };

  /** Hands a reply from the main thread to its waiting request (unknown ids are ignored). */
  deliver(reply: CwdResolveReply): void {
    const r = reply.result;
    const valid = r.ok === true
      ? typeof (r as { real?: unknown }).real === "string"
      : typeof (r as { reason?: unknown }).reason === "string";
    this.#calls.deliver(reply.id, valid ? r : { ok: false, reason: "could not be resolved" });
  }

  /** Requests waiting for an answer. */
  get pending(): number {
    return this.#calls.size;
  }
}
