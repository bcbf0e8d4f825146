/**
 * @module
 * The seccomp program that keeps the worker's own git calls off the network without a network
 * namespace of their own. Pure: classic BPF as bubblewrap's `--seccomp FD` reads it (an array
 * of `struct sock_filter`, little-endian), built for the architecture cmesh runs on.
 *
 * Why: a new network namespace is the dearest part of a sandbox start (the kernel sets up and
 * later tears down a whole network stack), and a git call starts one on every delegation. A git
 * call needs no socket at all, so refusing every way to make one is as tight: `socket(2)` (any
 * family, AF_UNIX too: an abstract unix socket is reachable across a shared namespace) and
 * `io_uring_setup(2)` (io_uring can make sockets without calling `socket`). `socketpair(2)`
 * stays: it reaches nothing outside. A call through another ABI (x32, or 32-bit compat, whose
 * `socketcall` multiplexes the socket calls) is refused whole. Refusals fail with `EPERM`.
 *
 * Runners keep their own network namespace: a runner's CLI may use unix sockets of its own.
 *
 * @example
 * ```ts
 * import { socketDenyProgram } from "./seccomp.ts";
 * const program = socketDenyProgram("x86_64"); // 9 instructions, 72 bytes
 * // bwrap --seccomp 0 ... with `program` written to bwrap's stdin
 * ```
 */

/** One classic BPF instruction: `code`, jump if true, jump if false, `k`. */
type Instruction = readonly [code: number, jt: number, jf: number, k: number];

/** Opcodes used (linux/bpf_common.h). */
const LD_W_ABS = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JEQ_K = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JGE_K = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const RET_K = 0x06; // BPF_RET | BPF_K

/** Offsets in `struct seccomp_data`. */
const NR = 0;
const ARCH = 4;

const SECCOMP_RET_ALLOW = 0x7fff0000;
const EPERM = 1;
const SECCOMP_RET_ERRNO_EPERM = 0x00050000 | EPERM;

/** What the program checks, per architecture (linux/audit.h, the syscall tables). */
interface ArchCalls {
  auditArch: number;
  socket: number;
  ioUringSetup: number;
  /** Syscall numbers at or above this are another ABI on the same arch (x32); none: 0. */
  otherAbiFrom: number;
}

/** The architectures a program is built for (Deno's `Deno.build.arch` names). */
export const SECCOMP_ARCHES: Readonly<Record<string, ArchCalls>> = {
  x86_64: { auditArch: 0xc000003e, socket: 41, ioUringSetup: 425, otherAbiFrom: 0x40000000 },
  aarch64: { auditArch: 0xc00000b7, socket: 198, ioUringSetup: 425, otherAbiFrom: 0 },
};

/**
 * The program for `arch` (default: this machine's), or null when there is none for it (the
 * caller then keeps the network namespace).
 *
 * @example
 * ```ts
 * socketDenyProgram("x86_64")?.byteLength; // 72
 * socketDenyProgram("riscv64"); // null
 * ```
 */
export function socketDenyProgram(arch: string = Deno.build.arch): Uint8Array | null {
  const a = SECCOMP_ARCHES[arch];
  if (a === undefined) return null;
  // Jumps count the instructions skipped; both refusals land on the last instruction.
  const body: Instruction[] = [
    [LD_W_ABS, 0, 0, NR],
    ...(a.otherAbiFrom > 0 ? [[JGE_K, 3, 0, a.otherAbiFrom] as const] : []),
    [JEQ_K, 2, 0, a.socket],
    [JEQ_K, 1, 0, a.ioUringSetup],
    [RET_K, 0, 0, SECCOMP_RET_ALLOW],
    [RET_K, 0, 0, SECCOMP_RET_ERRNO_EPERM],
  ];
  const program: Instruction[] = [
    [LD_W_ABS, 0, 0, ARCH],
    [JEQ_K, 1, 0, a.auditArch],
    [RET_K, 0, 0, SECCOMP_RET_ERRNO_EPERM], // another architecture's calls: refused whole
    ...body,
  ];
  const view = new DataView(new ArrayBuffer(program.length * 8));
  program.forEach(([code, jt, jf, k], i) => {
    view.setUint16(i * 8, code, true);
    view.setUint8(i * 8 + 2, jt);
    view.setUint8(i * 8 + 3, jf);
    view.setUint32(i * 8 + 4, k >>> 0, true);
  });
  return new Uint8Array(view.buffer);
}
