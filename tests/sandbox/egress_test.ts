/**
 * Proof of egress, as figures: a custom runner whose "agent" executes its prompt as a
 * `/bin/sh` script runs through the real daemon, executor, sandbox and egress proxy, under
 * `model`, `none` and `host`, and tries to reach: the allowed model server (positive control),
 * another service on the host's 127.0.0.1, the worker's control API, a worker port in another
 * network namespace, and an arbitrary host by name (DNS, and through the proxy). Each attempt
 * is refused and the table says by what. The model server is on the host's 127.0.0.1 and is
 * reachable under `model` only because the config names it (`egress_hosts`).
 *
 * Runs as root, and (as root) again with the daemon as an ordinary user (`nobody`, so bwrap
 * adds a user namespace).
 */
import assert from "node:assert/strict";
import { query } from "../reliability/_helpers.ts";
import { createTopology, ip, nsWrap, run, systemTestSkipReason } from "../support/netns.ts";
import {
  createEscapeWorld,
  type EscapeWorld,
  userModeSkipReason,
  type WorldUser,
} from "./_world.ts";

/** One network attempt: a shell command printing what it got, and what must refuse it. */
interface Attempt {
  name: string;
  cmd: string;
  /** What `model` must show (a refusal, or for the positive control the answer). */
  model: RegExp;
  /** What refuses it under `model`, for the table. */
  by: string;
  /** Under `none`: refused too (the positive control included). */
  none: RegExp;
  /** Under `host` (today's behaviour): what it gets. */
  host?: RegExp;
}

const REFUSED_BY_PROXY = /cmesh egress: \S+ is not an allowed model host of this run[^]* HTTP 403/;
/** Nothing listens there, or no route at all: curl's connect errors, rc 7. */
const NO_CONNECT = /rc=7|Couldn't connect|Network is unreachable|Failed to connect/;
/** No DNS (rc 6) or no connection (rc 7). */
const NO_NETWORK = /rc=6|Could not resolve host|rc=7/;

interface Ports {
  model: number;
  local: number;
  control: number;
  peerAddr: string;
  peerPort: number;
}

/** curl without the proxy: straight at the address, from the run's own network namespace. */
const direct = (url: string) => `out=$(curl -sS -m 5 --noproxy '*' ${url} 2>&1); echo "$out rc=$?"`;
/** curl through the run's HTTP(S)_PROXY (the daemon's egress proxy), `NO_PROXY` ignored. */
const viaProxy = (url: string) =>
  `out=$(curl -sS -m 5 --noproxy '' -w ' HTTP %{http_code}' ${url} 2>&1); echo "$out rc=$?"`;

function attempts(p: Ports): Attempt[] {
  return [
    {
      name: "positive control: the model server named in egress_hosts",
      cmd: direct(`http://127.0.0.1:${p.model}/v1/models`),
      model: /MODEL-ANSWER/,
      by: "allowed: a tunnel on the run's 127.0.0.1 to the daemon's proxy, which connects there",
      none: NO_CONNECT,
      host: /MODEL-ANSWER/,
    },
    {
      name: "another service on the host's 127.0.0.1",
      cmd: direct(`http://127.0.0.1:${p.local}/`),
      model: NO_CONNECT,
      by: "network namespace: the run's 127.0.0.1 is its own; nothing listens there",
      none: NO_CONNECT,
      host: /LOCAL-SERVICE/,
    },
    {
      name: "the same service through the egress proxy",
      cmd: viaProxy(`http://127.0.0.1:${p.local}/`),
      model: REFUSED_BY_PROXY,
      by: "egress proxy: 127.0.0.1:<port> is not an allowed destination (403)",
      none: NO_CONNECT,
    },
    {
      name: "the worker's control API",
      cmd: direct(`http://127.0.0.1:${p.control}/v1/status`),
      model: NO_CONNECT,
      by: "network namespace: the host's loopback is not reachable",
      none: NO_CONNECT,
      host: /HTTP|\{|401|rc=0/,
    },
    {
      name: "the worker's control API through the egress proxy",
      cmd: viaProxy(`http://127.0.0.1:${p.control}/v1/status`),
      model: REFUSED_BY_PROXY,
      by: "egress proxy: the control port is not an allowed destination (403)",
      none: NO_CONNECT,
    },
    {
      name: "a worker port in another network namespace",
      cmd: direct(`http://${p.peerAddr}:${p.peerPort}/v1/hello`),
      model: NO_CONNECT,
      by: "network namespace: no route but loopback",
      none: NO_CONNECT,
      host: /PEER-WORKER/,
    },
    {
      name: "the other namespace's worker port through the egress proxy",
      cmd: viaProxy(`http://${p.peerAddr}:${p.peerPort}/v1/hello`),
      model: REFUSED_BY_PROXY,
      by: "egress proxy: not an allowed destination (403)",
      none: NO_CONNECT,
    },
    {
      name: "resolve an arbitrary host name",
      cmd: `getent hosts example.com; echo "rc=$?"`,
      model: /^rc=2$/m,
      by: "network namespace: no DNS server reachable (getent: not found)",
      none: /^rc=2$/m,
    },
    {
      name: "an arbitrary host through the egress proxy (CONNECT)",
      cmd: `out=$(curl -sS -m 5 https://example.com/ 2>&1); echo "$out rc=$?"`,
      model: /CONNECT tunnel failed, response 403/,
      by: "egress proxy: example.com:443 is not an allowed destination (403 before any lookup)",
      none: NO_NETWORK,
    },
  ];
}

/** A tiny HTTP server on the host's loopback answering `text`. */
function serve(text: string) {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response(text));
}

