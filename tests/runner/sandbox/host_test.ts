/**
 * Host facts for the sandbox: the system directories as they exist (symlinks kept as links),
 * the /etc allowlist (never shadow), and where a runner is installed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  ETC_ENTRIES,
  hostLayout,
  installDirOf,
  installPathsOf,
} from "../../../src/runner/sandbox/host.ts";

Deno.test({
  name: "host: system dirs as they exist, /etc allowlisted, root needs no user namespace",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const host = await hostLayout(0);
    assert.ok(host.system.some((e) => e.path === "/usr" && e.kind === "dir"));
    for (const e of host.system) {
      const info = await Deno.lstat(e.path);
      assert.equal(e.kind, info.isSymlink ? "symlink" : "dir", e.path);
    }
    assert.ok(!ETC_ENTRIES.includes("/etc/shadow") && !host.etc.includes("/etc/shadow"));
    assert.ok(!host.etc.includes("/etc"));
    // Nothing that holds private keys, and nothing above such a directory.
    for (const secret of ["/etc/ssl/private", "/etc/pki/tls/private", "/etc/ssh"]) {
      assert.ok(
        !ETC_ENTRIES.some((e) => secret === e || secret.startsWith(e + "/")),
        `${secret} would be shown`,
      );
    }
    assert.equal(host.unshareUser, false);
    assert.equal((await hostLayout(1000)).unshareUser, true);
  },
});

Deno.test("host: install paths of a symlinked npm shim, its node, and a program file", async () => {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "cmesh-sbx-host-" }));
  try {
    const pkg = join(base, "prefix", "lib", "node_modules", "@x", "agent");
    await Deno.mkdir(join(pkg, "bin"), { recursive: true });
    await Deno.writeTextFile(join(pkg, "package.json"), "{}");
    await Deno.writeTextFile(join(pkg, "bin", "agent.js"), "#!/usr/bin/env node\n");
    const binDir = join(base, "prefix", "bin");
    await Deno.mkdir(binDir);
    await Deno.symlink(join(pkg, "bin", "agent.js"), join(binDir, "agent"));
    await Deno.writeTextFile(join(binDir, "node"), "");
    const script = join(base, "home", "agent.py");
    await Deno.mkdir(join(base, "home"));
    await Deno.writeTextFile(script, "print(1)\n");
    const host = { system: [{ path: "/usr", kind: "dir" as const }], etc: [], unshareUser: true };
    const paths = await installPathsOf(join(binDir, "agent"), binDir, host, [
      "-c",
      script,
      "{cwd}",
    ]);
    assert.ok(paths.dirs.includes(pkg), "the npm package, not just bin/");
    assert.ok(paths.dirs.includes(script), "a program file is bound alone");
    assert.ok(!paths.dirs.includes(join(base, "home")), "never the program file's directory");
    assert.ok(paths.dirs.includes(join(base, "prefix")), "the node prefix with lib/node_modules");
    assert.deepEqual(paths.links.find((l) => l.path === join(binDir, "agent")), {
      path: join(binDir, "agent"),
      target: join(pkg, "bin", "agent.js"),
    });
    const system = await installPathsOf("/usr/bin/env", "/usr/bin", host);
    assert.deepEqual(system, { dirs: [], links: [] }, "system binaries need nothing extra");
    // /bin → usr/bin is recreated as a link already: /bin/sh needs no link of its own.
    const merged = {
      ...host,
      system: [...host.system, { path: "/bin", kind: "symlink" as const, target: "usr/bin" }],
    };
    assert.deepEqual(await installPathsOf("/bin/sh", "/usr/bin", merged), { dirs: [], links: [] });
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("host: the install dir is the npm package, from the path alone; else the file's dir", () => {
  assert.equal(
    installDirOf("/usr/lib/node_modules/@openai/codex/bin/codex.js"),
    "/usr/lib/node_modules/@openai/codex",
  );
  assert.equal(
    installDirOf("/opt/n/lib/node_modules/deno/bin/deno"),
    "/opt/n/lib/node_modules/deno",
  );
  assert.equal(installDirOf("/opt/x/node_modules/cli.js"), "/opt/x/node_modules");
  // Not an npm install: its own directory, never an ancestor holding a package.json (a home).
  assert.equal(installDirOf("/home/ann/.local/bin/cmesh"), "/home/ann/.local/bin");
});
