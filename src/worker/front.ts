/**
 * @module
 * The worker thread's HTTP front: the caller-scoped task operations (`tasks.ts`), the rate-limited
 * audit of front-door refusals and the Hono app with its guards (`app.ts`). `thread.ts` imports
 * this module at the first request, not at start: an idle worker does not hold the front (nor zod,
 * hono and the schemas it validates requests with) in memory.
 *
 * @example
 * ```ts
 * import { createFront, type FrontDeps } from "./front.ts";
 * declare const deps: FrontDeps;
 * const front = createFront(deps);
 * Deno.serve((req, info) => front.fetch(req, info.remoteAddr as Deno.NetAddr));
 * ```
 */
import { createWorkerApp } from "./app.ts";
import { RateLimitedAudit } from "./guards/audit_limit.ts";
import type { NodeHosts } from "./guards/node_hosts.ts";
import type { IdentityLookup } from "./ports.ts";
import { createWorkerTasks, type WorkerTasksDeps } from "./tasks.ts";

/** What the front needs: the tasks' dependencies and how callers are identified. */
export interface FrontDeps extends WorkerTasksDeps {
  identity: IdentityLookup;
  hosts: NodeHosts;
  /** Loopback sources are callers too (userspace networking, demo, local-only). */
  allowLoopback: boolean;
  maxBodyBytes: number;
}

/** A built front. */
export interface Front {
  fetch(req: Request, remoteAddr: Deno.NetAddr): Response | Promise<Response>;
  /** Ends the event streams and stops the periodic audit flush (the daemon is stopping). */
  stop(): void;
}

/** Builds the front (the audit of refusals flushed every minute). */
export function createFront(deps: FrontDeps): Front {
  const tasks = createWorkerTasks(deps);
  const frontAudit = new RateLimitedAudit(tasks);
  const flushAudit = setInterval(() => frontAudit.flush(), 60_000);
  const closing = new AbortController();
  const app = createWorkerApp({
    tasks,
    identity: deps.identity,
    hosts: deps.hosts,
    frontAudit,
    source: { allowLoopback: deps.allowLoopback },
    maxBodyBytes: deps.maxBodyBytes,
    closing: closing.signal,
  });
  return {
    fetch: (req, remoteAddr) => app.fetch(req, { remoteAddr }),
    stop: () => {
      closing.abort();
      clearInterval(flushAudit);
    },
  };
}
