/**
 * @module
 * Shared set-up of the tests that drive the **real** Claude Code and Codex CLIs through cmesh's
 * runner path against the scripted fake model server (`tests/support/fake_model/`).
 *
 * Each run gets its own fake server, a fresh git repository as cwd (holding `notes.txt`), a
 * private CLI state dir and an empty HOME, all under `/var/tmp` (codex does not create its
 * helper aliases under `/tmp`; an empty HOME keeps the machine's `~/.bashrc` out of codex's
 * commands). The runner is configured exactly as a user would in `config.toml`:
 *
 * ```toml
 * [runners.claude]
 * env = { ANTHROPIC_BASE_URL = "http://127.0.0.1:PORT", ANTHROPIC_API_KEY = "sk-ant-fake" }
 * [runners.codex]
 * args = ["-c", "model_provider=fake", "-c", "model_providers.fake={…,request_max_retries=0,stream_max_retries=0}", "-m", "gpt-5.5"]
 * env = { FAKE_MODEL_API_KEY = "sk-fake" }
 * ```
 *
 * and that config goes through `parseConfigText` → `resolveRunners` → `buildInvocation` (as the
 * scheduler's executor does) → `executeRun`, inside the run's OS sandbox (bubblewrap on Linux,
 * built by `prepareRunSandbox` as the executor does), with the runner's own egress, `model`:
 * the fake model on the host's 127.0.0.1 is reachable only because the config names it (its
 * base URL), through the daemon-side egress proxy, as the executor sets it up.
 *
 * The CLIs are installed by `.ci/run` (pinned versions). Tests skip, with a message, only when
 * a binary is missing from PATH.
 */
import { parseConfigText } from "../../src/config/load.ts";
import type { TaskEvent } from "../../src/protocol/task.ts";
import { buildInvocation } from "../../src/runner/invocation.ts";
import type { RunnerManifest } from "../../src/runner/manifest.ts";
import { resolveBinary } from "../../src/runner/probe.ts";
import { newRunToken, resolveProcessTools, RUN_TOKEN_ENV } from "../../src/runner/process_list.ts";
import { executeRun, type RunTools } from "../../src/runner/run.ts";
import { type ResolvedRunner, resolveRunners } from "../../src/runner/runtime.ts";
import type { Invocation, RunnerEvent, RunOutcome } from "../../src/runner/types.ts";
import { probeSandbox } from "../../src/runner/sandbox/availability.ts";
import { hostLayout, installPathsOf } from "../../src/runner/sandbox/host.ts";
import { prepareRunSandbox, type SandboxSettings } from "../../src/runner/sandbox/mod.ts";
import { EtcMirror } from "../../src/runner/sandbox/etc_mirror.ts";
import { EgressRuntime, type TaskEgress } from "../../src/runner/sandbox/egress/run_egress.ts";
import { egressInit } from "../../src/runner/sandbox/egress/slots.ts";
import type { EgressRecord, EgressSummary } from "../../src/runner/sandbox/egress/proxy.ts";
import type { Destination } from "../../src/util/destination.ts";
import { type ConfigInput, configToml } from "../support/daemon.ts";
import { type FakeModel, startFakeModel } from "../support/fake_model/server.ts";

/** The runners under test. */
export type RealRunner = "claude" | "codex";

/** The versions `.ci/run` installs (informational: tests print what they found). */
export const PINNED = { claude: "2.1.197", codex: "0.171.0" } as const;

/** The content of `notes.txt` in every work dir. */
export const NOTES = "secret-content-42";

/** The env var holding the fake Codex provider's key (set through `runners.codex.env`). */
export const FAKE_KEY_ENV = "FAKE_MODEL_API_KEY";

const SCRIPTS = new URL("../testdata/fake_model/", import.meta.url);

/** Absolute path of a CLI on PATH, or null. */
async function findOnPath(name: string): Promise<string | null> {
  try {
    return await resolveBinary(name, Deno.env.get("PATH") ?? "", { runner: name });
  } catch {
    return null;
  }
}

/** Where each CLI is (null: missing). */
export const CLI_PATHS: Record<RealRunner, string | null> = {
  claude: await findOnPath("claude"),
  codex: await findOnPath("codex"),
};

/**
 * Test options for a runner: `ignore` (with a printed reason) when its binary is missing.
 * `.ci/run` installs both, so in CI nothing is skipped.
 */
