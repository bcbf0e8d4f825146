/**
 * @module
 * Every file under `examples/` is checked by what it is: a `config.toml` example through the
 * config loader, a runner manifest through the manifest loader, a Tailscale policy file as
 * HuJSON with grants of the right shape — and the app-capability grants are evaluated by the
 * same policy code the worker runs, so the comments in the file and docs/tailscale-grants.md
 * stay true. A file of any other kind fails the test: nothing in `examples/` goes unchecked.
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { Config } from "../../src/config/schema.ts";
import { grantDecision, parseGrant } from "../../src/policy/grants.ts";
import { inboundDecision } from "../../src/policy/inbound.ts";
import type { CallerIdentity } from "../../src/policy/types.ts";
import { loadManifestFile } from "../../src/runner/manifest.ts";
import { parseHuJson, standardize } from "./_hujson.ts";

const EXAMPLES = new URL("../../examples/", import.meta.url).pathname;

/** Every file under examples/, as paths relative to it, sorted. */
function exampleFiles(dir = EXAMPLES): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) out.push(...exampleFiles(path));
    else out.push(relative(EXAMPLES, path));
  }
  return out.sort();
}

type Kind = "config" | "manifest" | "policy";

/** What an example is, by where it lives and how it is named; null = unknown. */
function kindOf(rel: string): Kind | null {
  if (/^runners\/[^/]+\.(toml|json)$/.test(rel)) return "manifest";
  if (/^tailscale\/[^/]+\.hujson$/.test(rel)) return "policy";
  if (/^[^/]+\.toml$/.test(rel)) return "config";
  return null;
}

const files = exampleFiles();

Deno.test("examples/: every file is a config, a runner manifest or a tailnet policy file", () => {
  const unknown = files.filter((f) => kindOf(f) === null);
  assert.deepEqual(unknown, [], "files in examples/ that no test checks");
  for (
    const expected of [
      "laptop.toml",
      "build-server.toml",
      "query-only-worker.toml",
      "runners/custom.toml",
      "tailscale/grants-worker-port.hujson",
      "tailscale/grants-app-capability.hujson",
    ]
  ) {
    assert.ok(files.includes(expected), `examples/${expected} is missing`);
  }
});

for (const rel of files.filter((f) => kindOf(f) === "config")) {
  Deno.test(`examples/${rel} loads as a valid config`, async () => {
    const loaded = await loadConfig(join(EXAMPLES, rel));
    assert.equal(loaded.exists, true);
  });
}

for (const rel of files.filter((f) => kindOf(f) === "manifest")) {
  Deno.test(`examples/${rel} loads as a valid runner manifest`, async () => {
    const manifest = await loadManifestFile(join(EXAMPLES, rel));
    assert.ok(Object.keys(manifest.profiles).length > 0);
    // The header must tell where to install it: the runners dir wants <name>.toml.
    const text = await Deno.readTextFile(join(EXAMPLES, rel));
    assert.ok(text.includes(`runners/${manifest.name}.toml`), "says its install file name");
  });
}

// ---- Tailscale policy files ----------------------------------------------------------------

interface Grant {
  src: string[];
  dst: string[];
  ip?: string[];
  app?: Record<string, unknown[]>;
}

const GRANT_KEYS = ["src", "dst", "ip", "app", "srcPosture", "via"];

function isStringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "string" && x !== "");
}

