/**
 * @module
 * Starts the sandboxed worker (a Deno Web Worker with narrowed permissions) and waits until it
 * listens, or reports why it could not. This thread answers what the worker thread may not do
 * itself: resolving cwds (`worker/cwd_port.ts`), on the tailnet who is calling
 * (`worker/identity_port.ts`), and writing its log records (`worker/log_port.ts`).
 */
import { answerCwdResolve, isCwdResolveRequest } from "../worker/cwd_port.ts";
import { answerWhois, isWhoisRequest, type SelfRelay } from "../worker/identity_port.ts";
import { boundedThreadLog, isThreadLog } from "../worker/log_port.ts";
import type { IdentityLookup } from "../worker/ports.ts";
import { emitLog } from "../util/log.ts";
import type { WorkerInit, WorkerReport } from "../worker/thread.ts";
import type { WorkerPermissions } from "./worker_permissions.ts";

/** A running worker. */
export interface RunningWorker {
  listening: string[];
  recovered: { interrupted: string[]; requeued: string[] };
  /** Stops serving, interrupts running tasks (stored as `interrupted`), then terminates. */
  stop(timeoutMs?: number): Promise<void>;
}

/** The tailnet identity the worker thread asks, and where its node names are relayed from. */
export interface WorkerIdentity {
  lookup: IdentityLookup;
  /** Its latest names go into the init; every later change is posted to the worker thread. */
  relay: SelfRelay;
}

/** Spawns the worker thread and initialises it. Rejects with the worker's error. */
export function startWorker(
  init: WorkerInit,
  permissions: WorkerPermissions,
  opts: { identity?: WorkerIdentity; timeoutMs?: number } = {},
): Promise<RunningWorker> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const identity = opts.identity;
  const worker = new Worker(new URL("../worker/thread.ts", import.meta.url), {
    type: "module",
    name: "cmesh-worker",
    deno: { permissions },
  });
  // The worker thread asks this (unsandboxed) thread to resolve cwds, before and after ready.
  let onReport: (msg: WorkerReport) => void = () => {};
  worker.onmessage = (e: MessageEvent<unknown>) => {
    const msg = e.data;
    if (isThreadLog(msg)) {
      const { level, category, message, props } = boundedThreadLog(msg);
      emitLog(level, category, message, props);
      return;
    }
    if (isCwdResolveRequest(msg)) {
      answerCwdResolve(msg).then((reply) => worker.postMessage(reply), () => {});
      return;
    }
    if (isWhoisRequest(msg)) {
      // Without a tailnet identity (demo, local-only) the worker thread never asks: refuse.
      const lookup: IdentityLookup = identity?.lookup ?? {
        whois: () =>
          Promise.resolve({ ok: false, code: "unavailable", reason: "no tailnet identity" }),
      };
      answerWhois(msg, lookup).then((reply) => worker.postMessage(reply), () => {});
      return;
    }
    onReport(msg as WorkerReport);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      worker.terminate();
      reject(new Error(`the worker did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    worker.onerror = (e) => {
      e.preventDefault();
      clearTimeout(timer);
      worker.terminate();
      reject(new Error(`worker failed: ${e.message}`));
    };
    onReport = (msg) => {
      if (msg.type === "error") {
        clearTimeout(timer);
        worker.terminate();
        reject(new Error(msg.message));
      } else if (msg.type === "ready") {
        clearTimeout(timer);
        resolve({
          listening: msg.listening,
          recovered: msg.recovered,
          stop(stopTimeoutMs = 15_000) {
            return new Promise<void>((done) => {
              const t = setTimeout(() => {
                worker.terminate();
                done();
              }, stopTimeoutMs);
              onReport = (report) => {
                if (report.type === "stopped" || report.type === "error") {
                  clearTimeout(t);
                  worker.terminate();
                  done();
                }
              };
              worker.postMessage({ type: "shutdown" });
            });
          },
        });
      }
    };
    // The names as they are now go with the init; a change after this line is posted (the
    // thread keeps one that arrives before its start finished).
    worker.postMessage(identity ? { ...init, self: identity.relay.latest } : init);
    identity?.relay.attach((m) => worker.postMessage(m));
  });
}
