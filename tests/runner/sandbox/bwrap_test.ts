/**
 * The bubblewrap argv built from a sandbox spec: what each profile shows, read-only or
 * writable, and the namespace flags every run gets. Pure (no bwrap is run here; the escape
 * suite in tests/sandbox/ runs it).
 */
import assert from "node:assert/strict";
import { bwrapArgv } from "../../../src/runner/sandbox/bwrap.ts";
import { type HostLayout, sandboxSpecFor } from "../../../src/runner/sandbox/spec.ts";

const HOST: HostLayout = {
  system: [
    { path: "/usr", kind: "dir" },
    { path: "/bin", kind: "symlink", target: "usr/bin" },
    { path: "/opt", kind: "dir" },
  ],
  etc: ["/etc/passwd", "/etc/resolv.conf"],
  unshareUser: false,
};

function specOf(profile: string, extra: Partial<Parameters<typeof sandboxSpecFor>[0]> = {}) {
  return sandboxSpecFor({
    profile,
    cwd: "/srv/app",
    runDir: "/var/lib/cmesh/runs/r1",
    installPaths: ["/home/u/.npm/lib/node_modules/@openai/codex"],
    configDirs: ["/var/lib/cmesh/runners/codex"],
    host: HOST,
    network: { kind: "host" },
    ...extra,
  });
}

/** The [flag, source, dest] triples of bind-like options. */
function binds(argv: string[]): string[][] {
  const out: string[][] = [];
  const end = argv.indexOf("--");
  for (let i = 1; i < end; i++) {
    if (["--bind", "--ro-bind", "--ro-bind-try", "--symlink"].includes(argv[i])) {
      out.push(argv.slice(i, i + 3));
      i += 2;
    }
  }
  return out;
}

const has = (argv: string[], triple: string[]) =>
  binds(argv).some((b) => b.join("\0") === triple.join("\0"));

Deno.test("bwrap: query shows the cwd read-only, the private dirs and config dir writable", () => {
  const argv = bwrapArgv("/usr/bin/bwrap", specOf("query"), ["/usr/bin/codex", "exec", "-"]);
  assert.equal(argv[0], "/usr/bin/bwrap");
  assert.ok(has(argv, ["--ro-bind", "/srv/app", "/srv/app"]));
  assert.ok(!has(argv, ["--bind", "/srv/app", "/srv/app"]));
  assert.ok(has(argv, ["--bind", "/var/lib/cmesh/runs/r1/home", "/var/lib/cmesh/runs/r1/home"]));
  assert.ok(has(argv, ["--bind", "/var/lib/cmesh/runs/r1/tmp", "/tmp"]));
  assert.ok(has(argv, ["--bind", "/var/lib/cmesh/runners/codex", "/var/lib/cmesh/runners/codex"]));
  assert.ok(has(argv, ["--ro-bind", "/usr", "/usr"]));
  assert.ok(has(argv, ["--symlink", "usr/bin", "/bin"]));
  assert.ok(has(argv, ["--ro-bind-try", "/etc/passwd", "/etc/passwd"]));
  assert.ok(
    has(argv, [
      "--ro-bind",
      "/home/u/.npm/lib/node_modules/@openai/codex",
      "/home/u/.npm/lib/node_modules/@openai/codex",
    ]),
  );
  // Nothing else: no /, no home, no state dir, no /etc as a whole.
  const sources = binds(argv).map((b) => b[1]);
  for (const hidden of ["/", "/home/u", "/var/lib/cmesh", "/etc", "/root"]) {
    assert.ok(!sources.includes(hidden), `${hidden} must not be bound`);
  }
  assert.deepEqual(argv.slice(argv.indexOf("--")), ["--", "/usr/bin/codex", "exec", "-"]);
  assert.deepEqual(argv.slice(argv.indexOf("--chdir"), argv.indexOf("--chdir") + 2), [
    "--chdir",
    "/srv/app",
  ]);
});