/** Runs every attempt as one task under `profile`, returns name → output. */
async function runAttempts(
  w: EscapeWorld,
  list: Attempt[],
  tag: string,
  profile = "query",
): Promise<{ out: Map<string, string>; taskId: string }> {
  const marker = (i: number) => `@@${tag}-${i}@@`;
  const script = list.map((a, i) => `echo '${marker(i)}'; ${a.cmd}`).join("\n") +
    `\necho '${marker(list.length)}'`;
  const id = `egress-${tag}-${crypto.randomUUID().slice(0, 8)}`;
  const r = await w.submit(id, profile, script);
  const body = await r.text();
  assert.ok(r.status === 202 || r.status === 200, `submit ${r.status}: ${body}`);
  const result = await w.result(id);
  const text = result.claims.final_text ?? "";
  assert.equal(result.state, "succeeded", `${tag}: ${JSON.stringify(result.error)} ${text}`);
  const out = new Map<string, string>();
  list.forEach((a, i) => {
    const from = text.indexOf(marker(i)) + marker(i).length;
    out.set(a.name, text.slice(from, text.indexOf(marker(i + 1))).trim());
  });
  return { out, taskId: id };
}

/**
 * A peer namespace with a "worker port" (socat answering PEER-WORKER) on 100.64.91.2, joined
 * to the host's namespace by a veth on the same /24 (so under `host` the run reaches it: the
 * positive control that the `model` refusal is the sandbox's doing, not a missing route).
 */
async function withPeer<T>(fn: (addr: string, port: number) => Promise<T>): Promise<T> {
  const topo = await createTopology({
    bridgeNs: "hub",
    namespaces: { hub: ["100.64.91.1/24"], peer: ["100.64.91.2/24"] },
  });
  const hostLink = `cme${topo.id}`;
  const port = 7433;
  let server: Deno.ChildProcess | null = null;
  const cleanup: (() => Promise<unknown>)[] = [];
  try {
    await ip(
      "link",
      "add",
      hostLink,
      "type",
      "veth",
      "peer",
      "name",
      "vhost",
      "netns",
      topo.ns.hub,
    );
    await ip("-n", topo.ns.hub, "link", "set", "vhost", "master", "br0");
    await ip("-n", topo.ns.hub, "link", "set", "vhost", "up");
    await ip("addr", "add", "100.64.91.3/24", "dev", hostLink);
    await ip("link", "set", hostLink, "up");
    const response = await Deno.makeTempFile({ dir: "/var/tmp", prefix: "cmesh-egress-peer-" });
    await Deno.writeTextFile(
      response,
      "HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\nPEER-WORKER\n",
    );
    cleanup.push(() => Deno.remove(response));
    const argv = [
      ...nsWrap(topo.ns.peer),
      "/usr/bin/socat",
      `TCP-LISTEN:${port},bind=100.64.91.2,reuseaddr,fork`,
      `SYSTEM:cat ${response}`,
    ];
    server = new Deno.Command(argv[0], { args: argv.slice(1), stdout: "null", stderr: "null" })
      .spawn();
    // Ready when the host reaches it (the positive control of the route itself).
    for (let i = 0;; i++) {
      const r = await run(["/usr/bin/curl", "-s", "-m", "2", `http://100.64.91.2:${port}/`]);
      if (r.stdout.includes("PEER-WORKER")) break;
      if (i > 100) throw new Error(`the peer listener did not answer: ${r.stderr}`);
      await new Promise((res) => setTimeout(res, 50));
    }
    return await fn("100.64.91.2", port);
  } finally {
    try {
      server?.kill("SIGKILL");
    } catch { /* gone */ }
    await server?.status;
    await ip("link", "del", hostLink).catch(() => "");
    await topo.destroy();
    for (const c of cleanup) await c().catch(() => {});
  }
}

