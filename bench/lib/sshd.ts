/**
 * @module
 * A private OpenSSH server for the "DIY alternative" column: its own host key, client key,
 * config and pid file in a temp dir, listening on one address (inside the worker's namespace,
 * or on loopback), key authentication only. Nothing of the system's SSH setup is touched.
 *
 * A clean non-interactive shell: sshd runs in its own mount namespace (`unshare --mount`) where
 * a copy of `/etc/passwd` gives root `/bin/sh` and an empty home, so `ssh host cmd` pays for
 * no shell start-up file (bash run by sshd reads `~/.bashrc`, which cost ~230 ms here).
 * Needs: openssh-server and openssh-client (Debian packages), util-linux `unshare`, root.
 *
 * @example
 * ```ts
 * import { startSshd } from "./sshd.ts";
 * const sshd = await startSshd({ dir: "/tmp/x", listen: "127.0.0.1", port: 2222, wrap: [] });
 * if (sshd.ok) { console.log(sshd.clientArgv(["/bin/echo", "hi"])); await sshd.stop(); }
 * ```
 */
import { join } from "node:path";

/** Where the OpenSSH server binary is looked for. */
export const SSHD_CANDIDATES = ["/usr/sbin/sshd", "/usr/bin/sshd", "/sbin/sshd"];

/** A running server, or why there is none. */
export type Sshd =
  | {
    ok: true;
    version: string;
    /** The ssh client argv that runs `command` on the server (a fresh connection each time). */
    clientArgv(command: string[]): string[];
    /** The same over one multiplexed connection (`ControlMaster`), kept open between runs. */
    muxArgv(command: string[]): string[];
    stop(): Promise<void>;
  }
  | { ok: false; reason: string };

function exists(p: string): boolean {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
}

async function run(argv: string[]): Promise<{ code: number; out: string }> {
  const o = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout) + dec.decode(o.stderr) };
}

/** Starts `sshd -D` as root on `listen:port` (run inside `wrap`). */
export async function startSshd(
  opts: { dir: string; listen: string; port: number; wrap: string[] },
): Promise<Sshd> {
  const sshd = SSHD_CANDIDATES.find(exists);
  if (!sshd) return { ok: false, reason: "sshd is not installed (Debian: openssh-server)" };
  if (!exists("/usr/bin/ssh") || !exists("/usr/bin/ssh-keygen")) {
    return { ok: false, reason: "the ssh client (openssh-client) is not installed" };
  }
  if (Deno.uid() !== 0) return { ok: false, reason: "a private sshd needs root here" };
  const d = opts.dir;
  await Deno.mkdir(d, { recursive: true, mode: 0o700 });
  for (const [file, type] of [["host_key", "ed25519"], ["client_key", "ed25519"]]) {
    const r = await run(["/usr/bin/ssh-keygen", "-q", "-t", type, "-N", "", "-f", join(d, file)]);
    if (r.code !== 0) return { ok: false, reason: `ssh-keygen failed: ${r.out}` };
  }
  await Deno.copyFile(join(d, "client_key.pub"), join(d, "authorized_keys"));
  // sshd insists on its privilege separation directory.
  await Deno.mkdir("/run/sshd", { recursive: true, mode: 0o755 }).catch(() => {});
  // root with /bin/sh and an empty home, seen only by this sshd (bind-mounted in its namespace).
  const home = join(d, "home");
  await Deno.mkdir(home, { recursive: true, mode: 0o700 });
  const passwd = (await Deno.readTextFile("/etc/passwd")).split("\n").map((l) => {
    const f = l.split(":");
    if (f[0] !== "root" || f.length < 7) return l;
    f[5] = home;
    f[6] = "/bin/sh";
    return f.join(":");
  }).join("\n");
  await Deno.writeTextFile(join(d, "passwd"), passwd);
  const unshare = ["/usr/bin/unshare", "/bin/unshare"].find(exists);
  if (!unshare) return { ok: false, reason: "unshare (util-linux) is not installed" };
  const config = join(d, "sshd_config");
  await Deno.writeTextFile(
    config,
    [
      `ListenAddress ${opts.listen}`,
      `Port ${opts.port}`,
      `HostKey ${join(d, "host_key")}`,
      `PidFile ${join(d, "sshd.pid")}`,
      `AuthorizedKeysFile ${join(d, "authorized_keys")}`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      "PrintMotd no",
      "PrintLastLog no",
      "UseDNS no",
      "",
    ].join("\n"),
  );
  const version = (await run([sshd, "-V"])).out.trim().split("\n")[0];
  const argv = [
    ...opts.wrap,
    unshare,
    "--mount",
    "--propagation",
    "private",
    "/bin/sh",
    "-c",
    'mount --bind "$1" /etc/passwd && shift && exec "$@"',
    "sh",
    join(d, "passwd"),
    sshd,
    "-D",
    "-e",
    "-f",
    config,
  ];
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  (async () => {
    for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) {
      log = (log + c).slice(-10_000);
    }
  })();
  const clientArgv = (command: string[]) => [
    "/usr/bin/ssh",
    "-F",
    "none",
    "-i",
    join(d, "client_key"),
    "-p",
    String(opts.port),
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "LogLevel=ERROR",
    `root@${opts.listen}`,
    ...command,
  ];
  const mux = join(d, "mux.sock");
  const muxArgv = (command: string[]) => {
    const a = clientArgv(command);
    return [
      a[0],
      "-o",
      "ControlMaster=auto",
      "-o",
      `ControlPath=${mux}`,
      "-o",
      "ControlPersist=120",
      ...a.slice(1),
    ];
  };
  const stop = async () => {
    await run([
      ...opts.wrap,
      ...clientArgv([]).slice(0, 1),
      "-o",
      `ControlPath=${mux}`,
      "-O",
      "exit",
      "x",
    ])
      .catch(() => {});
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await child.status;
  };
  // Ready when a connection succeeds.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = await run([...opts.wrap, ...clientArgv(["true"])]);
    if (probe.code === 0) break;
    if (Date.now() > deadline) {
      await stop();
      return { ok: false, reason: `sshd did not accept a connection: ${probe.out} ${log}` };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { ok: true, version, clientArgv, muxArgv, stop };
}
