/**
 * @module
 * Test support: runs inside a Web Worker created with the permissions the daemon computes for
 * its sandboxed worker (`prepareWorker`), attempts what a compromised request handler might,
 * and posts back, for each attempt, "ok" or the error's name (e.g. "NotCapable").
 *
 * @example
 * ```ts
 * const w = new Worker(new URL("./worker_sandbox_probe.ts", import.meta.url), {
 *   type: "module", deno: { permissions },
 * });
 * w.postMessage({ home: "/root", stateDir, root, controlPort, otherPort, allowed: "/bin/echo", git });
 * ```
 */
/// <reference lib="deno.worker" />

/** What the probe needs to know. */
export interface ProbeInput {
  /** The daemon user's home (its `.ssh` must stay out of reach). */
  home: string;
  stateDir: string;
  /** An allowed cwd root (readable, not writable). */
  root: string;
  /** The worker's own listener. */
  bind: { host: string; port: number };
  /** The daemon's control API port (loopback): must be unreachable from the worker. */
  controlPort: number;
  /** A runner binary the worker may run. */
  allowed: string;
  git: string;
}

self.onmessage = async (e: MessageEvent<ProbeInput>) => {
  const p = e.data;
  const results: Record<string, string> = {};
  const attempt = async (name: string, f: () => unknown | Promise<unknown>) => {
    try {
      await f();
      results[name] = "ok";
    } catch (err) {
      results[name] = err instanceof Error ? err.name : String(err);
    }
  };
  const run = (bin: string, args: string[], env?: Record<string, string>) =>
    new Deno.Command(bin, { args, env, stdout: "null", stderr: "null" }).outputSync();
  // What it needs.
  await attempt("read_root", () => Deno.readDirSync(p.root).next());
  await attempt("write_state_dir", () => Deno.writeTextFileSync(`${p.stateDir}/probe.txt`, "x"));
  await attempt("run_runner", () => run(p.allowed, ["x"]));
  await attempt("run_git", () => run(p.git, ["--version"]));
  await attempt(
    "listen_own",
    () => Deno.listen({ hostname: p.bind.host, port: p.bind.port }).close(),
  );
  // Files.
  await attempt("read_ssh_dir", () => Deno.readDirSync(`${p.home}/.ssh`).next());
  await attempt("read_ssh_key", () => Deno.readTextFileSync(`${p.home}/.ssh/id_ed25519`));
  await attempt("stat_ssh_dir", () => Deno.statSync(`${p.home}/.ssh`));
  await attempt("read_etc_shadow", () => Deno.readTextFileSync("/etc/shadow"));
  // The worker may read the allowlisted /etc entries its runs see (the mirror), not /etc itself.
  await attempt("list_etc", () => Deno.readDirSync("/etc").next());
  await attempt("read_etc_ssh", () => Deno.readDirSync("/etc/ssh").next());
  await attempt("read_proc_environ", () => Deno.readTextFileSync("/proc/1/environ"));
  await attempt("write_into_root", () => Deno.writeTextFileSync(`${p.root}/planted.txt`, "x"));
  await attempt("write_tmp", () => Deno.writeTextFileSync("/tmp/cmesh-probe-planted", "x"));
  await attempt("symlink_out", () => Deno.symlinkSync(`${p.home}/.ssh`, `${p.stateDir}/ssh`));
  // Processes.
  await attempt("run_sh", () => run("/bin/sh", ["-c", "true"]));
  await attempt("run_bash", () => run("/bin/bash", ["-c", "true"]));
  await attempt("run_env", () => run("/usr/bin/env", ["true"]));
  await attempt("run_by_name", () => run("sh", ["-c", "true"]));
  await attempt("run_git_ld_preload", () => run(p.git, ["--version"], { LD_PRELOAD: "/tmp/x.so" }));
  await attempt("kill_pid1", () => Deno.kill(1, "SIGCONT"));
  // Network: another address or port (a denied connect sends nothing).
  await attempt(
    "connect_control_api",
    async () => (await Deno.connect({ hostname: "127.0.0.1", port: p.controlPort })).close(),
  );
  await attempt(
    "connect_other_loopback",
    async () => (await Deno.connect({ hostname: "127.0.0.2", port: p.bind.port })).close(),
  );
  await attempt(
    "connect_unix_other",
    async () => (await Deno.connect({ transport: "unix", path: "/run/other.sock" })).close(),
  );
  await attempt(
    "fetch_other",
    async () => await (await fetch(`http://127.0.0.1:${p.controlPort}/`)).body?.cancel(),
  );
  await attempt(
    "listen_all",
    () => Deno.listen({ hostname: "0.0.0.0", port: p.bind.port + 1 }).close(),
  );
  // Environment, system, FFI.
  await attempt("env_read", () => Deno.env.get("HOME"));
  await attempt("env_all", () => Deno.env.toObject());
  await attempt("sys_hostname", () => Deno.hostname());
  await attempt("ffi", () => Deno.dlopen("libc.so.6", {}));
  // Known limit (reported, not asserted): an allowed binary can run other programs itself.
  await attempt("git_alias_trampoline", () => run(p.git, ["-c", "alias.x=!true", "x"]));
  self.postMessage(results);
};
