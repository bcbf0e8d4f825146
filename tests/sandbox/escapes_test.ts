/**
 * Proof that the profile is enforced by the operating system: a custom runner whose "agent"
 * executes its prompt as a `/bin/sh` script runs, through the real daemon, executor and
 * sandbox, under every profile, the escapes a hostile task would try: read a secret in the
 * worker user's HOME, another allowed root, the state database and the control token, the
 * daemon's environment through `/proc`; write outside the cwd, under `query`, into `/tmp`;
 * call the control API; leave a process running after the run ends and after a cancel
 * (double fork + `setsid` + run marker dropped). Each attempt is refused and the table says by
 * what; a positive control per profile shows allowed work still happens. `full` is the
 * documented exception (the user's view), except for what its own PID namespace still
 * guarantees.
 *
 * Runs as root, and (as root) again with the daemon as an ordinary user (`nobody`, so bwrap
 * adds a user namespace). Not yet covered here: network egress (`model`) and the symlink swap
 * at dequeue (the re-decide step).
 */
import assert from "node:assert/strict";
import { query } from "../reliability/_helpers.ts";
import { psRows } from "../support/proc.ts";
import { ETC_ENTRIES } from "../../src/runner/sandbox/host.ts";
import { pathExists } from "../../src/util/path_exists.ts";
import { pidsMatching, untilNoneMatch, warmLaunchersUnder } from "../support/sandbox_runs.ts";
import {
  createEscapeWorld,
  type EscapeWorld,
  PROFILES,
  userModeSkipReason,
  type WorldUser,
} from "./_world.ts";

/** One escape attempt: a shell command, and what must refuse it (confined profiles). */
interface Attempt {
  name: string;
  cmd: (w: EscapeWorld, tag: string) => string;
  /** The error a confined run must get (undefined: judged by `check` only). */
  refusal?: RegExp;
  /** What refuses it, for the table. */
  by: string;
  /** Extra host-side check that nothing got through. */
  check?: (w: EscapeWorld, tag: string, out: string) => Promise<void>;
  /** Under `full` the attempt is allowed by design (documented exception). */
  fullAllows: boolean;
}

/** Not in the sandbox's view: absent, or a read-only mount-point dir of the empty root. */
const NOT_IN_VIEW = /No such file or directory|Directory nonexistent|Read-only file system/;

