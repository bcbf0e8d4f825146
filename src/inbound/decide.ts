/**
 * @module
 * One inbound decision from a raw request: resolve the cwd (realpath), pick the default
 * runner, then ask the pure policy. Used by admission and by `cmesh policy explain`, so the
 * explanation is always the decision admission would make: both resolve the roots with
 * {@link resolveInboundRoots} and the cwd with `resolveCwd` in a process that may read the
 * whole path (the CLI, or the daemon's main thread on behalf of the sandboxed worker thread
 * through `worker/cwd_port.ts`).
 */
import { defaultRunnerFor } from "../policy/caller.ts";
import { type InboundDecision, inboundDecision } from "../policy/inbound.ts";
import type { CallerIdentity, InboundPolicyConfig } from "../policy/types.ts";
import {
  type CwdResolver,
  resolveCwd,
  type ResolvedCwd,
  resolveRoots,
  rootsCaseInsensitive,
} from "./cwd_resolve.ts";

/** What is asked, before any resolution. */
export interface RawInboundRequest {
  cwd: string;
  profile: string;
  runner?: string;
  promptBytes: number;
  timeoutS?: number;
}

/** The decision, with what was resolved on the way (for audit records and messages). */
export interface ResolvedDecision {
  decision: InboundDecision;
  runner: string;
  cwd: ResolvedCwd;
}

/** The canonical roots of every inbound rule and whether to fold case when comparing. */
export interface InboundRoots {
  rootsReal: (string | null)[][];
  caseInsensitive: boolean;
}

/**
 * Resolves the roots of `inbound.allow` the one way admission and `policy explain` both use.
 *
 * @example
 * ```ts
 * import { resolveInboundRoots } from "./decide.ts";
 * const { rootsReal } = await resolveInboundRoots({ inbound: { allow: [{ cwd: ["/tmp"] }] } });
 * ```
 */
export async function resolveInboundRoots(
  config: { inbound: { allow: readonly { cwd: readonly string[] }[] } },
): Promise<InboundRoots> {
  const rootsReal = await resolveRoots(config.inbound.allow);
  return { rootsReal, caseInsensitive: await rootsCaseInsensitive(rootsReal) };
}

/**
 * Resolves the request and decides it. `resolve` defaults to {@link resolveCwd} in this
 * thread; the sandboxed worker passes its port to the daemon's main thread (same function).
 */
export async function decideInbound(input: {
  config: InboundPolicyConfig;
  caller: CallerIdentity;
  request: RawInboundRequest;
  rootsReal: (string | null)[][];
  runnersAvailable: string[];
  caseInsensitive: boolean;
  resolve?: CwdResolver;
}): Promise<ResolvedDecision> {
  const { config, caller, request } = input;
  const cwd = await (input.resolve ?? resolveCwd)(request.cwd);
  const runner = request.runner ??
    defaultRunnerFor(caller, config.inbound.allow, input.runnersAvailable);
  const decision = inboundDecision({
    config,
    caller,
    request: {
      cwdReal: cwd.ok ? cwd.real : null,
      cwdRequested: request.cwd,
      cwdProblem: cwd.ok ? undefined : cwd.reason,
      profile: request.profile,
      runner,
      promptBytes: request.promptBytes,
      timeoutS: request.timeoutS,
    },
    rootsReal: input.rootsReal,
    runnersAvailable: input.runnersAvailable,
    caseInsensitive: input.caseInsensitive,
  });
  return { decision, runner, cwd };
}
