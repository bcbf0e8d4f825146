/**
 * @module
 * Test support for system tests in Linux network namespaces (root only):
 *
 * - {@link systemTestSkipReason}: why these tests cannot run here (not Linux, not root, no
 *   `ip`, `curl`, `ss`, `ps` or `setsid`), or null.
 * - {@link createTopology}: fresh namespaces `cmt-<random>-<role>` (or another prefix) on one
 *   bridge that lives in one of them (`bridgeNs`), each with loopback up and the given
 *   addresses; `destroy()` kills every process still inside them (only processes the test
 *   started: nothing else can be in a namespace it just created) and deletes them.
 * - {@link curlFrom}: an HTTP request made by `curl` from inside a namespace, so the worker
 *   sees a real kernel source address.
 * - {@link nsRun}: a command run to completion inside a namespace.
 * - re-exported from `proc.ts`: {@link run}, {@link nsWrap}, {@link waitFor}, and the process
 *   facts {@link psRows}, {@link processGone}, {@link pidsWithEnv}, {@link envValueOf}.
 *
 * @example
 * ```ts
 * import { createTopology, curlFrom } from "./netns.ts";
 * const topo = await createTopology({
 *   bridgeNs: "w",
 *   namespaces: { w: ["100.64.0.1/10"], a: ["100.64.0.2/10"] },
 * });
 * try {
 *   const r = await curlFrom(topo.ns.a, "GET", "http://100.64.0.1:7433/v1/hello");
 * } finally {
 *   await topo.destroy();
 * }
 * ```
 */
import { type CommandOutput, IP_LOOKED_IN, ipBinary, run } from "./proc.ts";

export {
  type CommandOutput,
  envValueOf,
  ipBinary,
  nsWrap,
  pidsWithEnv,
  processGone,
  type PsRow,
  psRows,
  run,
  waitFor,
} from "./proc.ts";

/**
 * Why network-namespace system tests cannot run on this machine, or null when they can:
 * they need Linux, root (to create namespaces) and the `ip` tool (iproute2).
 */
export function systemTestSkipReason(): string | null {
  if (Deno.build.os !== "linux") return `network namespaces need Linux (this is ${Deno.build.os})`;
  let uid: number | null = null;
  try {
    uid = Deno.uid();
  } catch { /* no sys permission */ }
  if (uid !== 0) return `creating network namespaces needs root (uid is ${uid ?? "unknown"})`;
  if (ipBinary() === null) return `the ip tool (iproute2) is missing (looked in ${IP_LOOKED_IN})`;
  for (const tool of ["/usr/bin/curl", "/usr/bin/setsid", "/usr/bin/ps", "/usr/bin/ss"]) {
    try {
      Deno.statSync(tool);
    } catch {
      return `${tool} is missing`;
    }
  }
  return null;
}

