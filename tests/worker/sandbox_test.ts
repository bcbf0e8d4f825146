import assert from "node:assert/strict";
import { workerPermissions } from "../../src/daemon/worker_permissions.ts";
import { freePort } from "../support/daemon.ts";

const git = ["/usr/bin/git", "/bin/git"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});

Deno.test({
  name: "the sandboxed worker can do its job and nothing else",
  ignore: !git, // git is installed by .ci/run; without it the run probe has nothing allowed to run
  async fn() {
    const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "cmesh-sandbox-" }));
    const stateDir = `${base}/state`;
    const root = `${base}/repo`;
    await Deno.mkdir(stateDir);
    await Deno.mkdir(root);
    await Deno.writeTextFile(`${root}/README.md`, "hi");
    // A LocalAPI socket that listens: the worker thread may not connect to it (main asks).
    const localApiSocket = `${base}/tailscaled.sock`;
    const localApi = Deno.listen({ transport: "unix", path: localApiSocket });
    const bindPort = freePort();
    const otherPort = freePort();
    const perms = workerPermissions({
      bind: ["127.0.0.1"],
      port: bindPort,
      stateDir,
      roots: [root],
      runBinaries: [],
      tools: { gitBin: git!, killBin: "/usr/bin/kill", psBin: "/usr/bin/ps" },
    });
    assert.equal(perms.env, false);
    assert.ok(!perms.net.some((n) => n.startsWith("0.0.0.0")));
    const worker = new Worker(new URL("../support/sandbox_probe.ts", import.meta.url), {
      type: "module",
      deno: { permissions: perms },
    });
    try {
      const results = await new Promise<Record<string, string>>((resolve, reject) => {
        worker.onmessage = (e) => resolve(e.data);
        worker.onerror = (e) => reject(e);
        worker.postMessage({
          allowedRead: `${root}/README.md`,
          stateDir,
          bindPort,
          otherPort,
          git,
          localApiSocket,
        });
      });
      assert.deepEqual(results, {
        read_allowed_root: "ok",
        read_etc_passwd: "NotCapable",
        read_home_ssh: "NotCapable",
        write_state_dir: "ok",
        write_tmp: "NotCapable",
        run_sh: "NotCapable",
        run_git: "ok",
        listen_bind: "ok",
        listen_all_interfaces: "NotCapable",
        listen_other_port: "NotCapable",
        connect_other: "NotCapable",
        connect_localapi: "NotCapable",
        env_home: "NotCapable",
        kill_pid1: "NotCapable",
        ffi: "NotCapable",
      });
    } finally {
      worker.terminate();
      localApi.close();
      await Deno.remove(base, { recursive: true });
    }
  },
});

Deno.test("workerPermissions: exactly the listeners, state dir, roots and binaries (no LocalAPI)", () => {
  const p = workerPermissions({
    bind: ["100.64.0.1", "fd7a:115c:a1e0::1"],
    port: 7433,
    stateDir: "/var/lib/cmesh",
    roots: ["/srv/app", "/srv/app"],
    runBinaries: ["/usr/local/bin/claude"],
    tools: { gitBin: "/usr/bin/git", killBin: "/usr/bin/kill", psBin: "/usr/bin/ps" },
  });
  assert.deepEqual(p.net, ["100.64.0.1:7433", "[fd7a:115c:a1e0::1]:7433"]);
  assert.deepEqual(p.write, ["/var/lib/cmesh"]);
  assert.deepEqual(p.run, [
    "/usr/local/bin/claude",
    "/usr/bin/kill",
    "/usr/bin/ps",
    "/usr/bin/git",
  ]);
  assert.ok(p.read.includes("/srv/app") && p.read.filter((r) => r === "/srv/app").length === 1);
  assert.equal(p.env, false);
  assert.equal(p.ffi, false);
});
