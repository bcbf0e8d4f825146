/**
 * @module
 * The whole real-tailnet test world, built once for all steps of `real_tailnet_test.ts`:
 *
 * | namespace (`cmtn-<id>-<role>`) | bridge address | runs | tailnet identity |
 * | --- | --- | --- | --- |
 * | `hub` (bridge `br0`) | 198.18.0.1 | headscale: control (TLS :8443), embedded DERP (:8443), STUN (udp/3478) | — |
 * | `laptop` | 198.18.0.2 | tailscaled, cmesh daemon (requester) | user `alice` |
 * | `server` | 198.18.0.3 | tailscaled (persistent TUN), cmesh daemon (worker, demo runner) | `tag:cmesh-server` |
 * | `intruder` | 198.18.0.4 | tailscaled, cmesh daemon (requester) | user `mallory` |
 *
 * The server's cmesh config allows only the peer `laptop` (profiles query+edit, demo runner,
 * cwd = the test root) and requires the tailnet capability `example.com/cap/cmesh`; what the
 * laptop may really do is then decided by the grants in the headscale policy (policy.ts).
 * Each cmesh daemon talks only to its own tailscaled socket.
 *
 * @example
 * ```ts
 * import { createTailnetWorld } from "./world.ts";
 * const w = await createTailnetWorld(bins);
 * try {
 *   const r = await w.cmesh("laptop", "peers", "--json");
 * } finally {
 *   await w.destroy();
 * }
 * ```
 */
import { join } from "node:path";
import {
  cmeshArgs,
  type CmeshNode,
  type ConfigInput,
  createNode,
  type DaemonProcess,
  makeRepo,
  REPO_ROOT,
  runCmesh,
} from "../support/daemon.ts";
import type { TailnetBins } from "./bins.ts";
import { type Headscale, startHeadscale } from "./headscale.ts";
import { createLan, HUB_ADDR, type Lan } from "./net.ts";
import { startNode, type TailnetNode } from "./node.ts";
import { makeTestPki } from "./pki.ts";
import {
  CMESH_CAP,
  INTRUDER_USER,
  LAPTOP_USER,
  type PolicySpec,
  REV_CAP,
  SERVER_TAG,
  tailnetPolicy,
} from "./policy.ts";
import { type CommandOutput, nsWrap, run } from "../support/proc.ts";
import { tail, waitUntil } from "./proc.ts";

/** The cmesh worker port (the grants open exactly this one). */
export const WORKER_PORT = 7433;
/** A port the intruder may be granted instead: nothing listens there. */
export const DECOY_PORT = 7435;
const CONTROL_PORT = 7434;
/** cmesh's whois cache keeps a successful answer this long (src/tailscale/whois_cache.ts). */
const WHOIS_CACHE_MS = 2000;

/** The three tailnet nodes. */
export type Role = "laptop" | "server" | "intruder";
const ROLES: Role[] = ["laptop", "server", "intruder"];

/** One audit record as `cmesh audit list --json` prints it. */
export interface AuditRow {
  seq: number;
  kind: string;
  task_id: string | null;
  actor: Record<string, unknown> | null;
  decision: "allow" | "deny" | null;
  rule: string | null;
  reason: string | null;
  data: Record<string, unknown> | null;
}

/** A finished cmesh CLI run, with its stdout parsed when it is JSON. */
export interface CmeshRun extends CommandOutput {
  json: Record<string, unknown> | undefined;
}

/** The world. */
export interface TailnetWorld {
  base: string;
  lan: Lan;
  hs: Headscale;
  nodes: Record<Role, TailnetNode>;
  /** IPv4 tailnet address of each node. */
  ip: Record<Role, string>;
  /** `CMESH_HOME` of each node's cmesh. */
  home: Record<Role, string>;
  daemons: Partial<Record<Role, DaemonProcess>>;
  /** The server's allowed cwd root, and a git repo inside it. */
  root: string;
  repo: string;
  /** The policy revision now in force. */
  policy: PolicySpec;
  /** Runs the cmesh CLI inside `role`'s namespace (its daemon's control API is on its loopback). */
  cmesh(role: Role, ...args: string[]): Promise<CmeshRun>;
  /** `role`'s audit records, oldest first. */
  audit(role: Role): Promise<AuditRow[]>;
  /** Sets a policy revision and waits until the server has it (see policy.ts). */
  setPolicy(change: Omit<PolicySpec, "rev">): Promise<void>;
  startDaemon(role: Role): Promise<DaemonProcess>;
  stopDaemon(role: Role): Promise<void>;
  /** Log tails of every process, for a failing assertion. */
  diagnostics(): Promise<string>;
  /** Stops everything, deletes the namespaces and the temp dir. Safe to call twice. */
  destroy(): Promise<void>;
}