const ATTEMPTS: Attempt[] = [
  {
    name: "read a secret in the worker user's HOME",
    cmd: (w) => `cat '${w.secret}'`,
    refusal: NOT_IN_VIEW,
    by: "mount namespace: the user's HOME is not in the sandbox (private empty HOME instead)",
    fullAllows: true,
  },
  {
    name: "read another allowed root",
    cmd: (w) => `cat '${w.otherRoot}/other.txt'`,
    refusal: NOT_IN_VIEW,
    by: "mount namespace: only the task's cwd is bound",
    fullAllows: true,
  },
  {
    name: "read the state database",
    cmd: (w) => `head -c 15 '${w.stateDir}/cmesh.db'`,
    refusal: NOT_IN_VIEW,
    by: "mount namespace: the state dir is not bound (only runners/<name>)",
    fullAllows: true,
  },
  {
    name: "read the control token",
    cmd: (w) => `cat '${w.stateDir}/control.token'`,
    refusal: NOT_IN_VIEW,
    by: "mount namespace: the state dir is not bound",
    fullAllows: true,
  },
  {
    name: "call the control API with the token",
    cmd: (w) =>
      `code=$(curl -s -o /dev/null -w '%{http_code}' -H "authorization: Bearer $(cat '${w.stateDir}/control.token' 2>/dev/null)" http://127.0.0.1:${w.controlPort}/v1/status); echo "HTTP $code"; [ "$code" = 200 ]`,
    refusal: /HTTP (401|000)/,
    by: "the token is unreadable, so the control API answers 401",
    fullAllows: true,
  },
  {
    name: "read a secret in /etc (shadow)",
    cmd: () => `head -c 8 /etc/shadow`,
    refusal: NOT_IN_VIEW,
    by: "mount namespace: /etc holds only the allowlisted entries (the worker's mirror)",
    fullAllows: true,
  },
  {
    name: "list the TLS private keys (/etc/ssl/private)",
    cmd: () => `ls -a /etc/ssl/private`,
    refusal: NOT_IN_VIEW,
    by: "only /etc/ssl/certs and openssl.cnf of /etc/ssl are shown",
    fullAllows: true,
  },
  {
    name: "add a file to /etc for later runs",
    cmd: (_w, tag) => `echo pwned > /etc/cmesh-escape-${tag}`,
    refusal: NOT_IN_VIEW,
    by: "the /etc mirror is bound read-only",
    check: async (w, tag) => {
      await assert.rejects(
        Deno.stat(`${w.stateDir}/sandbox-etc/cmesh-escape-${tag}`),
        Deno.errors.NotFound,
      );
    },
    fullAllows: true,
  },
  {
    name: "read /proc/<daemon pid>/environ",
    cmd: (w) => `cat /proc/${w.daemon.child.pid}/environ | tr '\\0' '\\n' | grep CANARY`,
    by: "PID namespace: the daemon's /proc entry does not exist inside",
    check: async (w, _tag, out) => {
      assert.ok(!out.includes(w.canary), "the daemon's environment leaked");
      await Promise.resolve();
    },
    fullAllows: false,
  },
  {
    name: "read the parent's environ (/proc/$PPID)",
    cmd: () => `cat /proc/$PPID/environ | tr '\\0' '\\n' | grep CANARY`,
    by: "PID namespace: the parent is the sandbox's init, not the daemon",
    check: async (w, _tag, out) => {
      assert.ok(!out.includes(w.canary), "the daemon's environment leaked");
      await Promise.resolve();
    },
    fullAllows: false,
  },
  {
    name: "write outside the cwd",
    cmd: (w, tag) => `echo pwned > '${w.outside}/pwned-${tag}'`,
    refusal: NOT_IN_VIEW,
    by: "mount namespace: nothing outside the cwd and private dirs exists",
    check: async (w, tag) => {
      await assert.rejects(Deno.stat(`${w.outside}/pwned-${tag}`), Deno.errors.NotFound);
    },
    fullAllows: true,
  },
  {
    name: "write into the state dir",
    cmd: (w, tag) => `echo pwned > '${w.stateDir}/pwned-${tag}'`,
    refusal: NOT_IN_VIEW,
    by: "mount namespace: the state dir is not bound",
    check: async (w, tag) => {
      await assert.rejects(Deno.stat(`${w.stateDir}/pwned-${tag}`), Deno.errors.NotFound);
    },
    fullAllows: true,
  },
  {
    name: "write into /tmp (escaping the evidence)",
    cmd: (_w, tag) => `echo pwned > /tmp/cmesh-escape-${tag} && echo "wrote the private /tmp"`,
    by: "private /tmp per run (a fresh dir, removed afterwards): nothing reaches the host's /tmp",
    check: async (_w, tag) => {
      await assert.rejects(Deno.stat(`/tmp/cmesh-escape-${tag}`), Deno.errors.NotFound);
    },
    fullAllows: true,
  },
];

/** A shell function that runs one attempt and prints `R|name|rc|output`. */
const TRY_FN = `try_it() { out=$( (eval "$2") 2>&1 ); rc=$?; ` +
  `printf 'R|%s|%s|%s\\n' "$1" "$rc" "$(printf %s "$out" | head -c 300 | tr '\\n|' '  ')"; }`;

function script(w: EscapeWorld, profile: string, tag: string): string {
  const lines = [TRY_FN];
  ATTEMPTS.forEach((a, i) => {
    lines.push(`try_it ${i} ${shellQuote(a.cmd(w, `${tag}-${i}`))}`);
  });
  // Positive controls: read in the cwd always; write in the cwd for edit/build/full.
  lines.push(`try_it read-cwd 'head -n 1 README.md'`);
  lines.push(`try_it read-etc 'grep -c "^root:" /etc/passwd; ls /etc/ssl | head -n 1'`);
  lines.push(`try_it write-cwd 'echo made > written-by-${profile}.txt'`);
  // A process left behind when the run ends normally: setsid, double fork, marker dropped.
  lines.push(
    `( ( setsid sh -c 'unset CMESH_RUN_ID; exec sleep ${leftoverSeconds(tag)}' & ) & )`,
  );
  lines.push("sleep 0.3; echo END");
  return lines.join("\n");
}

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'"'"'`)}'`;
}