export function requireCli(runner: RealRunner): { ignore: boolean } {
  if (CLI_PATHS[runner] === null && !warned.has(runner)) {
    warned.add(runner);
    const pkg = runner === "claude" ? "@anthropic-ai/claude-code" : "@openai/codex";
    console.warn(
      `runners_real: SKIPPING ${runner} tests: '${runner}' is not on PATH ` +
        `(.ci/run installs ${pkg}@${PINNED[runner]}; run it or npm i -g ${pkg}@${PINNED[runner]})`,
    );
  }
  return { ignore: CLI_PATHS[runner] === null };
}
const warned = new Set<RealRunner>();

const { killBin, psBin } = resolveProcessTools();
const gitBin = await findOnPath("git");

/** The tools executeRun needs. */
export const TOOLS: RunTools = { gitBin, killBin, psBin };

const HOST = await hostLayout();
const ETC_MIRROR_DIR = await Deno.makeTempDir({ prefix: "cmesh-real-etc-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ETC_MIRROR_DIR, { recursive: true }));

/**
 * The node's sandbox as the daemon resolves it (required; fails the run when unusable), with
 * `/etc` through the worker's mirror (`runner/sandbox/etc_mirror.ts`).
 */
export const SANDBOX: SandboxSettings = {
  mode: "required",
  availability: await probeSandbox(),
  host: HOST,
  etcMirror: new EtcMirror(`${ETC_MIRROR_DIR}/etc`, HOST.etc),
};

/** Directories of one run. */
export interface RunDirs {
  root: string;
  /** The cwd: a git repo with one commit holding `notes.txt`. */
  work: string;
  /** `CLAUDE_CONFIG_DIR` / `CODEX_HOME`. */
  state: string;
  /** An empty HOME. */
  home: string;
}

async function git(cwd: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command(gitBin ?? "git", {
    args,
    cwd,
    env: {
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@example.invalid",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@example.invalid",
      GIT_CONFIG_NOSYSTEM: "1",
      HOME: cwd,
    },
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Makes the directories of one run (under /var/tmp, never /tmp). */
export async function makeRunDirs(): Promise<RunDirs> {
  const root = await Deno.realPath(
    await Deno.makeTempDir({ dir: "/var/tmp", prefix: "cmesh-runners-real-" }),
  );
  const dirs = { root, work: `${root}/work`, state: `${root}/state`, home: `${root}/home` };
  for (const d of [dirs.work, dirs.state, dirs.home]) await Deno.mkdir(d, { mode: 0o700 });
  await Deno.writeTextFile(`${dirs.work}/notes.txt`, `${NOTES}\n`);
  await git(dirs.work, "init", "-q", "-b", "main");
  await git(dirs.work, "add", "notes.txt");
  await git(dirs.work, "commit", "-q", "-m", "notes");
  return dirs;
}

/** The `[runners]` tables a user would write to point the runners at the fake server. */
export function fakeModelRunners(fakeUrl: string): NonNullable<ConfigInput["runners"]> {
  const provider =
    `{name="fake",base_url="${fakeUrl}/v1",wire_api="responses",env_key="${FAKE_KEY_ENV}",request_max_retries=0,stream_max_retries=0}`;
  return {
    claude: { env: { ANTHROPIC_BASE_URL: fakeUrl, ANTHROPIC_API_KEY: "sk-ant-fake" } },
    codex: {
      args: [
        "-c",
        "model_provider=fake",
        "-c",
        `model_providers.fake=${provider}`,
        "-m",
        "gpt-5.5",
      ],
      env: { [FAKE_KEY_ENV]: "sk-fake" },
    },
  };
}

/** The resolved runner as the daemon would see it with {@link fakeModelRunners}. */
export async function resolveRealRunner(
  runner: RealRunner,
  fakeUrl: string,
): Promise<ResolvedRunner> {
  const config = parseConfigText(
    configToml({ runners: fakeModelRunners(fakeUrl) }),
    "runners_real config.toml",
  );
  const runtime = await resolveRunners(config, { pathEnv: Deno.env.get("PATH") ?? "" });
  const found = runtime.available.find((r) => r.name === runner);
  if (!found) {
    throw new Error(`runner ${runner} unavailable: ${JSON.stringify(runtime.unavailable)}`);
  }
  return found;
}

/** Everything one prepared run needs. */
export interface PreparedRun {
  runner: ResolvedRunner;
  fake: FakeModel;
  dirs: RunDirs;
  invocation: Invocation;
  /** The daemon environment the invocation was built from. */
  daemonEnv: Record<string, string>;
  token: string;
  /** Stops the fake server and removes the directories. */
  cleanup(): Promise<void>;
}

/** Options of {@link prepareRun}. */
export interface PrepareOptions {
  runner: RealRunner;
  profile: string;
  /** A file in `tests/testdata/fake_model/`. */
  script: string;
  prompt?: string;
  /** Replace the manifest (e.g. a different cancel sequence). */
  manifest?: (m: RunnerManifest) => RunnerManifest;
  /** Adds files to the work dir before the run (e.g. a repository's own agent config). */
  prepareWork?: (dirs: RunDirs) => Promise<void>;
}

/**
 * Starts a fake server with `script`, makes the dirs, and builds the invocation exactly as the
 * executor does (config extras, state dir, a daemon env of PATH, an empty HOME and LANG).
 */
export async function prepareRun(opts: PrepareOptions): Promise<PreparedRun> {
  const dirs = await makeRunDirs();
  await opts.prepareWork?.(dirs);
  const fake = await startFakeModel({
    script: new URL(opts.script, SCRIPTS),
    vars: { workdir: dirs.work },
  });
  try {
    const resolved = await resolveRealRunner(opts.runner, fake.url);
    const runner = opts.manifest
      ? { ...resolved, manifest: opts.manifest(resolved.manifest) }
      : resolved;
    const daemonEnv = {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: dirs.home,
      LANG: "C.UTF-8",
    };
    const invocation = buildInvocation({
      manifest: runner.manifest,
      profile: opts.profile,
      prompt: opts.prompt ?? "Follow the scripted plan.",
      cwd: dirs.work,
      resolvedBinary: runner.binary,
      env: daemonEnv,
      extraArgs: runner.args,
      extraEnv: { pass: runner.envPass, set: runner.envSet },
      stateDir: dirs.state,
    });
    return {
      runner,
      fake,
      dirs,
      invocation,
      daemonEnv,
      token: newRunToken(),
      cleanup: async () => {
        await fake.close();
        await Deno.remove(dirs.root, { recursive: true }).catch(() => {});
      },
    };
  } catch (e) {
    await fake.close();
    await Deno.remove(dirs.root, { recursive: true }).catch(() => {});
    throw e;
  }
}

/** A finished real run. */
export interface RealRun extends PreparedRun {
  outcome: RunOutcome;
  events: RunnerEvent[];
  /** Wall time of executeRun. */
  wallMs: number;
  /** The run's egress: its decision, what the proxy allowed and refused. */
  egress: { describe: string; summary: EgressSummary | null; records: EgressRecord[] };
}

/** Options of {@link runReal}. */
export interface RunRealOptions extends PrepareOptions {
  /** Hard timeout of the run (default 60 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
  onEvent?: (ev: RunnerEvent, run: PreparedRun) => void;
  /** Called once the run is started (e.g. to watch for tool processes and cancel). */
  during?: (run: PreparedRun) => Promise<void>;
  /** How the egress proxy connects (default `Deno.connect`; a test may put a TLS front there). */
  connect?: (d: Destination, signal: AbortSignal) => Promise<Deno.Conn>;
  /** Changes the resolved runner before the run (e.g. other config env). */
  adjustRunner?: (r: ResolvedRunner, prepared: PreparedRun) => ResolvedRunner;
}

/** Where socat is (the egress forwarders need it); null when missing. */
const SOCAT = await findOnPath("socat");

/**
 * The run's egress, set up as the daemon does (`egressInit` at start-up, then `forTask`),
 * with its proxy's slots under the run's own directory.
 */
async function runEgress(
  prepared: PreparedRun,
  profile: string,
  records: EgressRecord[],
  connect?: RunRealOptions["connect"],
): Promise<TaskEgress> {
  const { init } = egressInit({
    stateDir: prepared.dirs.root,
    maxConcurrent: 1,
    runners: [prepared.runner],
    env: prepared.daemonEnv,
    daemonPorts: [],
    profileCaps: {},
    socat: SOCAT,
  });
  return await new EgressRuntime(init, connect).forTask(
    prepared.runner,
    profile,
    prepared.daemonEnv,
    { sandboxed: true, onRecord: (r) => records.push(r) },
  );
}

/** Prepares and executes one run through `executeRun`. Call `cleanup()` when done. */
export async function runReal(opts: RunRealOptions): Promise<RealRun> {
  const prepared = await prepareRun(opts);
  if (opts.adjustRunner) {
    prepared.runner = opts.adjustRunner(prepared.runner, prepared);
    prepared.invocation = buildInvocation({
      manifest: prepared.runner.manifest,
      profile: opts.profile,
      prompt: opts.prompt ?? "Follow the scripted plan.",
      cwd: prepared.dirs.work,
      resolvedBinary: prepared.runner.binary,
      env: prepared.daemonEnv,
      extraArgs: prepared.runner.args,
      extraEnv: { pass: prepared.runner.envPass, set: prepared.runner.envSet },
      stateDir: prepared.dirs.state,
    });
  }
  const events: RunnerEvent[] = [];
  const records: EgressRecord[] = [];
  const t0 = performance.now();
  try {
    const egress = await runEgress(prepared, opts.profile, records, opts.connect);
    if (!egress.ok) throw new Error(egress.reason);
    prepared.invocation = {
      ...prepared.invocation,
      env: { ...prepared.invocation.env, ...egress.env },
    };
    const install = await installPathsOf(
      prepared.runner.binary,
      Deno.env.get("PATH") ?? "",
      SANDBOX.host,
    );
    const sandbox = prepareRunSandbox(SANDBOX, {
      profile: opts.profile,
      cwd: prepared.dirs.work,
      runDir: `${prepared.dirs.root}/run`,
      installPaths: install.dirs,
      links: install.links,
      configDirs: [prepared.dirs.state],
      network: egress.network,
      extension: egress.extension,
    });
    if (!sandbox.ok) {
      await egress.finish();
      throw new Error(sandbox.reason);
    }
    const running = executeRun({
      sandbox: sandbox.sandbox,
      invocation: prepared.invocation,
      manifest: prepared.runner.manifest,
      limits: {
        timeoutMs: opts.timeoutMs ?? 60_000,
        maxStdoutBytes: 8 << 20,
        maxStderrBytes: 64 << 10,
      },
      runToken: prepared.token,
      tools: TOOLS,
      signal: opts.signal,
      onEvent: (ev) => {
        events.push(ev);
        opts.onEvent?.(ev, prepared);
      },
    });
    const [outcome] = await Promise.all([running, opts.during?.(prepared)]);
    const summary = await egress.finish();
    return {
      ...prepared,
      outcome,
      events,
      wallMs: performance.now() - t0,
      egress: { describe: egress.describe, summary, records },
    };
  } catch (e) {
    await prepared.cleanup();
    throw e;
  }
}

/** One process of the machine, from `ps`. */
export interface PsRow {
  pid: number;
  sid: number;
  stat: string;
  args: string;
}

/**
 * Live (non-zombie) processes carrying `CMESH_RUN_ID=<token>` in their environment: an
 * independent check (its own `ps` call), not the supervisor's code.
 */
export function liveWithMarker(token: string): PsRow[] {
  const o = new Deno.Command(psBin, {
    args: ["-e", "-ww", "-o", "pid=,sid=,stat=,args=", "e"],
    env: { LC_ALL: "C" },
  }).outputSync();
  const rows: PsRow[] = [];
  for (const line of new TextDecoder().decode(o.stdout).split("\n")) {
    if (!line.includes(` ${RUN_TOKEN_ENV}=${token}`)) continue;
    const m = /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(line);
    if (!m || m[3].startsWith("Z")) continue;
    rows.push({ pid: +m[1], sid: +m[2], stat: m[3], args: m[4] });
  }
  return rows;
}

/** Polls until `pred` holds for some marked process; returns it, or throws after `timeoutMs`. */
export async function waitForMarked(
  token: string,
  pred: (r: PsRow) => boolean,
  timeoutMs: number,
): Promise<PsRow> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const hit = liveWithMarker(token).find(pred);
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no process of the run matched within ${timeoutMs} ms`);
}

/** SIGKILLs whatever of a run is still alive (test-side cleanup, independent of the code). */
export function reap(token: string): void {
  for (const row of liveWithMarker(token)) {
    try {
      Deno.kill(row.pid, "SIGKILL");
    } catch { /* gone */ }
  }
}

/** True when `path` exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Short summary of a run for assertion messages. */
export function describeRun(run: RealRun): string {
  const { outcome } = run;
  return JSON.stringify(
    {
      state: outcome.state,
      error: outcome.error,
      claims: outcome.claims,
      exit: outcome.evidence.exit_code,
      signal: outcome.evidence.signal,
      denials: outcome.evidence.permission_denials,
      stderr: outcome.evidence.stderr_tail.slice(-1500),
      events: run.events.map((e) => `${e.kind}: ${e.text.slice(0, 200)}`),
    },
    null,
    1,
  );
}

/** Events of a kind (type helper). */
export function eventsOf(run: RealRun, kind: TaskEvent["kind"]): RunnerEvent[] {
  return run.events.filter((e) => e.kind === kind);
}