/** Runs `ip ...args`; throws with its stderr when it fails. */
export async function ip(...args: string[]): Promise<string> {
  const bin = ipBinary();
  if (!bin) throw new Error("ip (iproute2) is not installed");
  const r = await run([bin, ...args]);
  if (r.code !== 0) throw new Error(`ip ${args.join(" ")} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** Runs `argv` inside namespace `ns`. */
export function nsRun(
  ns: string,
  argv: string[],
  opts: { stdin?: string; env?: Record<string, string> } = {},
): Promise<CommandOutput> {
  return run(argv, { ...opts, ns });
}

/** What {@link createTopology} builds. */
export interface TopologySpec {
  /** Role of the namespace that holds the bridge `br0` (its addresses go on the bridge). */
  bridgeNs: string;
  /** Role (a short lowercase word) → addresses with prefix length, e.g. `100.64.0.2/10`. */
  namespaces: Record<string, string[]>;
  /** Extra routes per role, as `ip route add` arguments (e.g. `["100.64.0.1/32", "dev", "eth0"]`). */
  routes?: Record<string, string[][]>;
  /** The first part of every name (default `cmt`; CI removes leftovers by it). */
  prefix?: string;
}

/** Live namespaces. */
export interface Topology {
  /** The random part of every name (`<prefix>-<id>-<role>`). */
  id: string;
  /** Role → namespace name. */
  ns: Record<string, string>;
  /** PIDs of every process inside namespace `name` (`ip netns pids`). */
  pids(name: string): Promise<number[]>;
  /** Kills what runs inside the namespaces and deletes them. Safe to call twice. */
  destroy(): Promise<void>;
}

/**
 * Deletes namespace `name` after SIGKILLing every process inside it, again for any that
 * appear while the others die (a namespace stays alive while a process holds it), for 5 s at
 * the most.
 */
async function deleteNamespace(name: string): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const pids = await nsPids(name).catch(() => []);
    if (pids.length === 0 || Date.now() > deadline) break;
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* gone */ }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  await ip("netns", "del", name).catch(() => {});
}

async function nsPids(name: string): Promise<number[]> {
  const out = await ip("netns", "pids", name);
  return out.split("\n").map((l) => l.trim()).filter(Boolean).map(Number);
}

/**
 * Creates one namespace per role, a bridge `br0` in `spec.bridgeNs`, and for every other role a
 * veth pair (`v<role>` on the bridge, `eth0` in the client namespace). Loopback is up
 * everywhere (a new namespace starts with it down). On any failure, what was built is removed.
 */
export async function createTopology(spec: TopologySpec): Promise<Topology> {
  const id = crypto.getRandomValues(new Uint8Array(4)).reduce(
    (s, b) => s + b.toString(16).padStart(2, "0"),
    "",
  );
  const ns: Record<string, string> = {};
  for (const role of Object.keys(spec.namespaces)) {
    if (!/^[a-z]{1,8}$/.test(role)) throw new Error(`bad role name ${role}`);
    ns[role] = `${spec.prefix ?? "cmt"}-${id}-${role}`;
  }
  const created: string[] = [];
  let destroyed = false;
  const topo: Topology = {
    id,
    ns,
    pids: nsPids,
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      for (const name of created.reverse()) await deleteNamespace(name);
    },
  };
  try {
    for (const name of Object.values(ns)) {
      await ip("netns", "add", name);
      created.push(name);
      await ip("-n", name, "link", "set", "lo", "up");
    }
    const hub = ns[spec.bridgeNs];
    await ip("-n", hub, "link", "add", "br0", "type", "bridge");
    await ip("-n", hub, "link", "set", "br0", "up");
    for (const addr of spec.namespaces[spec.bridgeNs]) {
      await ip("-n", hub, "addr", "add", addr, "dev", "br0");
    }
    for (const [role, addrs] of Object.entries(spec.namespaces)) {
      if (role === spec.bridgeNs) continue;
      const port = `v${role}`;
      await ip(
        "-n",
        hub,
        "link",
        "add",
        port,
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        ns[role],
      );
      await ip("-n", hub, "link", "set", port, "master", "br0");
      await ip("-n", hub, "link", "set", port, "up");
      await ip("-n", ns[role], "link", "set", "eth0", "up");
      for (const addr of addrs) await ip("-n", ns[role], "addr", "add", addr, "dev", "eth0");
    }
    for (const [role, routes] of Object.entries(spec.routes ?? {})) {
      for (const r of routes) await ip("-n", ns[role], "route", "add", ...r);
    }
  } catch (e) {
    await topo.destroy();
    throw e;
  }
  return topo;
}

/** An HTTP answer seen by curl inside a namespace. */
export interface CurlResult {
  /** curl's exit code: 0 = got an HTTP answer; 7 = could not connect; 28 = timeout. */
  curlExit: number;
  /** HTTP status (0 when there was no answer). */
  status: number;
  /** Response body text. */
  text: string;
  /** Body parsed as JSON, or undefined. */
  json: unknown;
  /** curl's stderr (connection errors). */
  stderr: string;
}

const STATUS_MARK = "\n__cmt_status__:";

/**
 * Makes one HTTP request with curl from inside namespace `ns`. JSON bodies are sent with
 * `Content-Type: application/json`; `headers` are added verbatim (e.g. forged identity headers).
 */
export async function curlFrom(
  ns: string,
  method: string,
  url: string,
  opts: {
    json?: unknown;
    headers?: Record<string, string>;
    maxTimeS?: number;
    /** Send from this local address (`curl --interface`). */
    sourceIp?: string;
  } = {},
): Promise<CurlResult> {
  const args = ["/usr/bin/curl", "-sS", "--noproxy", "*", "-m", String(opts.maxTimeS ?? 10)];
  if (opts.sourceIp) args.push("--interface", opts.sourceIp);
  args.push("-X", method, "-w", `${STATUS_MARK}%{http_code}`);
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push("-H", `${k}: ${v}`);
  let stdin: string | undefined;
  if (opts.json !== undefined) {
    args.push("-H", "Content-Type: application/json", "--data-binary", "@-");
    stdin = JSON.stringify(opts.json);
  }
  args.push(url);
  const r = await nsRun(ns, args, { stdin });
  const at = r.stdout.lastIndexOf(STATUS_MARK);
  const text = at >= 0 ? r.stdout.slice(0, at) : r.stdout;
  const status = at >= 0 ? Number(r.stdout.slice(at + STATUS_MARK.length).trim()) : 0;
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch { /* not JSON (e.g. SSE) */ }
  return { curlExit: r.code, status, text, json, stderr: r.stderr };
}