/** A sleep duration unique to a tag, so its process can be found from the host by its args. */
function leftoverSeconds(tag: string): number {
  let h = 0;
  for (const c of tag) h = (h * 31 + c.charCodeAt(0)) % 100_000;
  return 700_000 + h;
}

async function sleepers(seconds: number): Promise<number[]> {
  return (await psRows())
    .filter((r) => !r.stat.startsWith("Z") && r.argsAndEnv.startsWith(`sleep ${seconds}`))
    .map((r) => r.pid);
}

interface Row {
  profile: string;
  attempt: string;
  result: string;
  by: string;
}

async function runProfile(w: EscapeWorld, profile: string, table: Row[]): Promise<void> {
  const tag = `${w.user}-${profile}-${crypto.randomUUID().slice(0, 8)}`;
  const id = `t-escape-${tag}`;
  const res = await w.submit(id, profile, script(w, profile, tag));
  assert.equal(res.status, 202, await res.text());
  const result = await w.result(id);
  const text = result.claims.final_text ?? "";
  assert.equal(result.state, "succeeded", `${profile}: ${JSON.stringify(result)}`);
  assert.ok(text.includes("END"), `${profile}: the script ran to its end: ${text}`);
  const rows = new Map<string, { rc: number; out: string }>();
  for (const line of text.split("\n")) {
    const m = /^R\|([^|]*)\|(\d+)\|(.*)$/.exec(line);
    if (m) rows.set(m[1], { rc: Number(m[2]), out: m[3] });
  }
  const confined = profile !== "full";
  for (const [i, a] of ATTEMPTS.entries()) {
    const r = rows.get(String(i));
    assert.ok(r, `${profile}: no result for "${a.name}"`);
    const allowed = !confined && a.fullAllows;
    if (confined || !a.fullAllows) {
      if (a.refusal) {
        assert.notEqual(r.rc, 0, `${profile}: "${a.name}" succeeded: ${r.out}`);
        assert.match(r.out, a.refusal, `${profile}: "${a.name}" refused by something else`);
      }
      await a.check?.(w, `${tag}-${i}`, r.out);
    }
    // Under `full` (the user's view) a root run may write the host's /tmp and /etc: tidied.
    for (const dir of allowed ? ["/tmp", "/etc"] : []) {
      await Deno.remove(`${dir}/cmesh-escape-${tag}-${i}`).catch(() => {});
    }
    table.push({
      profile,
      attempt: a.name,
      result: allowed
        ? `allowed (documented exception), rc ${r.rc}`
        : `${r.rc === 0 ? "contained" : "refused"}: ${r.out.trim().slice(0, 60) || "(no output)"}`,
      by: allowed ? "full = the user's view" : a.by,
    });
  }
  const read = rows.get("read-cwd");
  assert.equal(read?.rc, 0, `${profile}: reading in the cwd must work: ${read?.out}`);
  assert.match(read!.out, /hello/);
  // The system's own /etc entries are there, with the host's content (the mirror, for bwrap).
  const etc = rows.get("read-etc");
  assert.equal(etc?.rc, 0, `${profile}: reading /etc must work: ${etc?.out}`);
  // Of /etc/ssl only the allowlisted entries are shown: the first of those the host has.
  const ssl = ETC_ENTRIES.filter((p) => p.startsWith("/etc/ssl/"));
  const present = await Promise.all(ssl.map(pathExists));
  const shown = ssl.filter((_, i) => present[i]);
  const sslFirst = shown.map((p) => p.slice("/etc/ssl/".length)).sort()[0];
  assert.equal(etc!.out.trim(), `1 ${sslFirst}`);
  const write = rows.get("write-cwd");
  const writable = profile !== "query";
  if (writable) {
    assert.equal(write?.rc, 0, `${profile}: writing in the cwd must work: ${write?.out}`);
    assert.equal(await Deno.readTextFile(`${w.repo}/written-by-${profile}.txt`), "made\n");
    // The git evidence, taken inside the sandbox, sees the write.
    assert.ok(
      result.evidence?.git?.changed_files.includes(`written-by-${profile}.txt`),
      `${profile}: evidence ${JSON.stringify(result.evidence?.git)}`,
    );
  } else {
    assert.notEqual(write?.rc, 0, "query must not write in the cwd");
    assert.match(write!.out, /Read-only file system/);
    await assert.rejects(Deno.stat(`${w.repo}/written-by-query.txt`), Deno.errors.NotFound);
    table.push({
      profile,
      attempt: "write in the cwd under query",
      result: `refused: ${write!.out.trim().slice(0, 60)}`,
      by: "the cwd is bound read-only for query",
    });
  }
  const left = await sleepers(leftoverSeconds(tag));
  assert.deepEqual(left, [], `${profile}: a process outlived the run`);
  table.push({
    profile,
    attempt: "leave a process behind (double fork, setsid, marker dropped)",
    result: "none left after the run ended",
    by: "PID namespace: its init exiting kills every process inside",
  });
}