/** The worker. node.name is left out on purpose: it comes from the real tailscaled status. */
function serverConfig(o: { socket: string; root: string }): ConfigInput {
  return {
    daemon: { worker_port: WORKER_PORT, control_port: CONTROL_PORT },
    tailscale: { socket: o.socket, timeout_ms: 2000, app_capability: CMESH_CAP },
    inbound: {
      enabled: true,
      allow: [{ peers: ["laptop"], profiles: ["query", "edit"], cwd: [o.root], runners: ["demo"] }],
    },
    profiles: { edit: { enabled: true } },
    runners: { demo: {} },
  };
}

/** A requester (inbound stays disabled). */
function requesterConfig(o: { socket: string; profiles: string[] }): ConfigInput {
  return {
    daemon: { control_port: CONTROL_PORT },
    tailscale: { socket: o.socket, timeout_ms: 2000 },
    outbound: { peers: [{ name: "server", profiles: o.profiles }] },
  };
}

/** The initial policy: laptop may query with the demo runner; intruder may reach the port. */
export function initialPolicy(root: string): Omit<PolicySpec, "rev"> {
  return {
    laptopCmesh: [{ profiles: ["query"], cwd: [`${root}/**`], runners: ["demo"] }],
    intruderPorts: [`tcp:${WORKER_PORT}`],
  };
}

