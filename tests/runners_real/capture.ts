/**
 * @module
 * Records the real CLIs' stdout for the parser tests: runs each scenario below through the same
 * set-up as the runners_real tests (fake model server, built-in manifest, config extras,
 * buildInvocation) under the supervisor, and writes the raw stdout lines to
 * `tests/testdata/runners/captured/<name>.jsonl`, plus `index.json` (CLI version, scenario,
 * exit status). Machine-specific paths and the port are replaced by `$WORKDIR`, `$STATE_DIR`,
 * `$HOME_DIR`, `$ROOT`, `$WORKDIR_SLUG` (Claude's
 * project directory name) and `PORT`.
 *
 * ```sh
 * deno run -A tests/runners_real/capture.ts            # all scenarios
 * deno run -A tests/runners_real/capture.ts claude_    # names starting with claude_
 * ```
 *
 * Not a test: run it by hand after a CLI upgrade, then review the diff and the parser tests.
 */
import { probeVersion } from "../../src/runner/probe.ts";
import { superviseRun } from "../../src/runner/supervisor.ts";
import { CLI_PATHS, prepareRun, type RealRunner, reap, TOOLS, waitForMarked } from "./harness.ts";

interface Scenario {
  name: string;
  runner: RealRunner;
  profile: string;
  script: string;
  /** Cancel once a marked process matches this (the manifest's cancel sequence). */
  cancelWhen?: RegExp;
  what: string;
}

const SCENARIOS: Scenario[] = [
  {
    name: "claude_query_read_write_shell",
    runner: "claude",
    profile: "query",
    script: "read_write_shell.json",
    what: "query: Read works; Write and Bash are not offered",
  },
  {
    name: "claude_edit_read_write_shell",
    runner: "claude",
    profile: "edit",
    script: "read_write_shell.json",
    what: "edit: Write runs; Bash is not offered",
  },
  {
    name: "claude_build_read_write_shell",
    runner: "claude",
    profile: "build",
    script: "read_write_shell.json",
    what: "build: Write and Bash run",
  },
  {
    name: "claude_read_then_answer",
    runner: "claude",
    profile: "query",
    script: "read_then_answer.json",
    what: "2-turn Read, usage 123+77 in / 45+6 out",
  },
  {
    name: "claude_http_500",
    runner: "claude",
    profile: "query",
    script: "http_500.json",
    what: "API 500 on every request (CLAUDE_CODE_MAX_RETRIES from the manifest)",
  },
  {
    name: "claude_http_401",
    runner: "claude",
    profile: "query",
    script: "http_401.json",
    what: "API 401 on every request",
  },
  {
    name: "claude_cancel_mid_tool",
    runner: "claude",
    profile: "build",
    script: "sleep_in_tool.json",
    cancelWhen: /^sleep 313\b/,
    what: "cancelled (SIGINT first) while Bash runs sleep 313",
  },
  {
    name: "codex_query_read_write_shell",
    runner: "codex",
    profile: "query",
    script: "read_write_shell.json",
    what: "query: cat works; apply_patch and the shell write are refused (no JSONL event)",
  },
  {
    name: "codex_edit_read_write_shell",
    runner: "codex",
    profile: "edit",
    script: "read_write_shell.json",
    what: "edit: apply_patch and the shell write land",
  },
  {
    name: "codex_read_then_answer",
    runner: "codex",
    profile: "query",
    script: "read_then_answer.json",
    what: "2-turn cat, usage 123+77 in / 45+6 out",
  },
  {
    name: "codex_http_500",
    runner: "codex",
    profile: "query",
    script: "http_500.json",
    what: "HTTP 500, provider retries 0",
  },
  {
    name: "codex_http_401",
    runner: "codex",
    profile: "query",
    script: "http_401.json",
    what: "HTTP 401, provider retries 0",
  },
  {
    name: "codex_cancel_mid_tool",
    runner: "codex",
    profile: "query",
    script: "sleep_in_tool.json",
    cancelWhen: /^sleep 313\b/,
    what: "cancelled (SIGINT first) while exec_command runs sleep 313",
  },
];

const OUT = new URL("../testdata/runners/captured/", import.meta.url);

async function capture(s: Scenario, version: string) {
  const run = await prepareRun({ runner: s.runner, profile: s.profile, script: s.script });
  const lines: string[] = [];
  const abort = new AbortController();
  try {
    const supervised = superviseRun(run.invocation, {
      timeoutMs: 60_000,
      maxStdoutBytes: 8 << 20,
      maxStderrBytes: 64 << 10,
    }, {
      runToken: run.token,
      onStdoutLine: (line) => lines.push(line),
      signal: abort.signal,
      cancelSignals: run.runner.manifest.cancel.signals,
      graceMs: run.runner.manifest.cancel.grace_ms,
      killBin: TOOLS.killBin,
      psBin: TOOLS.psBin,
    });
    if (s.cancelWhen) {
      const re = s.cancelWhen;
      await waitForMarked(run.token, (r) => re.test(r.args), 30_000);
      abort.abort();
    }
    const result = await supervised;
    const normalise = (text: string) =>
      text.replaceAll(run.dirs.work, "$WORKDIR")
        .replaceAll(run.dirs.work.replaceAll("/", "-"), "$WORKDIR_SLUG").replaceAll(
          run.dirs.state,
          "$STATE_DIR",
        )
        .replaceAll(run.dirs.home, "$HOME_DIR").replaceAll(run.dirs.root, "$ROOT")
        .replaceAll(`127.0.0.1:${run.fake.port}`, "127.0.0.1:PORT");
    await Deno.writeTextFile(
      new URL(`${s.name}.jsonl`, OUT),
      lines.map(normalise).join("\n") + "\n",
    );
    console.log(`${s.name}: ${lines.length} lines, exit ${result.code ?? result.signal}`);
    return {
      file: `${s.name}.jsonl`,
      runner: s.runner,
      cli_version: version,
      profile: s.profile,
      script: `tests/testdata/fake_model/${s.script}`,
      scenario: s.what,
      format: run.runner.manifest.output,
      exit: { code: result.code, signal: result.signal },
      cancelled: result.cancelled,
    };
  } finally {
    reap(run.token);
    await run.cleanup();
  }
}

if (import.meta.main) {
  const prefix = Deno.args[0] ?? "";
  await Deno.mkdir(OUT, { recursive: true });
  const indexUrl = new URL("index.json", OUT);
  const index: Record<string, unknown>[] = await Deno.readTextFile(indexUrl)
    .then((t) => JSON.parse(t)).catch(() => []);
  for (const s of SCENARIOS.filter((x) => x.name.startsWith(prefix))) {
    const bin = CLI_PATHS[s.runner];
    if (bin === null) throw new Error(`${s.runner} is not on PATH`);
    const version = await probeVersion(bin, ["--version"], 10_000);
    const entry = await capture(s, version);
    const at = index.findIndex((e) => e.file === entry.file);
    if (at >= 0) index[at] = entry;
    else index.push(entry);
  }
  index.sort((a, b) => String(a.file).localeCompare(String(b.file)));
  await Deno.writeTextFile(indexUrl, JSON.stringify(index, null, 2) + "\n");
}
