/**
 * @module
 * Tests for process_list.ts and process_tree.ts: parsing `ps` listings, signal normalisation,
 * and killing real trees (a process group plus a `setsid` escapee found by its run token) through
 * the `kill` and `ps` binaries.
 */
import assert from "node:assert/strict";
import { taskkillArguments } from "../../src/runner/windows_tree.ts";
import {
  descendantsOf,
  findProcessesByToken,
  isValidRunToken,
  newRunToken,
  parsePsListing,
  psArguments,
  RUN_TOKEN_ENV,
  treeKillSupport,
} from "../../src/runner/process_list.ts";
import { killOrphansOfToken, killTree, normalizeSignals } from "../../src/runner/process_tree.ts";
import { isAlive, killBin, liveWithMarker, psBin, reap } from "./_ps.ts";

/** Starts `bash` in its own group with the token; it forks a setsid'd sleeper and a plain one. */
async function startTree(token: string, dir: string, ignoreTerm: boolean) {
  const trap = ignoreTerm ? "trap '' TERM INT;" : "";
  const script =
    `${trap} setsid /bin/bash -c '${trap} echo $$ > ${dir}/escaped; sleep 300; sleep 1' &
    sleep 300 & echo $! > ${dir}/member; wait`;
  const child = new Deno.Command("/bin/bash", {
    args: ["-c", script],
    env: { PATH: "/usr/bin:/bin", [RUN_TOKEN_ENV]: token },
    clearEnv: true,
    detached: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const read = async (name: string) => {
    for (let i = 0; i < 300; i++) {
      try {
        const text = Deno.readTextFileSync(`${dir}/${name}`).trim();
        if (text) return Number(text);
      } catch { /* not yet */ }
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`${name} pid file never appeared`);
  };
  return { child, escaped: await read("escaped"), member: await read("member") };
}

Deno.test("parsePsListing marks only whole-word token matches", () => {
  const token = "rAAAAAAAAAAAAAAAAAAAA";
  const listing = [
    `  100     1   100 Ss   sleep 9 HOME=/ ${RUN_TOKEN_ENV}=${token}`,
    `  101   100   100 S    cat ${RUN_TOKEN_ENV}=${token}X OTHER=1`,
    `  102     1   102 S    bash X${RUN_TOKEN_ENV}=${token}`,
    `  103     1   103 Z    [sleep] <defunct>`,
    `  104     1   104 S    sleep ${RUN_TOKEN_ENV}=${token} PATH=/bin`,
    `garbage line`,
    ``,
  ].join("\n");
  const rows = parsePsListing(listing, token);
  assert.deepEqual(rows.map((r) => [r.pid, r.hasToken]), [
    [100, true],
    [101, false],
    [102, false],
    [103, false],
    [104, true],
  ]);
  assert.deepEqual(rows[1], { pid: 101, ppid: 100, pgid: 100, stat: "S", hasToken: false });
  assert.equal(parsePsListing(listing, null).some((r) => r.hasToken), false);
});

Deno.test("normalizeSignals validates names and always ends with SIGKILL", () => {
  assert.deepEqual(normalizeSignals(["int", "SIGTERM"]), ["SIGINT", "SIGTERM", "SIGKILL"]);
  assert.deepEqual(normalizeSignals(["KILL"]), ["SIGKILL"]);
  assert.deepEqual(normalizeSignals([]), ["SIGKILL"]);
  assert.throws(() => normalizeSignals(["SIGSTOP; rm -rf /"]), /unsupported signal/);
});

Deno.test("run tokens are random and validated", () => {
  const a = newRunToken();
  assert.ok(isValidRunToken(a));
  assert.notEqual(a, newRunToken());
  assert.equal(isValidRunToken("short"), false);
  assert.equal(isValidRunToken("has space in it, long enough"), false);
});

Deno.test("platform support: linux sweeps; windows kills the tree with taskkill, no sweep", () => {
  assert.equal(treeKillSupport("linux").supported, true);
  assert.equal(treeKillSupport("linux").sweep, true);
  const win = treeKillSupport("windows");
  assert.equal(win.supported, true);
  assert.equal(win.sweep, false, "a pid may be reused after the child exited");
  assert.match(win.reason, /taskkill \/T \/F/);
  assert.deepEqual(taskkillArguments(4242, false), ["/T", "/PID", "4242"]);
  assert.deepEqual(taskkillArguments(4242, true), ["/T", "/F", "/PID", "4242"]);
  assert.equal(treeKillSupport("freebsd").supported, false);
  assert.match(treeKillSupport("freebsd").reason, /not supported on freebsd/);
  assert.throws(() => psArguments("windows"), /windows/);
  assert.ok(psArguments("darwin").includes("-E"));
});

Deno.test("findProcessesByToken finds a setsid'd process outside the group", async () => {
  const dir = Deno.makeTempDirSync();
  const token = newRunToken();
  const { child, escaped, member } = await startTree(token, dir, false);
  try {
    const pids = await findProcessesByToken(token, psBin);
    assert.ok(pids.includes(child.pid), "the group leader carries the token");
    assert.ok(pids.includes(escaped), "the setsid'd process carries the token");
    assert.ok(pids.includes(member));
    assert.equal((await findProcessesByToken(newRunToken(), psBin)).length, 0);
  } finally {
    reap(token, [child.pid, escaped, member]);
    await child.status;
  }
});

Deno.test("killTree escalates to SIGKILL and leaves no survivors, in or out of the group", async () => {
  const dir = Deno.makeTempDirSync();
  const token = newRunToken();
  const { child, escaped, member } = await startTree(token, dir, true);
  try {
    const report = await killTree({
      pgid: child.pid,
      token,
      signals: ["SIGTERM"],
      graceMs: 200,
      killBin,
      psBin,
    });
    assert.equal(isAlive(child.pid), false);
    const status = await child.status;
    assert.deepEqual(report.errors, []);
    assert.deepEqual(report.survivors, []);
    assert.deepEqual(report.steps.map((s) => s.signal), ["SIGTERM", "SIGKILL"]);
    assert.equal(report.steps[0].pgid, child.pid);
    assert.ok(report.steps[0].pids.includes(escaped), "escapee signalled by pid");
    assert.equal(status.signal, "SIGKILL", "bash ignored SIGTERM, so SIGKILL was needed");
    assert.equal(isAlive(escaped), false);
    assert.equal(isAlive(member), false);
    assert.deepEqual(liveWithMarker(token), []);
  } finally {
    reap(token, [child.pid, escaped, member]);
  }
});

Deno.test("killOrphansOfToken kills by token alone (crash recovery)", async () => {
  const dir = Deno.makeTempDirSync();
  const token = newRunToken();
  const { child, escaped, member } = await startTree(token, dir, false);
  try {
    const report = await killOrphansOfToken(token, { killBin, psBin, graceMs: 500 });
    assert.deepEqual(report.survivors, []);
    assert.equal(report.steps[0].pgid, null, "no group is trusted after a restart");
    assert.deepEqual(liveWithMarker(token), []);
    await assert.rejects(() => killOrphansOfToken("bad", { killBin, psBin }), /invalid run token/);
  } finally {
    reap(token, [child.pid, escaped, member]);
    await child.status;
  }
});

Deno.test("killTree with nothing alive sends nothing", async () => {
  const report = await killTree({
    pgid: null,
    token: newRunToken(),
    signals: ["SIGINT"],
    graceMs: 10,
    killBin,
    psBin,
  });
  assert.deepEqual(report, { steps: [], survivors: [], errors: [] });
});

Deno.test("killTree falls back to the direct kill when the kill binary cannot run", async () => {
  const token = newRunToken();
  const child = new Deno.Command("/usr/bin/sleep", {
    args: ["300"],
    env: { [RUN_TOKEN_ENV]: token },
    clearEnv: true,
    detached: true,
  }).spawn();
  const directSignals: string[] = [];
  try {
    const report = await killTree({
      pgid: child.pid,
      token,
      signals: ["SIGTERM"],
      graceMs: 500,
      killBin: "/nonexistent/kill",
      psBin,
      directKill: (s) => {
        directSignals.push(s);
        child.kill(s as Deno.Signal);
      },
    });
    assert.deepEqual(directSignals, ["SIGTERM"]);
    assert.match(report.errors[0], /signalling/);
    assert.deepEqual(report.survivors, []);
  } finally {
    reap(token, [child.pid]);
  }
  assert.equal((await child.status).signal, "SIGTERM");
});

Deno.test("descendantsOf: the sandbox root and everything below it, nothing beside it", () => {
  const row = (pid: number, ppid: number) => ({ pid, ppid, pgid: pid, stat: "S", hasToken: false });
  const rows = [
    row(1, 0),
    row(10, 1),
    row(11, 10),
    row(12, 11),
    row(13, 12),
    row(20, 1),
    row(21, 20),
  ];
  assert.deepEqual([...descendantsOf(rows, 10)].sort((a, b) => a - b), [10, 11, 12, 13]);
  assert.deepEqual([...descendantsOf(rows, 99)], [], "a gone root has no members");
});
