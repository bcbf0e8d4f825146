/**
 * @module
 * The world the worker system tests run in: fresh network namespaces on one bridge, a LocalAPI
 * double and a real `cmesh daemon` inside the worker namespace, a fake runner, an allowed cwd
 * root holding a git repo, and a directory outside it reachable through a symlink.
 *
 * | role (namespace `cmt-<id>-<role>`) | addresses | LocalAPI double says | cmesh policy |
 * | --- | --- | --- | --- |
 * | `w` (worker, bridge `br0`) | 100.64.0.1/10, 10.99.0.1/24 | self `worker` | — |
 * | `laptop` | 100.64.0.2/10 | `laptop`, alice@example.com | `inbound.allow[0]` (peer) |
 * | `desktop` | 100.64.0.4/10 | `desktop`, bob@example.com | `inbound.allow[1]` (login) |
 * | `printer` | 100.64.0.5/10 | `printer`, tag:printer | no rule |
 * | `stranger` | 100.64.0.3/10 | unknown (whois 404) | — |
 * | `lan` | 10.99.0.2/24, route to 100.64.0.1 on-link | — | — |
 */
import { join } from "node:path";
import {
  type ConfigInput,
  createNode,
  type DaemonProcess,
  makeRepo,
  Teardown,
} from "../support/daemon.ts";
import { fakeAgentManifestToml } from "../support/fake_agent.ts";
import {
  createTopology,
  curlFrom,
  type CurlResult,
  nsWrap,
  type Topology,
} from "../support/netns.ts";
import { type NsLocalApiDouble, startNsLocalApiDouble } from "./ns_localapi_double.ts";

/** The worker's tailnet address, non-tailnet address and port. */
export const WORKER_TAILNET_IP = "100.64.0.1";
export const WORKER_LAN_IP = "10.99.0.1";
export const WORKER_PORT = 7433;
export const CONTROL_PORT = 7434;

/** Client roles and their (only) source address. */
export const CLIENT_IPS = {
  laptop: "100.64.0.2",
  stranger: "100.64.0.3",
  desktop: "100.64.0.4",
  printer: "100.64.0.5",
  lan: "10.99.0.2",
} as const;
/** A client role. */
export type Client = keyof typeof CLIENT_IPS;

/** Everything a test needs. */
export interface WorkerWorld {
  topo: Topology;
  /** Worker namespace name. */
  workerNs: string;
  /** Temp dir holding everything below. */
  base: string;
  /** `CMESH_HOME` of the worker daemon. */
  home: string;
  /** The daemon's database (read it only after the daemon stopped). */
  dbPath: string;
  /** The allowed cwd root (`inbound.allow[*].cwd`). */
  root: string;
  /** A git repo inside the root. */
  repo: string;
  /** A directory outside the root (`root/escape` is a symlink to it). */
  outside: string;
  /** Where runs write pid files. */
  pidDir: string;
  double: NsLocalApiDouble;
  daemon: DaemonProcess | null;
  /** Starts (or restarts) the daemon inside the worker namespace. */
  startDaemon(): Promise<DaemonProcess>;
  /** Stops the daemon (SIGTERM, or SIGKILL with `kill9`). */
  stopDaemon(kill9?: boolean): Promise<void>;
  /** An HTTP request from a client namespace to the worker's tailnet address (default). */
  request(
    from: Client,
    method: string,
    path: string,
    opts?: { json?: unknown; headers?: Record<string, string>; host?: string; port?: number },
  ): Promise<CurlResult>;
  /** Stops everything and removes namespaces and files. */
  destroy(): Promise<void>;
}

function config(w: { socket: string; root: string; sandbox: "required" | "off" }): ConfigInput {
  const rule = { profiles: ["query", "edit"], cwd: [w.root], runners: ["fake"] };
  return {
    node: { name: "worker" },
    daemon: { worker_port: WORKER_PORT, control_port: CONTROL_PORT },
    tailscale: { socket: w.socket, timeout_ms: 2000 },
    sandbox: { mode: w.sandbox },
    inbound: {
      enabled: true,
      max_concurrent: 4,
      allow: [{ peers: ["laptop"], ...rule }, { logins: ["bob@example.com"], ...rule }],
    },
    profiles: { edit: { enabled: true } },
    runners: { fake: { enabled: true } },
  };
}

/**
 * Builds the world. On failure, whatever was built is torn down again. `sandbox` is the
 * worker's `[sandbox] mode` (default `required`).
 */
