/**
 * @module
 * One run from start to finish: git snapshot before → supervise the runner (stream its
 * output through the manifest's parser into events) → git evidence after → a terminal
 * {@link RunOutcome} with the runner's claims kept apart from the worker's evidence.
 *
 * Exit 0 without a result line is not success: the parser decides, the exit code alone never
 * does.
 */
import type { Evidence } from "../protocol/task.ts";
import { readCodexTranscriptDenials } from "./codex_transcript.ts";
import { withCredentialHint } from "./credential_hint.ts";
import {
  collectGitEvidence,
  concludeInRunSnapshot,
  gitSnapshotWithReason,
  inRunSnapshot,
  readOnlyGitEvidence,
} from "./evidence.ts";
import { watchForGiveUp } from "./give_up.ts";
import type { RunnerManifest } from "./manifest.ts";
import { createParser } from "./parsers/mod.ts";
import type { RunSandbox } from "./sandbox/mod.ts";
import type { WarmStart } from "./sandbox/warm.ts";
import { logger } from "../util/log.ts";
import { dirname } from "node:path";
import { pathExists } from "../util/path_exists.ts";
import { RUN_TOKEN_ENV } from "./process_list.ts";
import { superviseRun } from "./supervisor.ts";
import type { Invocation, RunLimits, RunnerEvent, RunOutcome } from "./types.ts";

const log = logger("runner");

/** Tools the run needs, resolved once at start-up (absolute paths). */
export interface RunTools {
  gitBin: string | null;
  killBin: string;
  psBin: string;
}

/** Inputs of {@link executeRun}. */
export interface ExecuteRunInput {
  invocation: Invocation;
  manifest: RunnerManifest;
  limits: RunLimits;
  runToken: string;
  tools: RunTools;
  /** Receives parsed events in order. */
  onEvent(ev: RunnerEvent): void;
  /** Aborting cancels the run (the manifest's signal sequence, whole tree). */
  signal?: AbortSignal;
  /** The run's sandbox (prepared by the caller, who also cleans it up); null: unsandboxed. */
  sandbox?: RunSandbox | null;
  /** Sandboxes started ahead (`sandbox/warm.ts`); absent: every start is cold. */
  warm?: RunWarmStarts;
  /**
   * The work tree's top above the cwd ({@link workTreeTop}), asked by the caller ahead so the look
   * overlaps its own set-up; absent: asked here. Only a sandboxed run uses it.
   */
  repoTop?: Promise<string | null>;
}

/** The warm sandboxes a run may use. */
export interface RunWarmStarts {
  /** The runner's own sandbox, started ahead with the run's token and run dir; null: none. */
  runner: WarmStart | null;
  /**
   * The git sandbox waiting for `key` (over work tree `repoTop`), or null; asking also tells the
   * caller git is wanted there again.
   */
  git(key: string, repoTop: string): WarmStart | null;
}