/** Parses a policy file and checks the grants' shape; returns them. */
function policyGrants(rel: string): { policy: Record<string, unknown>; grants: Grant[] } {
  const policy = parseHuJson(Deno.readTextFileSync(join(EXAMPLES, rel))) as Record<
    string,
    unknown
  >;
  assert.equal(typeof policy, "object");
  assert.ok(Array.isArray(policy.grants) && policy.grants.length > 0, `${rel}: no grants`);
  const grants = policy.grants as Grant[];
  grants.forEach((g, i) => {
    const where = `${rel}: grants[${i}]`;
    for (const key of Object.keys(g)) assert.ok(GRANT_KEYS.includes(key), `${where}: ${key}?`);
    assert.ok(isStringList(g.src), `${where}: src`);
    assert.ok(isStringList(g.dst), `${where}: dst`);
    assert.ok(g.ip !== undefined || g.app !== undefined, `${where}: needs ip and/or app`);
    if (g.ip !== undefined) assert.ok(isStringList(g.ip), `${where}: ip`);
    if (g.app !== undefined) {
      assert.equal(typeof g.app, "object", `${where}: app`);
      for (const [cap, values] of Object.entries(g.app)) {
        assert.ok(Array.isArray(values) && values.length > 0, `${where}: app ${cap}`);
      }
    }
  });
  return { policy, grants };
}

const WORKER_PORT = Config.parse({}).daemon.worker_port;

for (const rel of files.filter((f) => kindOf(f) === "policy")) {
  Deno.test(`examples/${rel} is HuJSON with well-formed grants`, () => {
    const { grants } = policyGrants(rel);
    // Every port a grant opens is the cmesh worker port: these examples open nothing else.
    for (const g of grants) {
      for (const ip of g.ip ?? []) assert.equal(ip, `tcp:${WORKER_PORT}`);
    }
  });
}

Deno.test("grants-worker-port.hujson opens only the worker port, with policy tests", () => {
  const { policy, grants } = policyGrants("tailscale/grants-worker-port.hujson");
  for (const g of grants) {
    assert.deepEqual(g.ip, [`tcp:${WORKER_PORT}`]);
    assert.equal(g.app, undefined, "reachability only; profiles come from the config");
    for (const dst of g.dst) assert.match(dst, /^tag:/, "workers are named by tag");
  }
  const tests = policy.tests as { src: string; accept?: string[]; deny?: string[] }[];
  assert.ok(Array.isArray(tests) && tests.length > 0);
  for (const t of tests) {
    assert.equal(typeof t.src, "string");
    for (const target of [...(t.accept ?? []), ...(t.deny ?? [])]) {
      assert.match(target, /^[^\s]+:\d+$/, "host:port");
    }
  }
  assert.ok(tests.some((t) => t.accept?.includes(`tag:cmesh-worker:${WORKER_PORT}`)));
});

// ---- The app capability, evaluated as the worker does ---------------------------------------

const APP_FILE = "tailscale/grants-app-capability.hujson";

async function queryOnlyWorker(): Promise<Config> {
  return (await loadConfig(join(EXAMPLES, "query-only-worker.toml"))).config;
}

/** The whois CapMap a caller would carry: every value of every grant whose src names it. */
function capMapFor(grants: Grant[], selector: string): Record<string, unknown[]> {
  const capMap: Record<string, unknown[]> = {};
  for (const g of grants) {
    if (!g.src.includes(selector) || g.app === undefined) continue;
    for (const [cap, values] of Object.entries(g.app)) {
      capMap[cap] = [...(capMap[cap] ?? []), ...values];
    }
  }
  return capMap;
}

function caller(selector: string, grants: Grant[]): CallerIdentity {
  const tagged = selector.startsWith("tag:");
  return {
    node: tagged ? "ci-3" : "ann-laptop",
    dnsName: tagged ? "ci-3.example.ts.net." : "ann-laptop.example.ts.net.",
    stableId: `n-${selector}`,
    login: tagged ? null : selector,
    tags: tagged ? [selector] : [],
    capMap: capMapFor(grants, selector),
  };
}

Deno.test("grants-app-capability.hujson: the capability name is the one the config uses", async () => {
  const { grants } = policyGrants(APP_FILE);
  const capability = (await queryOnlyWorker()).tailscale.app_capability;
  assert.equal(capability, "example.com/cap/cmesh");
  const names = new Set(grants.flatMap((g) => Object.keys(g.app ?? {})));
  assert.deepEqual([...names], [capability]);
});