export async function createWorkerWorld(
  opts: { sandbox?: "required" | "off" } = {},
): Promise<WorkerWorld> {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "cmt-world-" }));
  const root = join(base, "root");
  const repo = join(root, "repo");
  const outside = join(base, "outside");
  const pidDir = join(base, "pids");
  const tsDir = join(base, "ts");
  for (const d of [root, outside, pidDir, tsDir]) await Deno.mkdir(d, { recursive: true });
  await makeRepo(repo);
  await Deno.writeTextFile(join(outside, "secret.txt"), "outside the root\n");
  await Deno.symlink(outside, join(root, "escape"));
  const socket = join(tsDir, "tailscaled.sock");

  const teardown = new Teardown();
  teardown.add(base, (b) => Deno.remove(b, { recursive: true }));
  try {
    const t = teardown.add(
      await createTopology({
        bridgeNs: "w",
        namespaces: {
          w: [`${WORKER_TAILNET_IP}/10`, `${WORKER_LAN_IP}/24`],
          laptop: [`${CLIENT_IPS.laptop}/10`],
          desktop: [`${CLIENT_IPS.desktop}/10`],
          printer: [`${CLIENT_IPS.printer}/10`],
          stranger: [`${CLIENT_IPS.stranger}/10`],
          lan: [`${CLIENT_IPS.lan}/24`],
        },
        // The LAN host can reach the worker's tailnet address directly on the shared link, as
        // a spoofing or misrouted host would: the worker must refuse it on the source address.
        routes: { lan: [[`${WORKER_TAILNET_IP}/32`, "dev", "eth0"]] },
      }),
      (topo) => topo.destroy(),
    );
    const double = teardown.add(
      await startNsLocalApiDouble(t.ns.w, socket, {
        self: { name: "worker", ips: [WORKER_TAILNET_IP], tags: ["tag:worker"] },
        nodes: [
          { name: "laptop", ips: [CLIENT_IPS.laptop], login: "alice@example.com" },
          { name: "desktop", ips: [CLIENT_IPS.desktop], login: "bob@example.com" },
          { name: "printer", ips: [CLIENT_IPS.printer], tags: ["tag:printer"] },
        ],
      }, join(tsDir, "double.json")),
      (d) => d.close(),
    );
    const node = teardown.add(
      await createNode(join(base, "home"), {
        wrap: nsWrap(t.ns.w),
        config: config({ socket, root, sandbox: opts.sandbox ?? "required" }),
        runners: { fake: fakeAgentManifestToml(["query", "edit"]) },
      }),
      (n) => n.stop(),
    );
    return {
      topo: t,
      workerNs: t.ns.w,
      base,
      home: node.home,
      dbPath: node.dbPath,
      root,
      repo,
      outside,
      pidDir,
      double,
      get daemon() {
        return node.daemon;
      },
      set daemon(p) {
        node.daemon = p;
      },
      startDaemon: () => node.start(),
      stopDaemon: (kill9) => node.stop(kill9),
      request(from, method, path, opts = {}) {
        const host = opts.host ?? WORKER_TAILNET_IP;
        const url = `http://${host}:${opts.port ?? WORKER_PORT}${path}`;
        return curlFrom(t.ns[from], method, url, { json: opts.json, headers: opts.headers });
      },
      destroy: () => teardown.run(),
    };
  } catch (e) {
    await teardown.run();
    throw e;
  }
}

/** A fresh task id. */
export function taskId(label: string): string {
  return `t-${label}-${crypto.randomUUID().slice(0, 8)}`;
}

/** The `{error}` of a JSON error answer (or an empty object). */
export function errorOf(r: CurlResult): { code?: string; message?: string; rule?: string } {
  const body = r.json as { error?: { code?: string; message?: string; rule?: string } } | undefined;
  return body?.error ?? {};
}

/** Describes an answer for assertion messages. */
export function show(r: CurlResult): string {
  return `curl exit ${r.curlExit}, HTTP ${r.status}: ${r.text.slice(0, 600)} ${r.stderr.trim()}`;
}

/** The whois addresses (`ip:port`) the LocalAPI double was asked about, in order. */
export function whoisAddrs(requests: { path: string; query: string }[]): string[] {
  return requests
    .filter((r) => r.path === "/localapi/v0/whois")
    .map((r) => new URLSearchParams(r.query).get("addr") ?? "");
}
