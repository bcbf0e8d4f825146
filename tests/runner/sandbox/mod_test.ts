/**
 * Sandbox settings and one run's preparation: the effective mode per OS, the state recorded
 * in the audit, refusal with the fix when required but unusable, the private dirs made and
 * removed, and the probe's explanations.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { explainBwrapFailure, probeSandbox } from "../../../src/runner/sandbox/availability.ts";
import {
  effectiveSandboxMode,
  etcViewFor,
  prepareRunSandbox,
  type SandboxSettings,
  sandboxState,
} from "../../../src/runner/sandbox/mod.ts";
import { EtcMirror } from "../../../src/runner/sandbox/etc_mirror.ts";
import { socketDenyProgram } from "../../../src/runner/sandbox/seccomp.ts";

const HOST = { system: [{ path: "/usr", kind: "dir" as const }], etc: [], unshareUser: true };
const READY: SandboxSettings = {
  mode: "required",
  availability: { ok: true, kind: "bwrap", bin: "/usr/bin/bwrap" },
  host: HOST,
};
const MISSING: SandboxSettings = {
  mode: "required",
  availability: {
    ok: false,
    kind: "bwrap",
    reason: "bubblewrap (bwrap) is not installed",
    fix: "install it (`apt-get install bubblewrap`)",
  },
  host: HOST,
};

Deno.test("sandbox mode: required by default on Linux and macOS, off on Windows", () => {
  assert.equal(effectiveSandboxMode(undefined, "linux"), "required");
  assert.equal(effectiveSandboxMode(undefined, "darwin"), "required");
  assert.equal(effectiveSandboxMode(undefined, "windows"), "off");
  assert.equal(effectiveSandboxMode("off", "linux"), "off");
  assert.equal(effectiveSandboxMode("required", "windows"), "required");
});

Deno.test("sandbox state: bwrap, off, or unavailable", () => {
  assert.equal(sandboxState(READY), "bwrap");
  assert.equal(sandboxState({ ...READY, mode: "off" }), "off");
  assert.equal(sandboxState(MISSING), "unavailable");
});

Deno.test("prepareRunSandbox: required but unusable refuses with the fix; off wraps nothing", () => {
  const input = {
    profile: "query",
    cwd: "/srv/app",
    runDir: "/nonexistent/runs/r1",
    installPaths: [],
    configDirs: [],
    network: { kind: "host" as const },
  };
  const refused = prepareRunSandbox(MISSING, input);
  assert.equal(refused.ok, false);
  assert.match(!refused.ok ? refused.reason : "", /not installed.*apt-get install bubblewrap/);
  const off = prepareRunSandbox({ ...MISSING, mode: "off" }, input);
  assert.deepEqual(off, { ok: true, sandbox: null });
});

Deno.test("prepareRunSandbox: private HOME/TMPDIR made, git wrapped offline + read-only, removed", async () => {
  const base = await Deno.makeTempDir({ prefix: "cmesh-sbx-mod-" });
  try {
    const runDir = join(base, "runs", "r1");
    const r = prepareRunSandbox(READY, {
      profile: "edit",
      cwd: "/srv/app",
      runDir,
      installPaths: [],
      configDirs: [],
      network: { kind: "host" },
    });
    assert.ok(r.ok && r.sandbox);
    const sb = r.sandbox!;
    assert.deepEqual(sb.env, { HOME: join(runDir, "home"), TMPDIR: join(runDir, "tmp") });
    assert.ok((await Deno.stat(join(runDir, "home"))).isDirectory);
    assert.equal((await Deno.stat(join(runDir, "tmp"))).mode! & 0o777, 0o700);
    const run = sb.wrap(["/usr/bin/claude"]).join(" ");
    assert.ok(run.includes("--bind /srv/app /srv/app") && !run.includes("--unshare-net"));
    const git = sb.wrapGit(["/usr/bin/git", "status"]).join(" ");
    assert.ok(git.includes("--ro-bind /srv/app /srv/app"), "git sees the cwd read-only");
    assert.ok(git.includes("--unshare-net"), "git runs offline");
    await sb.cleanup();
    await assert.rejects(Deno.stat(runDir), Deno.errors.NotFound);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("probe: explains namespace failures and names the fixes", async () => {
  const userns = explainBwrapFailure("bwrap: setting up uid map: Permission denied\n");
  assert.match(userns.reason, /namespaces/);
  assert.match(userns.fix, /kernel\.unprivileged_userns_clone=1/);
  assert.match(userns.fix, /mode = "off"/);
  const other = explainBwrapFailure(
    "bwrap: Can't mount proc on /newroot/proc: Operation not permitted",
  );
  assert.match(other.reason, /Can't mount proc/);
  const windows = await probeSandbox({ os: "windows" });
  assert.equal(windows.ok, false);
  assert.match(!windows.ok ? windows.reason : "", /windows/);
});

Deno.test({
  name: "probe: bwrap works on this Linux machine (CI installs bubblewrap)",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const a = await probeSandbox({ fresh: true });
    assert.ok(a.ok, JSON.stringify(a));
    assert.equal(a.kind, "bwrap");
  },
});

Deno.test("prepareRunSandbox: macOS refuses egress model (no network namespace), says the choice", () => {
  const seatbelt: SandboxSettings = {
    ...READY,
    availability: { ok: true, kind: "seatbelt", bin: "/usr/bin/sandbox-exec" },
  };
  const input = {
    profile: "query",
    cwd: "/srv/app",
    runDir: "/nonexistent/runs/r1",
    installPaths: [],
    configDirs: [],
  };
  const refused = prepareRunSandbox(seatbelt, {
    ...input,
    network: { kind: "model", hosts: ["api.anthropic.com:443"] },
  });
  assert.equal(refused.ok, false);
  assert.match(!refused.ok ? refused.reason : "", /cannot be enforced on macOS.*egress = "host"/);
  // bwrap has the namespace: the same run is prepared there (dirs fail only for the fake path).
  const linux = prepareRunSandbox(READY, {
    ...input,
    network: { kind: "model", hosts: ["api.anthropic.com:443"] },
  });
  assert.doesNotMatch(!linux.ok ? linux.reason : "", /macOS/);
});

Deno.test("prepareRunSandbox: git sees only the linker cache of /etc and only /dev/null", async () => {
  const base = await Deno.makeTempDir({ prefix: "cmesh-sbx-mod-" });
  try {
    const etc = ["/etc/passwd", "/etc/resolv.conf", "/etc/ld.so.cache", "/etc/ssl"];
    const r = prepareRunSandbox({ ...READY, host: { ...HOST, etc } }, {
      profile: "query",
      cwd: "/srv/app",
      runDir: join(base, "runs", "r1"),
      installPaths: [],
      configDirs: [],
      network: { kind: "host" },
    });
    assert.ok(r.ok && r.sandbox);
    const run = r.sandbox!.wrap(["/usr/bin/claude"]);
    const git = r.sandbox!.wrapGit(["/usr/bin/git", "status"]);
    const bound = (argv: string[]) =>
      argv.flatMap((a, i) => a === "--ro-bind-try" ? [argv[i + 1]] : []);
    assert.deepEqual(bound(run), etc, "the runner sees every /etc entry of the host layout");
    assert.deepEqual(bound(git), ["/etc/ld.so.cache"]);
    assert.ok(run.includes("--dev") && !run.includes("--dev-bind"));
    assert.ok(!git.includes("--dev"), "no fresh /dev for git");
    const devBind = git.indexOf("--dev-bind");
    assert.deepEqual(git.slice(devBind, devBind + 3), ["--dev-bind", "/dev/null", "/dev/null"]);
    await r.sandbox!.cleanup();
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("prepareRunSandbox: where bwrap applies seccomp, git refuses sockets instead of a network namespace and is PID 1; runners keep theirs", async () => {
  const base = await Deno.makeTempDir({ prefix: "cmesh-sbx-mod-" });
  try {
    const input = {
      profile: "query",
      cwd: "/srv/app",
      runDir: join(base, "runs", "r1"),
      installPaths: [],
      configDirs: [],
    };
    const seccomp: SandboxSettings = {
      ...READY,
      availability: { ok: true, kind: "bwrap", bin: "/usr/bin/bwrap", seccomp: true },
    };
    const r = prepareRunSandbox(seccomp, { ...input, network: { kind: "none" } });
    assert.ok(r.ok && r.sandbox);
    const git = r.sandbox!.wrapGit(["/usr/bin/git", "status"]);
    const at = git.indexOf("--seccomp");
    assert.deepEqual(git.slice(at, at + 2), ["--seccomp", "0"]);
    assert.ok(!git.includes("--unshare-net"), git.join(" "));
    assert.deepEqual(r.sandbox!.gitStdin, socketDenyProgram());
    const run = r.sandbox!.wrap(["/usr/bin/claude"]);
    assert.ok(run.includes("--unshare-net") && !run.includes("--seccomp"), "the runner's own");
    assert.ok(run.includes("--proc") && !git.includes("--proc"), "no /proc for git");
    assert.ok(git.includes("--as-pid-1") && !run.includes("--as-pid-1"), "git is PID 1 itself");
    await r.sandbox!.cleanup();
    // Without the probe's yes (an older kernel), git keeps a namespace and gets no stdin.
    const plain = prepareRunSandbox(READY, { ...input, network: { kind: "host" } });
    assert.ok(plain.ok && plain.sandbox);
    const git2 = plain.sandbox!.wrapGit(["/usr/bin/git", "status"]);
    assert.ok(git2.includes("--unshare-net") && !git2.includes("--seccomp"));
    assert.ok(!git2.includes("--as-pid-1"));
    assert.equal(plain.sandbox!.gitStdin, null);
    await plain.sandbox!.cleanup();
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

/**
 * A host `/etc` under `base` holding `files` (name → text; null: a directory), the worker's mirror
 * of it in the sandbox settings, and a run's input.
 */