Deno.test("bwrap: edit and build get the cwd read-write; custom profile names stay read-only", () => {
  for (const profile of ["edit", "build"]) {
    const argv = bwrapArgv("/usr/bin/bwrap", specOf(profile), ["/usr/bin/claude"]);
    assert.ok(has(argv, ["--bind", "/srv/app", "/srv/app"]), profile);
    assert.ok(!has(argv, ["--ro-bind", "/srv/app", "/srv/app"]), profile);
  }
  const custom = bwrapArgv("/usr/bin/bwrap", specOf("deploy"), ["/usr/bin/claude"]);
  assert.ok(has(custom, ["--ro-bind", "/srv/app", "/srv/app"]), "unknown profiles fail closed");
});

Deno.test("bwrap: every run gets its own PID/IPC/UTS namespaces, session, no caps", () => {
  for (const profile of ["query", "edit", "build", "full"]) {
    const argv = bwrapArgv("/usr/bin/bwrap", specOf(profile), ["/usr/bin/claude"]);
    const head = argv.slice(0, argv.indexOf("--"));
    for (
      const flag of [
        "--die-with-parent",
        "--new-session",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
      ]
    ) {
      assert.ok(head.includes(flag), `${profile}: ${flag}`);
    }
    assert.ok(head.join(" ").includes("--cap-drop ALL"), profile);
    assert.ok(head.join(" ").includes("--proc /proc"), `${profile}: a fresh /proc`);
    assert.ok(head.includes("--unshare-user"), `${profile}: own user namespace`);
    // As root: uid 0 only, and of the capabilities just CAP_SETFCAP (after dropping ALL).
    const caps = head.join(" ");
    assert.ok(caps.includes("--uid 0 --gid 0 --cap-add CAP_SETFCAP"), caps);
    assert.ok(caps.indexOf("--cap-drop ALL") < caps.indexOf("--cap-add CAP_SETFCAP"));
  }
  const user = bwrapArgv(
    "/usr/bin/bwrap",
    specOf("query", { host: { ...HOST, unshareUser: true } }),
    ["/usr/bin/claude"],
  );
  assert.ok(user.includes("--unshare-user"), "an ordinary user gets a user namespace");
  assert.ok(!user.includes("--cap-add"), "and no capability at all");
});

Deno.test("bwrap: full is the user's view (read-write /), still its own PID namespace", () => {
  const argv = bwrapArgv("/usr/bin/bwrap", specOf("full"), ["/usr/bin/claude"]);
  assert.ok(has(argv, ["--bind", "/", "/"]));
  assert.ok(argv.includes("--unshare-pid"));
});

Deno.test("bwrap: network none/model unshare the network, host shares it", () => {
  const argvOf = (network: Parameters<typeof sandboxSpecFor>[0]["network"]) =>
    bwrapArgv("/usr/bin/bwrap", specOf("query", { network }), ["/usr/bin/claude"]);
  assert.ok(!argvOf({ kind: "host" }).includes("--unshare-net"));
  assert.ok(argvOf({ kind: "none" }).includes("--unshare-net"));
  assert.ok(argvOf({ kind: "model", hosts: ["api.anthropic.com"] }).includes("--unshare-net"));
});

Deno.test("bwrap: the extension adds binds, arguments and a wrapper in front of the command", () => {
  const spec = specOf("query", {
    extension: {
      binds: [{ source: "/run/cmesh/r1/hosts", dest: "/etc/hosts", writable: false }],
      bwrapArgs: ["--setenv", "HTTPS_PROXY", "http://127.0.0.1:3128"],
      wrapper: ["/usr/lib/cmesh/forward", "--"],
    },
  });
  const argv = bwrapArgv("/usr/bin/bwrap", spec, ["/usr/bin/claude", "-p"]);
  assert.ok(has(argv, ["--ro-bind", "/run/cmesh/r1/hosts", "/etc/hosts"]));
  // Later mounts win in bwrap: the generated /etc/hosts comes after the host's.
  const bound = binds(argv).map((b) => b[2]);
  assert.ok(bound.lastIndexOf("/etc/hosts") > bound.indexOf("/etc/resolv.conf"));
  assert.deepEqual(argv.slice(argv.indexOf("--")), [
    "--",
    "/usr/lib/cmesh/forward",
    "--",
    "/usr/bin/claude",
    "-p",
  ]);
  assert.ok(argv.join(" ").includes("--setenv HTTPS_PROXY http://127.0.0.1:3128 --"));
});