Deno.test("grants-app-capability.hujson: every value is valid and every app grant is reachable", () => {
  const { grants } = policyGrants(APP_FILE);
  for (const [i, g] of grants.entries()) {
    for (const [cap, values] of Object.entries(g.app ?? {})) {
      const parsed = parseGrant({ [cap]: values }, cap);
      assert.equal(parsed.status, "ok", `grants[${i}]: ${JSON.stringify(parsed)}`);
    }
    // An app capability alone opens no port: some grant with ip must cover src → dst.
    if (g.app !== undefined) {
      const opened = grants.some((o) =>
        o.ip?.includes(`tcp:${WORKER_PORT}`) && g.src.every((s) => o.src.includes(s)) &&
        g.dst.every((d) => o.dst.includes(d))
      );
      assert.ok(opened, `grants[${i}] carries the capability to callers that cannot connect`);
    }
  }
});

Deno.test("grants-app-capability.hujson + query-only-worker.toml decide as documented", async () => {
  const { grants } = policyGrants(APP_FILE);
  const config = await queryOnlyWorker();
  const capability = config.tailscale.app_capability!;
  const ann = caller("ann@example.com", grants);
  const decide = (who: CallerIdentity, profile: string, cwd: string, runner = "claude") =>
    inboundDecision({
      config,
      caller: who,
      request: { cwdReal: cwd, cwdRequested: cwd, profile, runner, promptBytes: 10 },
      rootsReal: config.inbound.allow.map((r) => r.cwd),
      runnersAvailable: ["claude"],
      caseInsensitive: false,
    });

  // Both sides allow: the config's login rule, and the grant's first value.
  const ok = decide(ann, "query", "/srv/service/app");
  assert.equal(ok.allow, true, ok.reason);
  assert.match(ok.reason, /grant\.value\[0\]/);

  // The config allows it, but the grant does not: grants only narrow.
  const noGrant = decide({ ...ann, capMap: {} }, "query", "/srv/service/app");
  assert.equal(noGrant.rule, "grant.missing");

  // The grant names a tag the config has no rule for: both must allow.
  const ci = decide(caller("tag:ci", grants), "query", "/srv/service/logs");
  assert.equal(ci.rule, "inbound.no_matching_rule");

  // Values never combine: value 0 (query, /srv/service) and value 1 (edit, /srv/scratch)
  // allow neither "edit /srv/service" nor "query /srv/scratch".
  const grantOnly = (profile: string, cwd: string) =>
    grantDecision({
      capability,
      caller: ann,
      request: { profile, cwdReal: cwd, runner: "claude", caseInsensitive: false },
    });
  assert.equal(grantOnly("edit", "/srv/scratch/tmp").allow, true);
  assert.equal(grantOnly("edit", "/srv/service").rule, "grant.cwd");
  assert.equal(grantOnly("query", "/srv/scratch").rule, "grant.cwd");
  // A runner the value lacks is refused even where profile and cwd fit.
  assert.equal(grantOnly("query", "/srv/service").allow, true);
  assert.equal(
    grantDecision({
      capability,
      caller: ann,
      request: {
        profile: "query",
        cwdReal: "/srv/service",
        runner: "codex",
        caseInsensitive: false,
      },
    }).rule,
    "grant.runner",
  );
});

Deno.test("the HuJSON reader drops comments and trailing commas, and nothing else", () => {
  assert.deepEqual(parseHuJson('{"a": [1, 2,], /* c */ "b": "x // not a comment",\n}'), {
    a: [1, 2],
    b: "x // not a comment",
  });
  assert.deepEqual(parseHuJson('// head\n{"s": "a, }"} // tail'), { s: "a, }" });
  assert.equal(standardize('"/* kept */"'), '"/* kept */"');
  assert.throws(() => parseHuJson("{a: 1}"), SyntaxError);
  assert.throws(() => parseHuJson('{"a": 1} /* open'), SyntaxError);
});
