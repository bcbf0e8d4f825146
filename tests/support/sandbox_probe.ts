/**
 * Test support: runs inside a Web Worker created with the daemon's worker permissions and
 * reports, for each probe, "ok" or the error name (e.g. "NotCapable").
 */
/// <reference lib="deno.worker" />

type Probe = { name: string; run: () => unknown | Promise<unknown> };

self.onmessage = async (
  e: MessageEvent<
    {
      allowedRead: string;
      stateDir: string;
      bindPort: number;
      otherPort: number;
      git: string;
      localApiSocket: string;
    }
  >,
) => {
  const { allowedRead, stateDir, bindPort, otherPort, git, localApiSocket } = e.data;
  const probes: Probe[] = [
    { name: "read_allowed_root", run: () => Deno.readTextFileSync(allowedRead) },
    { name: "read_etc_passwd", run: () => Deno.readTextFileSync("/etc/passwd") },
    { name: "read_home_ssh", run: () => Deno.readDirSync("/root/.ssh") },
    { name: "write_state_dir", run: () => Deno.writeTextFileSync(`${stateDir}/probe.txt`, "x") },
    { name: "write_tmp", run: () => Deno.writeTextFileSync("/tmp/cmesh-sandbox-probe.txt", "x") },
    {
      name: "run_sh",
      run: () => new Deno.Command("/bin/sh", { args: ["-c", "true"] }).outputSync(),
    },
    { name: "run_git", run: () => new Deno.Command(git, { args: ["--version"] }).outputSync() },
    {
      name: "listen_bind",
      run: () => Deno.listen({ hostname: "127.0.0.1", port: bindPort }).close(),
    },
    {
      name: "listen_all_interfaces",
      run: () => Deno.listen({ hostname: "0.0.0.0", port: bindPort }).close(),
    },
    {
      name: "listen_other_port",
      run: () => Deno.listen({ hostname: "127.0.0.1", port: otherPort }).close(),
    },
    {
      name: "connect_other",
      run: async () => (await Deno.connect({ hostname: "127.0.0.1", port: otherPort })).close(),
    },
    {
      name: "connect_localapi",
      run: async () => (await Deno.connect({ transport: "unix", path: localApiSocket })).close(),
    },
    { name: "env_home", run: () => Deno.env.get("HOME") },
    { name: "kill_pid1", run: () => Deno.kill(1, "SIGCONT") },
    { name: "ffi", run: () => Deno.dlopen("libc.so.6", {}) },
  ];
  const results: Record<string, string> = {};
  for (const p of probes) {
    try {
      await p.run();
      results[p.name] = "ok";
    } catch (err) {
      results[p.name] = err instanceof Error ? err.name : String(err);
    }
  }
  self.postMessage(results);
};
