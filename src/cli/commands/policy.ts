/**
 * @module
 * `cmesh policy explain`: what this node's inbound policy would decide for a caller and a
 * request, with the rule and the reason, without running anything. Tailscale grants are
 * evaluated when `--cap` gives the capability values the caller would carry.
 */
import { currentPaths } from "../../config/paths.ts";
import type { CallerIdentity } from "../../policy/types.ts";
import { resolveRunners } from "../../runner/runtime.ts";
import { decideInbound, resolveInboundRoots } from "../../inbound/decide.ts";
import { loadConfigFor } from "../context.ts";
import { CliError, type CommonOptions, emit, EXIT, style } from "../output.ts";

/** Options of `cmesh policy explain`. */
export interface ExplainOptions extends CommonOptions {
  peer: string;
  cwd: string;
  profile: string;
  runner?: string;
  login?: string;
  tag?: string[];
  cap?: string;
}

/** Runs `cmesh policy explain`; exits 3 when the decision is a deny. */
export async function policyExplain(opts: ExplainOptions): Promise<void> {
  const { config } = await loadConfigFor(opts);
  let capValues: unknown[] = [];
  if (opts.cap !== undefined) {
    try {
      const v = JSON.parse(opts.cap);
      capValues = Array.isArray(v) ? v : [v];
    } catch (e) {
      throw new CliError(
        `--cap must be JSON (a grant value or an array of them): ${(e as Error).message}`,
        EXIT.USAGE,
        "usage",
      );
    }
  }
  const tags = opts.tag ?? [];
  const caller: CallerIdentity = {
    node: opts.peer.toLowerCase(),
    dnsName: opts.peer.toLowerCase(),
    stableId: `explain:${opts.peer}`,
    login: tags.length ? null : opts.login ?? null,
    tags,
    capMap: config.tailscale.app_capability && opts.cap !== undefined
      ? { [config.tailscale.app_capability]: capValues }
      : {},
  };
  const runtime = await resolveRunners(config, {
    runnersDir: currentPaths().runnersDir,
    pathEnv: Deno.env.get("PATH") ?? "",
  });
  const runnersAvailable = runtime.available.map((r) => r.name);
  const { rootsReal, caseInsensitive } = await resolveInboundRoots(config);
  // The same decision admission makes (cwd resolved by resolveCwd, like the daemon does for
  // its sandboxed worker thread).
  const { decision, runner, cwd } = await decideInbound({
    config,
    caller,
    request: { cwd: opts.cwd, profile: opts.profile, runner: opts.runner, promptBytes: 0 },
    rootsReal,
    runnersAvailable,
    caseInsensitive,
  });
  const value = {
    caller: { node: caller.node, login: caller.login, tags },
    request: { cwd: opts.cwd, cwd_real: cwd.ok ? cwd.real : null, profile: opts.profile, runner },
    decision,
    runners_available: runnersAvailable,
  };
  emit(opts, value, () =>
    [
      `${decision.allow ? style("ALLOW", "green") : style("DENY", "red")}  rule ${decision.rule}`,
      `  ${decision.reason}`,
      ...(!decision.allow && decision.hint ? [`  hint: ${decision.hint}`] : []),
      `  (caller ${caller.node}${caller.login ? ` login ${caller.login}` : ""}${
        tags.length ? ` tags ${tags.join(",")}` : ""
      }; runner ${runner}; nothing was run)`,
    ].join("\n"));
  if (!decision.allow) Deno.exitCode = EXIT.DENIED;
}