async function cancelEscape(w: EscapeWorld, profile: string, table: Row[]): Promise<void> {
  const tag = `${w.user}-${profile}-cancel-${crypto.randomUUID().slice(0, 8)}`;
  const seconds = leftoverSeconds(tag);
  const id = `t-escape-${tag}`;
  const prompt = `( ( setsid sh -c 'unset CMESH_RUN_ID; exec sleep ${seconds}' & ) & ); ` +
    `trap '' TERM; echo started; sleep 600`;
  assert.equal((await w.submit(id, profile, prompt)).status, 202);
  let pids: number[] = [];
  while (pids.length === 0) {
    pids = await sleepers(seconds);
    await new Promise((r) => setTimeout(r, 100));
  }
  const row = (await psRows(pids[0]))[0];
  assert.ok(row && !/CMESH_RUN_ID=/.test(row.argsAndEnv), "precondition: the marker is gone");
  assert.ok([200, 202].includes((await w.cancel(id)).status));
  const result = await w.result(id);
  assert.equal(result.state, "cancelled");
  assert.deepEqual(await sleepers(seconds), [], `${profile}: a process survived the cancel`);
  table.push({
    profile,
    attempt: "survive a cancel (double fork, setsid, marker dropped, SIGTERM ignored)",
    result: `refused: ${pids.length} escaped process(es) killed`,
    by: "cancel kills bwrap: the PID namespace dies with everything in it",
  });
}

/**
 * A run's processes die with a killed daemon, and so do the sandboxes started ahead; the restart
 * removes their private dirs.
 */
async function crashEscape(w: EscapeWorld, table: Row[]): Promise<void> {
  const tag = `${w.user}-crash-${crypto.randomUUID().slice(0, 8)}`;
  const seconds = leftoverSeconds(tag);
  const id = `t-escape-${tag}`;
  const prompt = `( ( setsid sh -c 'unset CMESH_RUN_ID; exec sleep ${seconds}' & ) & ); ` +
    `echo secret > "$HOME/left-behind"; sleep 600`;
  assert.equal((await w.submit(id, "build", prompt)).status, 202);
  while ((await sleepers(seconds)).length === 0) await new Promise((r) => setTimeout(r, 100));
  const runDirs = async () => {
    const names = [];
    for await (const e of Deno.readDir(`${w.stateDir}/runs`)) names.push(e.name);
    return names;
  };
  // The other dirs are those of sandboxes started ahead for the next runs (runner/sandbox/warm.ts).
  const left = await Promise.all(
    (await runDirs()).map((d) =>
      Deno.stat(`${w.stateDir}/runs/${d}/home/left-behind`).then(() => d, () => null)
    ),
  );
  assert.equal(left.filter(Boolean).length, 1, "precondition: the run's private dirs exist");
  assert.ok(
    (await pidsMatching(warmLaunchersUnder(w.stateDir))).length > 0,
    "precondition: sandboxes wait ahead",
  );
  await w.restart(true);
  // --die-with-parent: the namespace died with the daemon, before any recovery ran.
  assert.deepEqual(await sleepers(seconds), [], "a process outlived the killed daemon");
  // They die with bwrap (--die-with-parent), a moment after it.
  const waiting = await untilNoneMatch(warmLaunchersUnder(w.stateDir));
  assert.deepEqual(waiting, [], "a sandbox started ahead outlived it");
  assert.deepEqual(await runDirs().catch(() => []), [], "the restart removed the stale run dirs");
  assert.equal((await w.result(id)).state, "interrupted");
  table.push({
    profile: "build",
    attempt: "outlive a kill -9 of the daemon (double fork, setsid, marker dropped)",
    result: "refused: gone before the restart; its private HOME removed by the restart",
    by: "--die-with-parent: the namespace dies with the daemon",
  });
}

