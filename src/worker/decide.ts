/**
 * @module
 * One inbound decision from a raw request: resolve the cwd (realpath), pick the default
 * runner, then ask the pure policy. Used by admission and by `cmesh policy explain`, so the
 * explanation is always the decision admission would make.
 */
import { defaultRunnerFor } from "../policy/caller.ts";
import { type InboundDecision, inboundDecision } from "../policy/inbound.ts";
import type { CallerIdentity, InboundPolicyConfig } from "../policy/types.ts";
import { resolveCwd, type ResolvedCwd } from "./cwd_resolve.ts";

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

/** Resolves the request and decides it. */
export async function decideInbound(input: {
  config: InboundPolicyConfig;
  caller: CallerIdentity;
  request: RawInboundRequest;
  rootsReal: (string | null)[][];
  runnersAvailable: string[];
  caseInsensitive: boolean;
}): Promise<ResolvedDecision> {
  const { config, caller, request } = input;
  const cwd = await resolveCwd(request.cwd);
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