/** Builds the world; on any failure everything built so far is torn down again. */
export async function createTailnetWorld(bins: TailnetBins): Promise<TailnetWorld> {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "cmtn-world-" }));
  const root = join(base, "root");
  const repo = join(root, "repo");
  await makeRepo(repo);
  await Deno.writeTextFile(join(repo, "tailnet.txt"), "the tailnet marker lives here\n");

  let lan: Lan | null = null;
  let hs: Headscale | null = null;
  const nodes: Partial<Record<Role, TailnetNode>> = {};
  const daemons: Partial<Record<Role, DaemonProcess>> = {};
  const cmeshNodes: Partial<Record<Role, CmeshNode>> = {};
  const home = Object.fromEntries(ROLES.map((r) => [r, join(base, r, "cmesh")])) as Record<
    Role,
    string
  >;
  let destroyed = false;
  const destroy = async () => {
    if (destroyed) return;
    destroyed = true;
    for (const role of ROLES) await cmeshNodes[role]?.stop().catch(() => {});
    for (const role of ROLES) await nodes[role]?.kill("SIGTERM").catch(() => {});
    await hs?.stop().catch(() => {});
    await lan?.destroy();
    await Deno.remove(base, { recursive: true }).catch(() => {});
  };
  const diagnostics = async () => {
    const parts: string[] = [];
    if (hs) parts.push(`--- headscale (${hs.log})\n${await tail(hs.log, 30)}`);
    for (const role of ROLES) {
      const n = nodes[role];
      if (n) parts.push(`--- tailscaled ${role}\n${await tail(n.log, 30)}`);
      const d = daemons[role];
      if (d) {
        parts.push(`--- cmesh daemon ${role}\n${d.stderr().split("\n").slice(-30).join("\n")}`);
      }
    }
    return parts.join("\n");
  };

  try {
    lan = await createLan(ROLES);
    const pki = await makeTestPki(join(base, "pki"), HUB_ADDR);
    hs = await startHeadscale({
      bin: bins.headscale,
      ns: lan.ns.hub,
      dir: join(base, "headscale"),
      addr: HUB_ADDR,
      pki,
    });
    const alice = await hs.createUser(LAPTOP_USER);
    const mallory = await hs.createUser(INTRUDER_USER);
    let policy: PolicySpec = { rev: 1, ...initialPolicy(root) };
    await hs.setPolicy(tailnetPolicy(policy));
    const keys: Record<Role, string> = {
      laptop: await hs.preauthKey({ user: alice }),
      server: await hs.preauthKey({ tags: [SERVER_TAG] }),
      intruder: await hs.preauthKey({ user: mallory }),
    };
    for (const role of ROLES) {
      nodes[role] = await startNode({
        role,
        ns: lan.ns[role],
        dir: join(base, role),
        bins,
        caPem: pki.caPem,
        persistentTun: role === "server",
      });
      await nodes[role]!.up(keys[role], hs.url);
    }
    const n = nodes as Record<Role, TailnetNode>;
    const ip = {} as Record<Role, string>;
    for (const role of ROLES) ip[role] = await n[role].ipv4();
    // Both requesters must see the server online before anything is delegated.
    for (const role of ["laptop", "intruder"] as const) {
      await waitUntil(`${role} to see the server online`, async () => {
        const peers = Object.values((await n[role].status()).Peer ?? {});
        return peers.some((p) => p.HostName === "server" && p.Online) ? true : undefined;
      });
    }
    for (const role of ROLES) {
      cmeshNodes[role] = await createNode(home[role], {
        wrap: nsWrap(lan.ns[role]),
        timeoutMs: 60_000,
        config: role === "server"
          ? serverConfig({ socket: n.server.socket, root })
          : requesterConfig({
            socket: n[role].socket,
            profiles: role === "laptop" ? ["query", "edit"] : ["query"],
          }),
      });
    }

    const world: TailnetWorld = {
      base,
      lan,
      hs,
      nodes: n,
      ip,
      home,
      daemons,
      root,
      repo,
      policy,
      async cmesh(role, ...args) {
        const r = await run([Deno.execPath(), ...cmeshArgs(...args)], {
          ns: world.lan.ns[role],
          cwd: REPO_ROOT,
          env: { CMESH_HOME: home[role], NO_COLOR: "1" },
          timeoutMs: 120_000,
        });
        let json: Record<string, unknown> | undefined;
        try {
          json = JSON.parse(r.stdout);
        } catch { /* not JSON */ }
        return { ...r, json };
      },
      async audit(role) {
        const r = await runCmesh(["audit", "list", "--json", "--limit", "10000"], {
          CMESH_HOME: home[role],
        });
        if (r.code !== 0) throw new Error(`cmesh audit list (${role}): ${r.stderr}${r.stdout}`);
        return (JSON.parse(r.stdout) as { records: AuditRow[] }).records;
      },
      async setPolicy(change) {
        policy = { ...change, rev: policy.rev + 1 };
        world.policy = policy;
        await world.hs.setPolicy(tailnetPolicy(policy));
        const rev = policy.rev;
        for (const role of ["laptop", "intruder"] as const) {
          await waitUntil(`the server to receive policy revision ${rev}`, async () => {
            const who = await n.server.whois(ip[role]);
            const caps = (who?.CapMap ?? {}) as Record<string, Array<{ rev?: number }>>;
            return caps[REV_CAP]?.some((v) => v.rev === rev) ? true : undefined;
          });
        }
        // cmesh caches a successful whois for up to 2 s; let answers from the old policy expire.
        await new Promise((r) => setTimeout(r, WHOIS_CACHE_MS + 200));
      },
      async startDaemon(role) {
        daemons[role] = await cmeshNodes[role]!.start();
        return daemons[role]!;
      },
      async stopDaemon(role) {
        delete daemons[role];
        await cmeshNodes[role]!.stop();
      },
      diagnostics,
      destroy,
    };
    for (const role of ROLES) await world.startDaemon(role);
    return world;
  } catch (e) {
    const diag = await diagnostics().catch(() => "");
    await destroy();
    throw new Error(`building the tailnet world failed: ${(e as Error).message}\n${diag}`);
  }
}