function printTable(user: WorldUser, table: Row[]): void {
  console.log(`\nsandbox escape attempts, daemon as ${user} (${table.length} rows):`);
  for (const r of table) {
    console.log(`  [${r.profile.padEnd(5)}] ${r.attempt}\n           → ${r.result}  (by: ${r.by})`);
  }
}

async function suite(user: WorldUser): Promise<void> {
  const w = await createEscapeWorld(user);
  const table: Row[] = [];
  try {
    for (const profile of PROFILES) await runProfile(w, profile, table);
    for (const profile of PROFILES) await cancelEscape(w, profile, table);
    await crashEscape(w, table);
    // Every decision and start recorded the sandbox.
    const audit = query<{ kind: string; data: string }>(
      `${w.stateDir}/cmesh.db`,
      "SELECT kind, data FROM audit WHERE kind IN ('task.decision', 'task.start')",
    );
    assert.ok(audit.length >= PROFILES.length * 4, `audit rows: ${audit.length}`);
    for (const a of audit) {
      assert.equal(JSON.parse(a.data).sandbox, "bwrap", `${a.kind}: ${a.data}`);
    }
    // Runs saw /etc through the worker's mirror: a copy of the host's file, no secrets.
    assert.equal(
      await Deno.readTextFile(`${w.stateDir}/sandbox-etc/passwd`),
      await Deno.readTextFile("/etc/passwd"),
    );
    await assert.rejects(Deno.stat(`${w.stateDir}/sandbox-etc/shadow`), Deno.errors.NotFound);
    // `cmesh status` (the control API's /v1/status) says how runs are sandboxed.
    const token = (await Deno.readTextFile(`${w.stateDir}/control.token`)).trim();
    const status = await fetch(`http://127.0.0.1:${w.controlPort}/v1/status`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const body = await status.json() as { runners?: { sandbox?: { state: string } } };
    assert.equal(body.runners?.sandbox?.state, "bwrap", JSON.stringify(body.runners));
    // The private HOME/TMPDIR of every run are gone (removed just after each result is stored).
    const leftRuns = async () => {
      const runs = [];
      try {
        for await (const e of Deno.readDir(`${w.stateDir}/runs`)) runs.push(e.name);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
      return runs;
    };
    let runs = await leftRuns();
    for (let i = 0; i < 50 && runs.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      runs = await leftRuns();
    }
    assert.deepEqual(runs, [], "per-run dirs removed");
    printTable(user, table);
  } finally {
    await w.destroy();
  }
}

Deno.test({
  name: "sandbox escapes: every attempt refused under each profile (daemon as root)",
  ignore: Deno.build.os !== "linux" || Deno.uid() !== 0,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => suite("root"),
});

if (Deno.build.os === "linux" && Deno.uid() !== 0) {
  console.warn("sandbox escapes with the daemon as root: SKIPPED (not root)");
}
const userSkip = Deno.uid() === 0 ? userModeSkipReason() : null;
if (userSkip !== null) console.warn(`sandbox escapes as an ordinary user: SKIPPED (${userSkip})`);

Deno.test({
  name: "sandbox escapes: every attempt refused under each profile (daemon as an ordinary user)",
  ignore: Deno.build.os !== "linux" || userSkip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  // As root: the daemon runs as `nobody`; as an ordinary user: as that user.
  fn: () => suite("user"),
});