async function mirrorWorld(base: string, files: Record<string, string | null>) {
  const host = join(base, "etc");
  await Deno.mkdir(host, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    if (text === null) await Deno.mkdir(join(host, name), { recursive: true });
    else await Deno.writeTextFile(join(host, name), text);
  }
  const etc = Object.keys(files).map((n) => join(host, n));
  const mirrorDir = join(base, "sandbox-etc");
  const settings: SandboxSettings = {
    ...READY,
    host: { ...HOST, etc },
    etcMirror: new EtcMirror(mirrorDir, etc, { root: host }),
  };
  const input = {
    cwd: "/srv/app",
    runDir: join(base, "runs", "r1"),
    installPaths: [],
    configDirs: [],
    network: { kind: "host" as const },
  };
  return { host, mirrorDir, settings, input };
}

Deno.test("prepareRunSandbox: runs see the worker's /etc mirror (refreshed at each start), git and full do not", async () => {
  const base = await Deno.makeTempDir({ prefix: "cmesh-sbx-mod-" });
  try {
    const { host, mirrorDir, settings, input } = await mirrorWorld(base, {
      passwd: "root:x:0:0::/root:/bin/sh\n",
      "ld.so.cache": "cache",
      ssl: null,
    });
    const r = prepareRunSandbox(settings, { ...input, profile: "query" });
    assert.ok(r.ok && r.sandbox);
    const run = r.sandbox!.wrap(["/usr/bin/true"]);
    const at = run.indexOf(mirrorDir);
    assert.deepEqual(run.slice(at - 1, at + 5), [
      "--ro-bind",
      mirrorDir,
      "/etc",
      "--ro-bind-try",
      join(host, "ssl"),
      join(host, "ssl"),
    ]);
    assert.equal(await Deno.readTextFile(join(mirrorDir, "passwd")), "root:x:0:0::/root:/bin/sh\n");
    const git = r.sandbox!.wrapGit(["/usr/bin/git", "status"]);
    assert.ok(!git.includes(mirrorDir), "git binds the linker cache alone (GIT_ETC)");
    await r.sandbox!.cleanup();
    // A change on the host reaches the next run's mirror.
    await Deno.writeTextFile(join(host, "passwd"), "root:x:0:0::/root:/bin/bash\n");
    const next = prepareRunSandbox(settings, { ...input, profile: "edit" });
    assert.ok(next.ok && next.sandbox);
    assert.equal(
      await Deno.readTextFile(join(mirrorDir, "passwd")),
      "root:x:0:0::/root:/bin/bash\n",
    );
    await next.sandbox!.cleanup();
    const full = prepareRunSandbox(settings, { ...input, profile: "full" });
    assert.ok(full.ok && full.sandbox && !full.sandbox.wrap(["/usr/bin/true"]).includes(mirrorDir));
    await full.sandbox!.cleanup();
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("etcViewFor: the mirror brought up to date now, handed to the plan as it is; none where unused", async () => {
  const base = await Deno.makeTempDir({ prefix: "cmesh-sbx-view-" });
  try {
    const { host, mirrorDir, settings, input: run } = await mirrorWorld(base, {
      hosts: "127.0.0.1 a\n",
    });
    const view = etcViewFor(settings, "query");
    assert.deepEqual(view, { dir: mirrorDir, binds: [] });
    assert.equal(await Deno.readTextFile(join(mirrorDir, "hosts")), "127.0.0.1 a\n");
    // Given a view, the plan takes it and refreshes nothing itself. (Another size: the mirror
    // knows a file by its inode, size and times, and two writes can fall in one clock tick.)
    await Deno.writeTextFile(join(host, "hosts"), "127.0.0.1 bb\n");
    const input = { ...run, profile: "query" };
    const given = prepareRunSandbox(settings, { ...input, etcView: view });
    assert.ok(given.ok && given.sandbox?.wrap(["/usr/bin/true"]).includes(mirrorDir));
    assert.equal(await Deno.readTextFile(join(mirrorDir, "hosts")), "127.0.0.1 a\n");
    await given.sandbox!.cleanup();
    // Without one it refreshes, as etcViewFor does.
    const own = prepareRunSandbox(settings, input);
    assert.ok(own.ok && own.sandbox);
    assert.equal(await Deno.readTextFile(join(mirrorDir, "hosts")), "127.0.0.1 bb\n");
    await own.sandbox!.cleanup();
    assert.equal(etcViewFor(settings, "full"), null, "full sees the host's /etc");
    assert.equal(etcViewFor({ ...settings, mode: "off" }, "query"), null);
    assert.equal(etcViewFor({ ...MISSING, etcMirror: settings.etcMirror }, "query"), null);
    const seatbelt: SandboxSettings = {
      ...settings,
      availability: { ok: true, kind: "seatbelt", bin: "/usr/bin/sandbox-exec" },
    };
    assert.equal(etcViewFor(seatbelt, "query"), null);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
