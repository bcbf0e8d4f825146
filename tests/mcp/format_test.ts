/** The text blocks agents read: durations, progress lines, results (claims vs evidence), peers. */
import assert from "node:assert/strict";
import {
  claimsText,
  durationText,
  evidenceText,
  MAX_CLAIMS_CHARS,
  peerText,
  progressLine,
  resultText,
} from "../../src/mcp/format.ts";
import { type ResultOut, toPeerOut, toTaskOut, TRUST_NOTE } from "../../src/mcp/schemas.ts";

const result = (over: Partial<ResultOut> = {}): ResultOut => ({
  trust: TRUST_NOTE,
  task_id: "t0123456789",
  peer: "build-box",
  state: "succeeded",
  profile: "edit",
  runner: "claude",
  cwd: "/srv/app",
  started_at: null,
  finished_at: null,
  claims: { final_text: "I fixed the failing test in src/a.ts.", session_id: "s1" },
  evidence: {
    exit_code: 0,
    signal: null,
    duration_ms: 75_000,
    git: {
      before: { head: "aaaaaaaaaaaaaaaaaaaa", status: [] },
      after: { head: "aaaaaaaaaaaaaaaaaaaa", status: [" M src/a.ts"] },
      diff_stat: " src/a.ts | 2 +-\n 1 file changed",
      changed_files: ["src/a.ts"],
    },
    usage: { input_tokens: 1200, output_tokens: 300, cost_usd: 0.0123 },
    permission_denials: [{ tool: "Bash", detail: "rm -rf build" }],
    truncated: { stdout: true, stderr: false },
    stderr_tail: "warning: x",
  },
  error: null,
  ...over,
});

Deno.test("durationText", () => {
  assert.equal(durationText(950), "950ms");
  assert.equal(durationText(12_400), "12s");
  assert.equal(durationText(75_000), "1m15s");
  assert.equal(durationText(2 * 3600_000 + 3 * 60_000), "2h03m");
});

Deno.test("progressLine: state · elapsed · last action", () => {
  const task = toTaskOut({
    id: "t0123456789",
    peer: "box",
    state: "running",
    started_at: "2026-01-01T00:00:00.000Z",
    last_event: { seq: 4, at: "", kind: "tool", text: "Read README.md" },
  });
  assert.equal(
    progressLine(task, Date.parse("2026-01-01T00:00:12.300Z")),
    "running · 12s · last: tool Read README.md",
  );
  const quiet = toTaskOut({ id: "t0123456789", state: "queued" });
  assert.equal(progressLine(quiet), "queued");
});

Deno.test("resultText fences the claims as untrusted and lists the evidence apart", () => {
  const text = resultText(result());
  const claimsAt = text.indexOf("Claims (UNTRUSTED");
  const evidenceAt = text.indexOf("Evidence (observed by the worker on build-box");
  assert.ok(claimsAt >= 0 && evidenceAt > claimsAt);
  assert.match(text, /<<<claims\nI fixed the failing test in src\/a\.ts\.\nclaims>>>/);
  const evidence = text.slice(evidenceAt);
  assert.doesNotMatch(evidence, /I fixed/);
  assert.match(evidence, /exit: 0 · duration 1m15s/);
  assert.match(evidence, /git HEAD: aaaaaaaaaaaa → aaaaaaaaaaaa \(unchanged\)/);
  assert.match(evidence, /working tree: 0 dirty path\(s\) before, 1 after/);
  assert.match(evidence, /diff stat: src\/a\.ts \| 2 \+-\n {4}1 file changed/);
  assert.match(evidence, /changed files \(1\): src\/a\.ts/);
  assert.match(
    evidence,
    /tokens: 1200 in \/ 300 out · cost: \$0\.0123 \(as reported by the runner\)/,
  );
  assert.match(evidence, /permission denials \(1\): Bash rm -rf build/);
  assert.match(evidence, /output truncated: YES \(stdout cut at the output cap\)/);
  assert.match(evidence, /stderr tail: warning: x/);
});

Deno.test("evidence and claims edge cases: no runner, no git, no text, huge text", () => {
  assert.match(evidenceText(result({ evidence: null })), /none: the runner never started/);
  const noGit = result();
  noGit.evidence = {
    ...noGit.evidence!,
    git: null,
    usage: { input_tokens: null, output_tokens: null, cost_usd: null },
  };
  assert.match(evidenceText(noGit), /git: not a git repository/);
  assert.match(evidenceText(noGit), /tokens: not reported · cost: not reported/);
  assert.match(
    claimsText(result({ claims: { final_text: null, session_id: null } })),
    /\(the agent gave no final text\)/,
  );
  const huge = "x".repeat(MAX_CLAIMS_CHARS + 10);
  assert.match(
    claimsText(result({ claims: { final_text: huge, session_id: null } })),
    /… \(10 more characters in structuredContent/,
  );
  const failed = resultText(
    result({ state: "failed", error: { code: "runner_failed", message: "exit 1", rule: "r" } }),
  );
  assert.match(failed, /Error \(runner_failed, rule r\): exit 1$/);
});

Deno.test("peers: what I may send vs what the peer allows me", () => {
  const online = toPeerOut({
    name: "build-box",
    address: "100.64.0.2:7433",
    online: true,
    cmesh: true,
    profiles_i_send: ["query", "build"],
    cwd_i_send: ["/srv/**"],
    allows_me: {
      inboundEnabled: true,
      rules: [{
        ruleIndex: 1,
        by: "peer laptop",
        profiles: ["query"],
        cwd: ["/srv/app"],
        runners: ["claude"],
      }],
      limits: { maxConcurrent: 2 },
      grant: null,
    },
    peer_version: "0.1.0",
  });
  assert.equal(online.peer_allows_me?.rules[0].rule, "inbound.allow[1]");
  const text = peerText(online);
  assert.match(text, /^build-box \(100\.64\.0\.2:7433\): online, cmesh answering/);
  assert.match(text, /I may send \(my outbound policy\): profiles query, build; cwd \/srv\/\*\*/);
  assert.match(
    text,
    /It allows me \(inbound\.allow\[1\], matched by peer laptop\): profiles query; cwd under \/srv\/app; runners claude/,
  );
  const off = toPeerOut({
    name: "win",
    online: false,
    profiles_i_send: ["query"],
    error: "did not answer in time",
  });
  assert.equal(off.peer_allows_me, null);
  assert.match(
    peerText(off),
    /^win: offline\n.*\n {2}It allows me: unknown \(did not answer in time\)$/,
  );
  const closed = toPeerOut({
    name: "x",
    online: true,
    cmesh: true,
    allows_me: { inboundEnabled: false, rules: [] },
  });
  assert.match(peerText(closed), /nothing \(inbound disabled there\)/);
});
