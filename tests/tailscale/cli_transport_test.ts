/**
 * The `tailscale` CLI transport against a fake `tailscale` executable: every failure mode
 * (non-zero exit, peer not found, timeout, malformed JSON, oversized output, spawn failure)
 * ends in a denial-shaped result, never an identity; the answers of a well-behaved CLI map to
 * the same identities as the LocalAPI socket gives. The real CLI against a real tailscaled is
 * in tests/tailnet/cli_transport_test.ts.
 */
import assert from "node:assert/strict";
import { cliArgsFor, CliTransport } from "../../src/tailscale/cli_transport.ts";
import { LocalApiClient } from "../../src/tailscale/localapi.ts";
import { CachingWhois } from "../../src/tailscale/whois_cache.ts";

const WHOIS_USER = await Deno.readTextFile(
  new URL("../testdata/tailscale/whois-user.json", import.meta.url),
);
const STATUS = await Deno.readTextFile(
  new URL("../testdata/tailscale/status.json", import.meta.url),
);

/**
 * A fake `tailscale` that records its arguments and behaves as `mode` says. Returns its path
 * and the file its arguments are appended to.
 */
async function fakeCli(dir: string, script: string): Promise<{ bin: string; argsLog: string }> {
  const bin = `${dir}/tailscale`;
  const argsLog = `${dir}/args.log`;
  await Deno.writeTextFile(`${dir}/whois.json`, WHOIS_USER);
  await Deno.writeTextFile(`${dir}/status.json`, STATUS);
  await Deno.writeTextFile(
    bin,
    `#!/bin/sh\nprintf '%s\\n' "$*" >> '${argsLog}'\ncd '${dir}'\n${script}\n`,
  );
  await Deno.chmod(bin, 0o755);
  return { bin, argsLog };
}

async function withFake(
  script: string,
  fn: (client: LocalApiClient, f: { bin: string; argsLog: string }) => Promise<void>,
  socket?: string,
) {
  const dir = await Deno.makeTempDir({ prefix: "cmesh-tscli-" });
  try {
    const f = await fakeCli(dir, script);
    const client = new LocalApiClient(new CliTransport({ binary: f.bin, socket }), {
      timeoutMs: 1500,
      maxWhoisBytes: 64 * 1024,
    });
    await fn(client, f);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const skip = Deno.build.os === "windows"; // the fake is a POSIX shell script

Deno.test({
  name: "cli transport: whois and status answers map to the same identity as the LocalAPI",
  ignore: skip,
  fn: () =>
    withFake(
      `case "$1" in whois) cat whois.json;; status) cat status.json;; *) exit 9;; esac`,
      async (client, f) => {
        const who = await client.whois("100.64.0.2", 41641);
        assert.ok(who.ok, JSON.stringify(who));
        assert.equal(who.identity.login, JSON.parse(WHOIS_USER).UserProfile.LoginName);
        assert.equal(who.identity.stableId, JSON.parse(WHOIS_USER).Node.StableID);
        const st = await client.status({ peers: false });
        assert.ok(st.ok, JSON.stringify(st));
        const log = await Deno.readTextFile(f.argsLog);
        assert.deepEqual(log.trim().split("\n"), [
          "whois --json 100.64.0.2:41641",
          "status --json --peers=false",
        ]);
      },
    ),
});

Deno.test({
  name: "cli transport: --socket is passed before the subcommand",
  ignore: skip,
  fn: () =>
    withFake(
      `shift; case "$1" in whois) cat whois.json;; *) exit 9;; esac`,
      async (client, f) => {
        assert.ok((await client.whois("fd7a:115c:a1e0::2", 5)).ok);
        assert.equal(
          (await Deno.readTextFile(f.argsLog)).trim(),
          "--socket=/run/ts/x.sock whois --json [fd7a:115c:a1e0::2]:5",
        );
      },
      "/run/ts/x.sock",
    ),
});

Deno.test({
  name: "cli transport: 'peer not found' is an unknown caller (404), not an outage",
  ignore: skip,
  fn: () =>
    withFake(`echo "peer not found" >&2; exit 1`, async (client) => {
      const who = await client.whois("100.64.0.9", 1);
      assert.equal(who.ok, false);
      assert.equal(!who.ok && who.code, "not_found");
    }),
});

Deno.test({
  name: "cli transport: every failure denies (exit, timeout, malformed, oversized, missing)",
  ignore: skip,
  fn: async () => {
    const cases: Array<[string, string, RegExp]> = [
      [
        `echo "failed to connect to local tailscaled; it doesn't appear to be running" >&2; exit 1`,
        "unavailable",
        /exit 1.*doesn't appear to be running/,
      ],
      ["sleep 5; cat whois.json", "unavailable", /did not answer within 1500 ms/],
      ["echo '{not json'", "bad_response", /JSON|json/],
      ["echo '[]'", "bad_response", /.+/],
      [`head -c 70000 /dev/zero | tr '\\0' ' '; cat whois.json`, "bad_response", /more than/],
      ["kill -9 $$", "unavailable", /signal SIGKILL/],
    ];
    for (const [script, code, reason] of cases) {
      await withFake(script, async (client) => {
        const who = await client.whois("100.64.0.2", 1);
        assert.equal(who.ok, false, script);
        if (!who.ok) {
          assert.equal(who.code, code, `${script}: ${who.reason}`);
          assert.match(who.reason, reason, script);
        }
      });
    }
    const missing = new LocalApiClient(new CliTransport({ binary: "/nonexistent/tailscale" }));
    const who = await missing.whois("100.64.0.2", 1);
    assert.equal(!who.ok && who.code, "unavailable");
    assert.match(!who.ok ? who.reason : "", /cannot run .*tailscale.cli_path/);
  },
});

Deno.test({
  name: "cli transport: failures are never cached as identities; successes are (bounded cost)",
  ignore: skip,
  fn: () =>
    withFake(
      `n=$(wc -l < args.log); if [ "$n" -le 1 ]; then exit 1; fi; cat whois.json`,
      async (client, f) => {
        const whois = new CachingWhois(client);
        assert.equal((await whois.whois("100.64.0.2", 1)).ok, false);
        assert.equal((await whois.whois("100.64.0.2", 1)).ok, true);
        assert.equal((await whois.whois("100.64.0.2", 1)).ok, true);
        // two runs: the failure was not cached, the success was
        assert.equal((await Deno.readTextFile(f.argsLog)).trim().split("\n").length, 2);
      },
    ),
});

Deno.test("cli transport: only status and whois of an address reach the CLI", () => {
  assert.deepEqual(cliArgsFor("/localapi/v0/status"), ["status", "--json"]);
  assert.deepEqual(cliArgsFor("/localapi/v0/whois?addr=100.64.0.2%3A1"), [
    "whois",
    "--json",
    "100.64.0.2:1",
  ]);
  assert.equal(cliArgsFor("/localapi/v0/whois?addr=--socket%3D%2Ftmp%2Fx"), null);
  assert.equal(cliArgsFor("/localapi/v0/whois?addr=a%20b"), null);
  assert.equal(cliArgsFor("/localapi/v0/whois"), null);
  assert.equal(cliArgsFor("/localapi/v0/prefs"), null);
});