async function suite(user: WorldUser): Promise<void> {
  const model = serve("MODEL-ANSWER");
  const local = serve("LOCAL-SERVICE");
  try {
    await withPeer(async (peerAddr, peerPort) => {
      const table: string[] = [];
      for (const mode of ["model", "none", "host"] as const) {
        const w = await createEscapeWorld(user, {
          runner: mode === "model"
            ? { egress: "model", egress_hosts: [`127.0.0.1:${model.addr.port}`] }
            : { egress: mode },
        });
        try {
          const list = attempts({
            model: model.addr.port,
            local: local.addr.port,
            control: w.controlPort,
            peerAddr,
            peerPort,
          });
          // Under `host` only attempts aimed at this machine and the test's namespaces run (no
          // name lookups, nothing beyond them).
          const chosen = mode === "host" ? list.filter((a) => a.host !== undefined) : list;
          const { out, taskId } = await runAttempts(w, chosen, `${user}-${mode}`);
          for (const a of chosen) {
            const got = out.get(a.name) ?? "";
            const want = mode === "model" ? a.model : mode === "none" ? a.none : a.host;
            if (want === undefined) continue;
            assert.match(got, want, `${mode}: ${a.name}: got ${JSON.stringify(got)}`);
            if (mode === "model") table.push(`| ${a.name} | ${a.by} |`);
          }
          if (mode === "model") {
            // `full` has the user's file view, yet the same network: egress is per runner.
            const full = (await runAttempts(w, list, `${user}-model-full`, "full")).out;
            for (const a of list) {
              const got = full.get(a.name) ?? "";
              assert.match(got, a.model, `model/full: ${a.name}: got ${JSON.stringify(got)}`);
            }
            // The run's events say what the proxy allowed and refused; the audit names the mode.
            const db = `${w.stateDir}/cmesh.db`;
            const events = query<{ text: string }>(
              db,
              "SELECT text FROM task_events WHERE task_id = ? ORDER BY seq",
              taskId,
            ).map((e) => e.text).join("\n");
            assert.match(events, new RegExp(`egress allowed 127\\.0\\.0\\.1:${model.addr.port}`));
            assert.match(events, /egress refused example\.com:443/);
            const start = query<{ data: string }>(
              db,
              "SELECT data FROM audit WHERE task_id = ? AND kind = 'task.start'",
              taskId,
            );
            assert.match(start[0].data, /"egress":"model: 127\.0\.0\.1:\d+"/);
            // The finish record holds what the proxy allowed and refused.
            const fin = query<{ data: string }>(
              db,
              "SELECT data FROM audit WHERE task_id = ? AND kind = 'task.finish'",
              taskId,
            );
            const summary = JSON.parse(fin[0].data).egress;
            assert.ok(summary.allowed[`127.0.0.1:${model.addr.port}`] >= 1, fin[0].data);
            assert.equal(summary.refused["example.com:443"], 1, fin[0].data);
            // The proxy and its sockets are gone with the run.
            const left = [];
            for await (const e of Deno.readDir(`${w.stateDir}/egress`)) left.push(e.name);
            assert.deepEqual(left, [], "socket dirs removed");
          }
        } finally {
          await w.destroy();
        }
      }
      console.log(
        [
          `\negress "model" (daemon as ${user}): attempt | refused by`,
          "| --- | --- |",
          ...table,
        ].join("\n"),
      );
    });
  } finally {
    await model.shutdown();
    await local.shutdown();
  }
}

const skip = systemTestSkipReason();
if (skip !== null) console.warn(`egress suite: SKIPPED (${skip})`);
const userSkip = skip ?? userModeSkipReason();
if (skip === null && userSkip !== null) {
  console.warn(`egress suite as an ordinary user: SKIPPED (${userSkip})`);
}

Deno.test({
  name: "egress: model reaches only the named model host; none nothing; host today's network",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => suite("root"),
});

Deno.test({
  name: "egress: the same as an ordinary user (bwrap with a user namespace)",
  ignore: userSkip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => suite("user"),
});
