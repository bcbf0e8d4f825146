/**
 * The socket-refusing seccomp program: what it decides for each call (run through a small
 * classic-BPF interpreter here, so a wrong jump or constant fails), and what it does in a real
 * bwrap: no socket of any family, no io_uring, `socketpair` still works, and without the program
 * the same calls succeed (so the refusals are the program's).
 */
import assert from "node:assert/strict";
import { SECCOMP_FD } from "../../../src/runner/sandbox/bwrap.ts";
import { SECCOMP_ARCHES, socketDenyProgram } from "../../../src/runner/sandbox/seccomp.ts";
import { probeSandbox } from "../../../src/runner/sandbox/availability.ts";
import { runBounded } from "../../../src/util/bounded_command.ts";

const ALLOW = 0x7fff0000;
const EPERM = 0x00050001;

/** Runs a seccomp cBPF program on `struct seccomp_data` {nr, arch}: the return value. */
function evaluate(program: Uint8Array, nr: number, arch: number): number {
  const view = new DataView(program.buffer, program.byteOffset, program.byteLength);
  const data = [nr >>> 0, arch >>> 0]; // 32-bit words at offsets 0 and 4
  let acc = 0;
  for (let pc = 0; pc * 8 < program.byteLength;) {
    const code = view.getUint16(pc * 8, true);
    const jt = view.getUint8(pc * 8 + 2);
    const jf = view.getUint8(pc * 8 + 3);
    const k = view.getUint32(pc * 8 + 4, true);
    if (code === 0x20) {
      assert.ok(k === 0 || k === 4, `load from offset ${k}`);
      acc = data[k / 4];
      pc++;
    } else if (code === 0x15) pc += 1 + (acc === k ? jt : jf);
    else if (code === 0x35) pc += 1 + (acc >= k ? jt : jf);
    else if (code === 0x06) return k;
    else throw new Error(`unexpected opcode ${code}`);
  }
  throw new Error("the program ran off its end");
}

Deno.test("seccomp program: x86_64 refuses socket, io_uring_setup, x32 and other arches", () => {
  const p = socketDenyProgram("x86_64")!;
  const a = SECCOMP_ARCHES.x86_64.auditArch;
  assert.equal(p.byteLength % 8, 0);
  assert.equal(evaluate(p, 41, a), EPERM, "socket");
  assert.equal(evaluate(p, 425, a), EPERM, "io_uring_setup");
  assert.equal(evaluate(p, 0x40000000 + 41, a), EPERM, "x32 socket");
  assert.equal(evaluate(p, 0x40000000, a), EPERM, "x32 read");
  assert.equal(evaluate(p, 53, a), ALLOW, "socketpair");
  for (const nr of [0, 1, 2, 3, 42, 59, 231, 424, 426]) assert.equal(evaluate(p, nr, a), ALLOW);
  assert.equal(evaluate(p, 0, 0x40000003), EPERM, "an i386 call (int 0x80)");
  assert.equal(evaluate(p, 102, 0x40000003), EPERM, "i386 socketcall");
});

Deno.test("seccomp program: aarch64 refuses socket (198) and io_uring_setup; unknown arch: none", () => {
  const p = socketDenyProgram("aarch64")!;
  const a = SECCOMP_ARCHES.aarch64.auditArch;
  assert.equal(evaluate(p, 198, a), EPERM);
  assert.equal(evaluate(p, 425, a), EPERM);
  for (const nr of [0, 41, 63, 64, 199, 203, 221]) assert.equal(evaluate(p, nr, a), ALLOW);
  assert.equal(evaluate(p, 198, SECCOMP_ARCHES.x86_64.auditArch), EPERM, "another arch");
  assert.equal(socketDenyProgram("riscv64"), null);
  assert.deepEqual(socketDenyProgram(Deno.build.arch), socketDenyProgram());
});

const PYTHON = ["/usr/bin/python3", "/bin/python3"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});

/** Each attempt prints `<what> ok` or `<what> errno <n>`. */
const ATTEMPTS = `
import ctypes, errno, socket
def attempt(what, f):
    try:
        f(); print(what, "ok")
    except OSError as e:
        print(what, "errno", e.errno)
attempt("inet", lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
attempt("inet6", lambda: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM))
attempt("unix", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
attempt("netlink", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW))
attempt("pair", lambda: socket.socketpair())
libc = ctypes.CDLL(None, use_errno=True)
params = ctypes.create_string_buffer(120)
def uring():
    if libc.syscall(425, 1, params) < 0:
        n = ctypes.get_errno(); raise OSError(n, errno.errorcode.get(n, "?"))
attempt("io_uring", uring)
`;

async function attemptsIn(withProgram: boolean): Promise<Record<string, string>> {
  const bwrap = await probeSandbox();
  assert.ok(bwrap.ok);
  const r = await runBounded(bwrap.bin, {
    args: [
      ...(withProgram ? ["--seccomp", String(SECCOMP_FD)] : []),
      "--unshare-pid",
      "--ro-bind",
      "/",
      "/",
      "--dev",
      "/dev",
      "--proc",
      "/proc",
      "--",
      PYTHON!,
      "-c",
      ATTEMPTS,
    ],
    env: { PATH: "/usr/bin:/bin", LC_ALL: "C" },
    ...(withProgram ? { stdin: socketDenyProgram()! } : {}),
    maxStdoutBytes: 1 << 16,
    timeoutMs: 30_000,
  });
  assert.equal(r.code, 0, r.stderr);
  const out = new TextDecoder().decode(r.stdout).trim().split("\n");
  return Object.fromEntries(out.map((l) => [l.split(" ")[0], l.split(" ").slice(1).join(" ")]));
}

Deno.test({
  name: "seccomp program in bwrap: no socket of any family, no io_uring; socketpair works",
  ignore: Deno.build.os !== "linux" || socketDenyProgram() === null,
  async fn() {
    assert.ok(PYTHON, "python3 is needed (.ci/run installs it)");
    const avail = await probeSandbox({ fresh: true });
    assert.ok(avail.ok && avail.kind === "bwrap", JSON.stringify(avail));
    assert.equal(avail.seccomp, true, "the probe found bwrap able to apply the program");
    const refused = await attemptsIn(true);
    for (const what of ["inet", "inet6", "unix", "netlink", "io_uring"]) {
      assert.equal(refused[what], "errno 1", `${what}: ${JSON.stringify(refused)}`);
    }
    assert.equal(refused.pair, "ok");
    // The same calls without the program: the refusals above are the program's.
    const open = await attemptsIn(false);
    for (const what of ["inet", "inet6", "unix", "netlink", "pair"]) {
      assert.equal(open[what], "ok", `${what}: ${JSON.stringify(open)}`);
    }
    assert.notEqual(open.io_uring, "errno 1", JSON.stringify(open));
  },
});
