/**
 * @module
 * The real Claude Code and Codex CLIs reach their **vendor** hosts (`api.anthropic.com:443`,
 * `api.openai.com:443`) under egress `model` the way they would in production: from their own
 * network namespace, through `HTTPS_PROXY` (a `CONNECT` to the daemon-side egress proxy), with
 * TLS end to end — the proxy never sees plaintext, the CLI checks the certificate of the name
 * it asked for.
 *
 * No traffic leaves the machine: the proxy's connect is pointed at a local TLS front (a
 * certificate for both names from a throw-away CA, trusted by the CLIs through
 * `NODE_EXTRA_CA_CERTS` / `SSL_CERT_FILE`) in front of the scripted fake model. That stands in
 * for DNS and the vendor; everything between the CLI and the proxy is the production path.
 *
 * Skipped (with a printed reason) only when a CLI or openssl is missing.
 */
import assert from "node:assert/strict";
import { makeTestPki } from "../tailnet/pki.ts";
import type { ResolvedRunner } from "../../src/runner/runtime.ts";
import { describeRun, NOTES, type RealRunner, requireCli, runReal } from "./harness.ts";

const OPENSSL = (() => {
  try {
    Deno.statSync("/usr/bin/openssl");
    return true;
  } catch {
    console.warn("egress_vendor: SKIPPING: /usr/bin/openssl is missing (.ci/run installs it)");
    return false;
  }
})();

/** A TLS server for the vendor names that hands each connection to the fake model's port. */
async function tlsFront(dir: string, fakePort: () => number) {
  const pki = await makeTestPki(dir, "127.0.0.1", "DNS:api.anthropic.com,DNS:api.openai.com");
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert: await Deno.readTextFile(pki.certPem),
    key: await Deno.readTextFile(pki.keyPem),
  });
  const conns = new Set<Deno.Conn>();
  const serving = (async () => {
    for await (const c of listener) {
      conns.add(c);
      Deno.connect({ hostname: "127.0.0.1", port: fakePort() }).then((up) => {
        conns.add(up);
        c.readable.pipeTo(up.writable).catch(() => {});
        up.readable.pipeTo(c.writable).catch(() => {});
      }, () => c.close());
    }
  })().catch(() => {});
  return {
    ca: pki.caPem,
    port: (listener.addr as Deno.NetAddr).port,
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await serving;
    },
  };
}

/**
 * The proxy's connect, pointed at the TLS front. The connection is reported as coming from a
 * documentation address (192.0.2.10), as the vendor's would: the proxy's check that a name does
 * not lead to loopback is about DNS, which this stands in for.
 */
function connectTo(port: number) {
  return async (_d: unknown, signal: AbortSignal): Promise<Deno.Conn> => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port, signal });
    const remote: Deno.NetAddr = { transport: "tcp", hostname: "192.0.2.10", port: 443 };
    return new Proxy(conn, {
      get(target, key) {
        if (key === "remoteAddr") return remote;
        const value = Reflect.get(target, key, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  };
}

const VENDOR: Record<RealRunner, string> = {
  claude: "api.anthropic.com:443",
  codex: "api.openai.com:443",
};

for (const runner of ["claude", "codex"] as const) {
  const cli = requireCli(runner);
  Deno.test({
    name: `${runner} under egress model reaches ${
      VENDOR[runner]
    } through the proxy (CONNECT, TLS end to end)`,
    ignore: cli.ignore || !OPENSSL,
    fn: async () => {
      const pkiDir = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "cmesh-egress-pki-" });
      // The harness starts the fake model; the front learns its port before the run starts.
      let fakePort = 0;
      const live = await tlsFront(pkiDir, () => fakePort).catch(async (e) => {
        await Deno.remove(pkiDir, { recursive: true });
        throw e;
      });
      const run = await runReal({
        runner,
        profile: "query",
        script: "read_then_answer.json",
        connect: connectTo(live.port),
        adjustRunner: (r, prepared): ResolvedRunner => {
          fakePort = prepared.fake.port;
          // The CA must be inside the sandbox's view: the runner's private config dir is.
          const ca = `${prepared.dirs.state}/test-ca.pem`;
          Deno.copyFileSync(live.ca, ca);
          if (runner === "claude") {
            // No base URL: the CLI's own https://api.anthropic.com.
            const env: Record<string, string> = { ...r.envSet, NODE_EXTRA_CA_CERTS: ca };
            delete env.ANTHROPIC_BASE_URL;
            return { ...r, envSet: env };
          }
          const provider =
            `{name="vendor",base_url="https://api.openai.com/v1",wire_api="responses",env_key="OPENAI_API_KEY",request_max_retries=0,stream_max_retries=0}`;
          return {
            ...r,
            args: ["-c", "model_provider=vendor", "-c", `model_providers.vendor=${provider}`],
            envSet: { OPENAI_API_KEY: "sk-fake", SSL_CERT_FILE: ca },
          };
        },
      });
      const why = describeRun(run);
      try {
        assert.equal(run.outcome.state, "succeeded", why);
        assert.match(run.outcome.claims.final_text ?? "", new RegExp(NOTES), why);
        const egress = JSON.stringify(run.egress);
        assert.match(run.egress.describe, new RegExp(`^model: .*${VENDOR[runner]}`), egress);
        // Every connection went through the proxy as a CONNECT to the vendor name, and only there.
        assert.ok((run.egress.summary?.allowed[VENDOR[runner]] ?? 0) > 0, egress);
        assert.deepEqual(Object.keys(run.egress.summary?.allowed ?? {}), [VENDOR[runner]], egress);
        assert.deepEqual(run.egress.summary?.refused, {}, egress);
        assert.ok(run.egress.records.every((r) => r.via === "proxy"), egress);
        assert.ok(run.fake.requests.length > 0, why);
      } finally {
        await run.cleanup();
        await live.close();
        await Deno.remove(pkiDir, { recursive: true });
      }
    },
  });
}