Deno.test("bwrap: links recreate a binary named through a symlink; relative commands refused", () => {
  const spec = specOf("query", {
    links: [{ path: "/home/u/.local/bin/claude", target: "/home/u/.local/share/claude/v2" }],
  });
  const argv = bwrapArgv("/usr/bin/bwrap", spec, ["/home/u/.local/bin/claude"]);
  assert.ok(
    has(argv, ["--symlink", "/home/u/.local/share/claude/v2", "/home/u/.local/bin/claude"]),
  );
  assert.throws(() => bwrapArgv("/usr/bin/bwrap", spec, ["claude"]), /absolute/);
});

Deno.test("bwrap: the empty root is remounted read-only after the binds (not under full)", () => {
  const argv = bwrapArgv("/usr/bin/bwrap", specOf("edit"), ["/usr/bin/claude"]);
  const at = argv.join("\0").indexOf(["--remount-ro", "/"].join("\0"));
  assert.ok(at > argv.join("\0").indexOf(["--bind", "/srv/app"].join("\0")), "after the cwd bind");
  const full = bwrapArgv("/usr/bin/bwrap", specOf("full"), ["/usr/bin/claude"]);
  assert.ok(!full.includes("--remount-ro"));
});

Deno.test("bwrap: devices null binds /dev/null alone, before the root goes read-only", () => {
  const standard = bwrapArgv("/usr/bin/bwrap", specOf("query"), ["/usr/bin/git"]);
  assert.deepEqual(standard.slice(standard.indexOf("--dev"), standard.indexOf("--dev") + 2), [
    "--dev",
    "/dev",
  ]);
  const argv = bwrapArgv("/usr/bin/bwrap", specOf("query", { devices: "null" }), ["/usr/bin/git"]);
  assert.ok(!argv.includes("--dev"));
  const at = argv.indexOf("--dev-bind");
  assert.deepEqual(argv.slice(at, at + 3), ["--dev-bind", "/dev/null", "/dev/null"]);
  assert.ok(
    at < argv.indexOf("--remount-ro"),
    "bwrap cannot make /dev/null under a read-only root",
  );
});

Deno.test("bwrap: the /etc mirror is one bind at /etc, its directories bound over it", () => {
  const etcView = { dir: "/var/lib/cmesh/sandbox-etc", binds: ["/etc/ssl"] };
  const argv = bwrapArgv("/usr/bin/bwrap", specOf("query", { etcView }), ["/usr/bin/true"]);
  const b = binds(argv);
  const at = b.findIndex((x) => x.join("\0") === ["--ro-bind", etcView.dir, "/etc"].join("\0"));
  assert.ok(at >= 0, "the mirror at /etc, read-only");
  assert.deepEqual(b[at + 1], ["--ro-bind-try", "/etc/ssl", "/etc/ssl"], "then its directories");
  assert.ok(!has(argv, ["--ro-bind-try", "/etc/passwd", "/etc/passwd"]), "files come copied");
  // A bind below /etc (here the cwd) needs a mount point the read-only mirror cannot get: each
  // entry is bound instead.
  const below = bwrapArgv("/usr/bin/bwrap", specOf("query", { etcView, cwd: "/etc/app" }), [
    "/usr/bin/true",
  ]);
  assert.ok(!binds(below).some((x) => x[1] === etcView.dir));
  assert.ok(has(below, ["--ro-bind-try", "/etc/passwd", "/etc/passwd"]));
  assert.ok(has(below, ["--ro-bind-try", "/etc/resolv.conf", "/etc/resolv.conf"]));
  const extension = { binds: [{ source: "/run/x/hosts", dest: "/etc/hosts", writable: false }] };
  const hosts = bwrapArgv("/usr/bin/bwrap", specOf("query", { etcView, extension }), [
    "/usr/bin/true",
  ]);
  assert.ok(!binds(hosts).some((x) => x[1] === etcView.dir));
});
