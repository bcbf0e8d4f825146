/**
 * @module
 * The physical network of the real-tailnet tests: one namespace per host, all on one Linux
 * bridge, and no route out. Namespaces are named `cmtn-<random>-<role>`; the bridge `br0`
 * lives in the `hub` namespace (which also runs headscale); every other host gets a veth pair
 * (`v<role>` on the bridge, `eth0` inside). Addresses come from 198.18.0.0/24 (RFC 2544
 * benchmarking range: never routed anywhere). No namespace has a default route and the root
 * namespace is not attached, so nothing can leave the machine.
 *
 * @example
 * ```ts
 * import { createLan } from "./net.ts";
 * const lan = await createLan(["laptop", "server"]);
 * try {
 *   console.log(lan.ns.server, lan.addr.server); // cmtn-1a2b3c4d-server 198.18.0.3
 * } finally {
 *   await lan.destroy();
 * }
 * ```
 */
import { exec, IP, mustExec } from "./proc.ts";

/** The hub's address on the bridge (headscale, DERP, STUN listen here). */
export const HUB_ADDR = "198.18.0.1";
const PREFIX = "198.18.0";

/** Live namespaces on one bridge. */
export interface Lan {
  /** Role → namespace name (`hub` included). */
  ns: Record<string, string>;
  /** Role → address on the bridge (`hub` included). */
  addr: Record<string, string>;
  /** Kills every process still inside the namespaces (only ours can be there), deletes them. */
  destroy(): Promise<void>;
}

async function nsPids(name: string): Promise<number[]> {
  const r = await exec([IP, "netns", "pids", name]);
  return r.code === 0 ? r.stdout.split("\n").map((l) => l.trim()).filter(Boolean).map(Number) : [];
}

async function deleteNamespace(name: string): Promise<void> {
  for (let round = 0; round < 50; round++) {
    const pids = await nsPids(name);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* gone */ }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await exec([IP, "netns", "del", name]);
}

/**
 * Creates `hub` plus one namespace per role in `roles` (lowercase words, at most 8 letters),
 * addresses `198.18.0.1` (hub), `.2`, `.3`, ... in the order given. On failure, everything
 * built so far is removed again.
 */
export async function createLan(roles: string[]): Promise<Lan> {
  const id = crypto.getRandomValues(new Uint8Array(4)).reduce(
    (s, b) => s + b.toString(16).padStart(2, "0"),
    "",
  );
  const all = ["hub", ...roles];
  const ns: Record<string, string> = {};
  const addr: Record<string, string> = {};
  all.forEach((role, i) => {
    if (!/^[a-z]{1,8}$/.test(role)) throw new Error(`bad role name ${role}`);
    ns[role] = `cmtn-${id}-${role}`;
    addr[role] = `${PREFIX}.${i + 1}`;
  });
  const created: string[] = [];
  let destroyed = false;
  const lan: Lan = {
    ns,
    addr,
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      for (const name of created.reverse()) await deleteNamespace(name);
    },
  };
  try {
    for (const role of all) {
      await mustExec([IP, "netns", "add", ns[role]]);
      created.push(ns[role]);
      await mustExec([IP, "-n", ns[role], "link", "set", "lo", "up"]);
    }
    const hub = ns.hub;
    await mustExec([IP, "-n", hub, "link", "add", "br0", "type", "bridge"]);
    await mustExec([IP, "-n", hub, "link", "set", "br0", "up"]);
    await mustExec([IP, "-n", hub, "addr", "add", `${addr.hub}/24`, "dev", "br0"]);
    for (const role of roles) {
      const port = `v${role}`;
      await mustExec([
        IP,
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
      ]);
      await mustExec([IP, "-n", hub, "link", "set", port, "master", "br0"]);
      await mustExec([IP, "-n", hub, "link", "set", port, "up"]);
      await mustExec([IP, "-n", ns[role], "link", "set", "eth0", "up"]);
      await mustExec([IP, "-n", ns[role], "addr", "add", `${addr[role]}/24`, "dev", "eth0"]);
    }
  } catch (e) {
    await lan.destroy();
    throw e;
  }
  return lan;
}

/** True when no namespace named `cmtn-<id>-*` of this LAN is left. */
export async function lanGone(lan: Lan): Promise<boolean> {
  const out = await mustExec([IP, "netns", "list"]);
  return !Object.values(lan.ns).some((n) => out.includes(n));
}
