/**
 * @module
 * headscale as the test tailnet's control server, inside the hub namespace:
 *
 * - TLS on `https://198.18.0.1:8443` with the test CA's certificate (pki.ts). TLS is needed
 *   because the embedded DERP relay is only offered over https; the control protocol itself
 *   would be fine on http (ts2021/Noise encrypts it).
 * - The embedded DERP relay (region 999) on the same port and its STUN server on udp/3478;
 *   `derp.urls: []` so no public DERP map is ever fetched.
 * - Policy in the database (`policy.mode: database`): tests change it with
 *   `headscale policy set`, which validates, stores and pushes it to the nodes at once.
 * - No update checks, no logtail, MagicDNS names under `tailnet.cmesh.test` without touching
 *   any resolver (`override_local_dns: false`; the nodes also run `--accept-dns=false`).
 *
 * The `headscale` CLI talks to the server over its unix socket, so it runs from the root
 * namespace.
 *
 * @example
 * ```ts
 * import { startHeadscale } from "./headscale.ts";
 * const hs = await startHeadscale({ bin: "/path/headscale", ns: "cmtn-x-hub", dir: "/tmp/hs",
 *   addr: "198.18.0.1", pki });
 * await hs.createUser("alice");
 * await hs.stop();
 * ```
 */
import { join } from "node:path";
import type { TestPki } from "./pki.ts";
import { run } from "../support/proc.ts";
import { type LoggedProcess, spawnLogged, tail, waitUntil } from "./proc.ts";

/** The DERP region headscale's embedded relay gets. */
export const DERP_REGION_ID = 999;

/** A running headscale. */
export interface Headscale {
  url: string;
  log: string;
  process: LoggedProcess;
  /** Runs the headscale CLI (`-c <config> ...args -o json`) and parses its JSON answer. */
  cli(...args: string[]): Promise<unknown>;
  /** Creates a user; returns its numeric id. */
  createUser(name: string): Promise<number>;
  /** A single-use pre-auth key for a user id, or for tags (the node then belongs to the tags). */
  preauthKey(owner: { user: number } | { tags: string[] }): Promise<string>;
  /** Validates, stores and distributes a policy (JSON/HuJSON document). */
  setPolicy(policy: unknown): Promise<void>;
  stop(): Promise<void>;
}

function configYaml(o: { dir: string; addr: string; pki: TestPki }): string {
  const q = JSON.stringify;
  return `# written by tests/tailnet/headscale.ts
server_url: ${q(`https://${o.addr}:8443`)}
listen_addr: ${q(`${o.addr}:8443`)}
metrics_listen_addr: 127.0.0.1:9090
grpc_listen_addr: 127.0.0.1:50443
grpc_allow_insecure: false
noise:
  private_key_path: ${q(join(o.dir, "noise_private.key"))}
prefixes:
  v4: 100.64.0.0/10
  v6: fd7a:115c:a1e0::/48
  allocation: sequential
derp:
  server:
    enabled: true
    region_id: ${DERP_REGION_ID}
    region_code: headscale
    region_name: cmesh test DERP
    verify_clients: true
    stun_listen_addr: ${q(`${o.addr}:3478`)}
    private_key_path: ${q(join(o.dir, "derp_server_private.key"))}
    automatically_add_embedded_derp_region: true
    ipv4: ${q(o.addr)}
    ipv6: none
  urls: []
  paths: []
  auto_update_enabled: false
disable_check_updates: true
database:
  type: sqlite
  sqlite:
    path: ${q(join(o.dir, "db.sqlite"))}
    write_ahead_log: true
tls_cert_path: ${q(o.pki.certPem)}
tls_key_path: ${q(o.pki.keyPem)}
log:
  level: info
  format: text
policy:
  mode: database
dns:
  magic_dns: true
  base_domain: tailnet.cmesh.test
  override_local_dns: false
unix_socket: ${q(join(o.dir, "headscale.sock"))}
unix_socket_permission: "0770"
logtail:
  enabled: false
taildrop:
  enabled: false
`;
}

/** Starts headscale in namespace `ns` and waits until its CLI answers. */
export async function startHeadscale(o: {
  bin: string;
  ns: string;
  dir: string;
  addr: string;
  pki: TestPki;
}): Promise<Headscale> {
  await Deno.mkdir(o.dir, { recursive: true });
  const config = join(o.dir, "config.yaml");
  await Deno.writeTextFile(config, configYaml(o));
  const log = join(o.dir, "headscale.log");
  const process = spawnLogged(o.ns, [o.bin, "-c", config, "serve"], log, {
    HOME: o.dir,
  });
  const cli = async (...args: string[]): Promise<unknown> => {
    const r = await run([o.bin, "-c", config, ...args, "-o", "json"], {
      clearEnv: true,
      env: { HOME: o.dir, PATH: "/usr/bin:/bin" },
      timeoutMs: 20_000,
    });
    if (r.code !== 0) {
      throw new Error(`headscale ${args.join(" ")} failed (${r.code}): ${r.stderr || r.stdout}`);
    }
    try {
      return r.stdout.trim() ? JSON.parse(r.stdout) : null;
    } catch {
      return r.stdout.trim(); // some commands print plain text even with -o json
    }
  };
  try {
    await waitUntil("headscale to answer on its socket", async () => {
      await cli("users", "list");
      return true;
    }, 30_000);
  } catch (e) {
    await process.stop();
    throw new Error(`${(e as Error).message}\nheadscale log:\n${await tail(log)}`);
  }
  let policyN = 0;
  return {
    url: `https://${o.addr}:8443`,
    log,
    process,
    cli,
    async createUser(name) {
      const u = await cli("users", "create", name) as { id: number };
      return u.id;
    },
    async preauthKey(owner) {
      const args = "user" in owner
        ? ["--user", String(owner.user)]
        : ["--tags", owner.tags.join(",")];
      const k = await cli("preauthkeys", "create", "--expiration", "1h", ...args) as {
        key: string;
      };
      return k.key;
    },
    async setPolicy(policy) {
      const file = join(o.dir, `policy-${++policyN}.hujson`);
      await Deno.writeTextFile(file, JSON.stringify(policy, null, 2) + "\n");
      await cli("policy", "set", "-f", file);
    },
    async stop() {
      await process.stop("SIGTERM", 5000);
    },
  };
}