/** Runs one task's runner and concludes it. Never throws for runner failures. */
export async function executeRun(input: ExecuteRunInput): Promise<RunOutcome> {
  const { manifest, tools } = input;
  const sandbox = input.sandbox ?? null;
  const cwd = input.invocation.cwd;
  const env = sandbox === null ? input.invocation.env : { ...input.invocation.env, ...sandbox.env };
  const gitEnv = { PATH: env.PATH ?? "/usr/bin:/bin", HOME: env.HOME ?? "/" };
  // In the sandbox git sees only what is bound: the cwd, or the work tree's top above it. With
  // no `.git` there no probe is started (each one is a sandbox start).
  const repoTop = sandbox === null ? null : await (input.repoTop ?? workTreeTop(cwd));
  const git = tools.gitBin && (sandbox === null || repoTop !== null)
    ? (sandbox === null ? tools.gitBin : {
      gitBin: tools.gitBin,
      wrap: (argv: string[]) => sandbox.wrapGit(argv, repoTop!),
      ...(sandbox.gitStdin ? { stdin: sandbox.gitStdin } : {}),
      warm: () => {
        const keys = sandbox.warm;
        return keys && input.warm ? input.warm.git(keys.gitKey(repoTop!), repoTop!) : null;
      },
    })
    : null;
  // A read-only cwd (the sandbox binds a `query` run's so) cannot change during the run: its
  // whole git evidence is taken while the runner runs (measured: on two cores this beats taking
  // it in the run's own start, before the runner). A work tree whose top is the cwd is bound in
  // the run's own sandbox: the before snapshot is taken there, just before the runner is exec'd,
  // instead of in a sandbox start of its own.
  const readOnly = sandbox !== null && !sandbox.spec.cwdWritable;
  const alongside = git && readOnly ? readOnlyGitEvidence(cwd, git, gitEnv) : null;
  const inRun = !readOnly && sandbox !== null && tools.gitBin && repoTop === cwd
    ? inRunSnapshot(tools.gitBin, gitEnv, [...Object.keys(env), RUN_TOKEN_ENV])
    : null;
  const command = inRun ? [...inRun.prefix, ...input.invocation.argv] : input.invocation.argv;
  const invocation = sandbox === null
    ? input.invocation
    : { ...input.invocation, argv: sandbox.wrap(command), env };
  const warmRunner = sandbox !== null ? input.warm?.runner ?? null : null;
  const before = git && !inRun && !alongside ? await gitSnapshotWithReason(cwd, git, gitEnv) : null;
  const watch = watchForGiveUp(createParser(manifest.output), input.signal);
  const parser = watch.parser;
  let run;
  try {
    run = await superviseRun(invocation, input.limits, {
      runToken: input.runToken,
      onStdoutLine: (line) => {
        for (const ev of parser.feedLine(line)) input.onEvent(ev);
      },
      signal: watch.signal,
      cancelSignals: manifest.cancel.signals,
      graceMs: manifest.cancel.grace_ms,
      killBin: tools.killBin,
      psBin: tools.psBin,
      sandboxed: sandbox?.kind === "bwrap",
      preamble: inRun?.preamble,
      ...(warmRunner ? { warm: { start: warmRunner, command: sandbox!.inner(command) } } : {}),
    });
    if (run.warm?.ok === false) log.debug("cold start: {reason}", { reason: run.warm.reason });
  } catch (e) {
    return {
      state: "failed",
      claims: { final_text: null, session_id: null },
      evidence: {
        exit_code: null,
        signal: null,
        duration_ms: 0,
        git: null,
        usage: { input_tokens: null, output_tokens: null, cost_usd: null },
        permission_denials: [],
        truncated: { stdout: false, stderr: false },
        stderr_tail: "",
      },
      error: {
        code: "runner_spawn_failed",
        message: `could not start runner ${manifest.name}: ${(e as Error).message}`,
      },
    };
  }
  // The output cap may have dropped the final result line; the supervisor keeps the last one.
  if (run.truncated.stdout && run.lastStdoutLine) {
    for (const ev of parser.feedLine(run.lastStdoutLine)) input.onEvent(ev);
  }
  const parsed = parser.finish({ code: run.code, signal: run.signal });
  if (manifest.output === "codex-jsonl") {
    // Codex leaves sandbox-blocked commands and rejected patches out of its JSONL; its own
    // transcript has them (see codex_transcript.ts).
    const denials = await codexDenials(invocation, manifest, parsed.claims.session_id);
    if (denials !== null) {
      // A command the parser already reported from the JSONL (it hit "Read-only file system")
      // is not announced twice; the transcript's list still replaces the parser's.
      const seen = parsed.denials.map((d) => d.detail);
      const already = (d: { detail: string }) => {
        const cmd = d.detail.split(": blocked by the sandbox")[0];
        return d.detail !== cmd && seen.some((s) => s.includes(cmd));
      };
      parsed.denials = denials;
      for (const d of denials) {
        if (already(d)) continue;
        input.onEvent({ kind: "denial", text: `${d.tool}: ${d.detail}`, data: { ...d } });
      }
    }
  }
  const beforeSnapshot = inRun
    ? concludeInRunSnapshot(inRun, run.preamble).snapshot
    : before?.snapshot;
  const gitEvidence = alongside
    ? (await alongside).git
    : git && beforeSnapshot
    ? (await collectGitEvidence(cwd, beforeSnapshot, git, gitEnv)).git
    : null;
  const evidence: Evidence = {
    exit_code: run.code,
    signal: run.signal,
    duration_ms: Math.round(run.durationMs),
    git: gitEvidence,
    usage: parsed.usage,
    permission_denials: parsed.denials,
    truncated: run.truncated,
    stderr_tail: run.stderrTail,
  };
  const gaveUp = watch.verdict();
  if (gaveUp !== null) return { state: "failed", claims: parsed.claims, evidence, error: gaveUp };
  if (run.cancelled) {
    return {
      state: "cancelled",
      claims: parsed.claims,
      evidence,
      error: {
        code: "cancelled",
        message: "the task was cancelled; the runner's process tree was stopped",
      },
    };
  }
  if (run.timedOut) {
    return {
      state: "timed_out",
      claims: parsed.claims,
      evidence,
      error: {
        code: "timed_out",
        message: `the runner exceeded its ${
          Math.round(input.limits.timeoutMs / 1000)
        }s timeout and was stopped; give a larger timeout or a smaller task`,
      },
    };
  }
  if (parsed.success) return { state: "succeeded", claims: parsed.claims, evidence, error: null };
  return {
    state: "failed",
    claims: parsed.claims,
    evidence,
    error: withCredentialHint(
      parsed.error ??
        {
          code: "runner_failed",
          message: `the runner ended without a result (exit ${run.code ?? run.signal})`,
        },
      manifest,
      invocation.env,
    ),
  };
}

/** Denials from the Codex transcript of this run's thread, or null when it cannot be read. */
async function codexDenials(
  invocation: Invocation,
  manifest: RunnerManifest,
  threadId: string | null,
) {
  if (threadId === null) return null;
  const home = (manifest.state_dir_env ? invocation.env[manifest.state_dir_env] : undefined) ??
    invocation.env.CODEX_HOME ??
    (invocation.env.HOME ? `${invocation.env.HOME}/.codex` : undefined);
  if (!home) return null;
  return await readCodexTranscriptDenials(home, threadId).catch(() => null);
}

/**
 * The nearest directory at or above `cwd` holding `.git`, or null. In the worker thread only its
 * cwd roots can be looked at (elsewhere the check sees nothing), so the top found lies inside them.
 *
 * @example
 * ```ts
 * const top = await workTreeTop("/srv/app/src"); // "/srv/app" when /srv/app/.git exists
 * ```
 */
export async function workTreeTop(cwd: string): Promise<string | null> {
  // Asynchronous on purpose: the cwd may be on a network mount that hangs, and a synchronous
  // stat would stop the worker thread (and the tailnet-facing server in it) with it.
  for (let dir = cwd;; dir = dirname(dir)) {
    if (await pathExists(`${dir}/.git`)) return dir;
    if (dir === dirname(dir)) return null;
  }
}
