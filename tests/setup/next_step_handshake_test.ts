/**
 * The wizard's reasoning without processes: which next step `cmesh_setup_status` names for
 * each situation, and what the handshake concludes — and on which machine it says to change
 * what — for every way a peer can fail, with the control API replaced by canned answers.
 */
import assert from "node:assert/strict";
import { Config } from "../../src/config/schema.ts";
import { doctorChecks } from "../../src/setup/checks.ts";
import type { SetupFacts } from "../../src/setup/facts.ts";
import { ControlCalls, type ControlResponse } from "../../src/control/calls.ts";
import type { ControlPeer } from "../../src/protocol/control.ts";
import type { TaskState } from "../../src/protocol/task.ts";
import { handshake } from "../../src/setup/handshake.ts";
import { nextStep } from "../../src/setup/next_step.ts";
import { taskResult } from "../support/task_fixtures.ts";
import { allowsMe, controlPeer, controlTask, daemonStatus, taskStatus } from "./_facts.ts";

function facts(over: Partial<SetupFacts> = {}): SetupFacts {
  return {
    os: "linux",
    config: {
      file: "/h/config.toml",
      exists: true,
      valid: true,
      config: Config.parse({ outbound: { peers: [{ name: "server" }] } }),
    },
    stateDir: { path: "/h/s", exists: true, writable: true },
    token: { path: "/h/s/t", exists: true, mode: 0o600 },
    daemon: { running: true, port: 7434, status: daemonStatus({ node: "laptop" }) },
    tailscale: {
      ok: true,
      where: "x",
      backendState: "Running",
      self: { name: "laptop", dnsName: "laptop.ts.net", addresses: ["100.64.0.2"] },
      peers: [{
        name: "server",
        dnsName: "server.ts.net",
        addresses: [],
        online: true,
        os: "linux",
        tags: [],
      }],
    },
    runners: [],
    agents: [],
    service: { manager: "systemd", file: "/u", installed: true, up_to_date: true, state: "active" },
    peers: [controlPeer("server", { cmesh: true, peer_version: "0.1.0", allows_me: allowsMe() })],
    sandbox: { mode: "required", availability: { ok: true, kind: "bwrap", bin: "/usr/bin/bwrap" } },
    ...over,
  };
}

const next = (f: SetupFacts) => nextStep(f, doctorChecks(f));

Deno.test("next step: tailscale first (user), then the plan (agent), then the daemon, then a peer", () => {
  const noTs = facts({ tailscale: { ok: false, where: "sock", reason: "not found" } });
  assert.deepEqual([next(noTs).next.id, next(noTs).next.who], ["tailscale", "user"]);

  const noConfig = facts({
    config: { ...facts().config, exists: false, config: Config.parse({}) },
    daemon: { running: false, port: 7434 },
    peers: null,
  });
  const n = next(noConfig);
  assert.equal(n.next.tool, "cmesh_setup_plan");
  assert.match(n.next.instruction, /online tailnet peers: server/);
  assert.equal(n.complete, false);

  const down = facts({ daemon: { running: false, port: 7434 }, peers: null });
  assert.equal(next(down).next.tool, "cmesh_setup_start_daemon");

  const peerDown = facts({ peers: [controlPeer("server", { cmesh: false, error: "refused" })] });
  assert.equal(next(peerDown).next.tool, "cmesh_setup_handshake");
  assert.match(next(peerDown).next.instruction, /peer "server"/);

  const ok = next(facts());
  assert.equal(ok.complete, true);
  assert.equal(ok.next.id, "done");
  assert.match(ok.next.instruction, /cmesh_setup_handshake with peer "server"/);
});

/** A control API with canned answers per path prefix; records what was called. */
class CannedControl extends ControlCalls {
  readonly calls: string[] = [];
  constructor(readonly answers: Record<string, ControlResponse | ControlResponse[]>) {
    super();
  }
  #pick(path: string): Promise<ControlResponse> {
    const key = Object.keys(this.answers).filter((k) => path.startsWith(k))
      .sort((a, b) => b.length - a.length)[0];
    const a = this.answers[key];
    if (!a) {
      return Promise.resolve({
        ok: false,
        status: 404,
        error: { code: "not_found", message: `no route ${path}` },
      });
    }
    return Promise.resolve(Array.isArray(a) ? (a.length > 1 ? a.shift()! : a[0]) : a);
  }
  get(path: string) {
    this.calls.push(`GET ${path}`);
    return this.#pick(path);
  }
  post(path: string) {
    this.calls.push(`POST ${path}`);
    return this.#pick(path);
  }
}
const control = (answers: CannedControl["answers"]) => new CannedControl(answers);
const ok = (body: Record<string, unknown>): ControlResponse => ({ ok: true, status: 200, body });

const config = Config.parse({
  node: { name: "laptop" },
  outbound: { peers: [{ name: "server" }] },
});
const status = ok(daemonStatus({ node: "laptop" }));
const rule = { ...allowsMe().rules[0], cwd: ["/srv/app"], runners: ["claude"] };
const peersWith = (entry: Partial<ControlPeer>) =>
  ok({ peers: [controlPeer("server", { address: "100.64.0.1:7433", ...entry })] });
/** The daemon lists `server`: it runs cmesh and allows me `query` in /srv/app via claude. */
const allowsQuery = peersWith({
  cmesh: true,
  peer_version: "0.1.0",
  allows_me: { ...allowsMe(0), rules: [rule] },
});
const wait = (state: TaskState, seq: number) => ({
  task: controlTask("hs-1234567", state),
  events: seq ? [{ seq, at: "", kind: "state", text: state }] : [],
});

Deno.test("handshake: a name this machine refuses to contact → fix here, never on the peer", async () => {
  const r = await handshake({
    control: control({
      "/v1/status": status,
      "/v1/peers": peersWith({
        online: false,
        rule: "outbound.pin_mismatch",
        error: "server is pinned to node nA … [rule outbound.pin_mismatch]",
      }),
    }),
    config,
    peer: "server",
  });
  const reach = r.steps.find((s) => s.step === "reach")!;
  assert.equal(reach.ok, false);
  assert.equal(reach.where, "laptop");
  assert.match(reach.detail, /rule outbound\.pin_mismatch/);
  assert.match(reach.fix!, /cmesh peers pin server/);
  assert.equal(r.steps.at(-1)!.step, "reach", "stops there: nothing is sent");
});

Deno.test("handshake: peer offline or without cmesh → fix on the peer", async () => {
  const off = await handshake({
    control: control({
      "/v1/status": status,
      "/v1/peers": peersWith({ online: false, cmesh: false }),
    }),
    config,
    peer: "server",
  });
  const reach = off.steps.find((s) => s.step === "reach")!;
  assert.equal(reach.ok, false);
  assert.equal(reach.where, "server");
  assert.match(reach.fix!, /tailscale up/);
  const noCmesh = await handshake({
    control: control({
      "/v1/status": status,
      "/v1/peers": peersWith({ cmesh: false, error: "connection refused" }),
    }),
    config,
    peer: "server",
  });
  assert.match(noCmesh.steps.at(-1)!.fix!, /on server: install cmesh, set inbound\.enabled = true/);
  assert.equal(noCmesh.ok, false);
});

Deno.test("handshake: the peer allows me nothing → the exact inbound snippet naming me, for the peer", async () => {
  const r = await handshake({
    control: control({
      "/v1/status": status,
      "/v1/peers": peersWith({ cmesh: true, allows_me: allowsMe(0) }),
    }),
    config,
    peer: "server",
  });
  const s = r.steps.at(-1)!;
  assert.equal(s.step, "peer_policy");
  assert.equal(s.where, "server");
  assert.match(s.fix!, /\[\[inbound\.allow\]\]\npeers = \["laptop"\]\nprofiles = \["query"\]/);
  assert.equal(r.round_trip, null);
});

Deno.test("handshake: local outbound denial vs the peer's refusal name different machines", async () => {
  const base = {
    "/v1/status": status,
    "/v1/peers": allowsQuery,
  };
  const local = await handshake({
    control: control({
      ...base,
      "/v1/delegate": {
        ok: false,
        status: 403,
        error: { code: "denied", message: "cwd not allowed", rule: "outbound.peers[0].cwd" },
      },
    }),
    config,
    peer: "server",
  });
  assert.equal(local.steps.at(-1)!.where, "laptop");
  assert.match(
    local.steps.at(-1)!.detail,
    /refused by this machine's outbound policy.*\[rule outbound\.peers\[0\]\.cwd\]/,
  );
  const remote = await handshake({
    control: control({
      ...base,
      "/v1/delegate": {
        ok: false,
        status: 403,
        error: { code: "peer_denied", message: "no rule", rule: "inbound.allow" },
      },
    }),
    config,
    peer: "server",
  });
  assert.equal(remote.steps.at(-1)!.where, "server");
  assert.match(remote.steps.at(-1)!.detail, /^refused by server: no rule/);
  // Not reaching the peer is the peer's side; a failure of this machine's own cmesh is not.
  for (
    const [code, where, detail] of [
      ["peer_unreachable", "server", /^server could not take the task: timed out/],
      ["peer_busy", "server", /^server could not take the task/],
      ["bad_response", "laptop", /^the delegation failed on this machine: timed out/],
      ["daemon_not_running", "laptop", /^the delegation failed on this machine/],
    ] as const
  ) {
    const out = await handshake({
      control: control({
        ...base,
        "/v1/delegate": { ok: false, status: 502, error: { code, message: "timed out" } },
      }),
      config,
      peer: "server",
    });
    assert.equal(out.steps.at(-1)!.where, where, code);
    assert.match(out.steps.at(-1)!.detail, detail, code);
  }
});

Deno.test("handshake: a successful round trip, and a failed run pointing at the peer's runner", async () => {
  const base = {
    "/v1/status": status,
    "/v1/peers": allowsQuery,
    "/v1/delegate": ok({
      task: taskStatus("hs-1234567", "queued"),
      peer: "server",
    }),
  };
  const succeeded = taskResult({
    id: "hs-1234567",
    claims: { final_text: "cmesh handshake ok", session_id: null },
    evidence: {
      exit_code: 0,
      signal: null,
      duration_ms: 1200,
      git: null,
      usage: { input_tokens: null, output_tokens: null, cost_usd: null },
      permission_denials: [],
      truncated: { stdout: false, stderr: false },
      stderr_tail: "",
    },
  });
  const c = control({
    ...base,
    // The terminal answer carries the result: no separate result call.
    "/v1/tasks/hs-1234567/wait": [
      ok(wait("running", 1)),
      ok({ ...wait("succeeded", 2), result: succeeded }),
    ],
  });
  const r = await handshake({ control: c, config, peer: "server" });
  assert.equal(r.ok, true);
  assert.deepEqual(r.round_trip, {
    task_id: "hs-1234567",
    state: "succeeded",
    cwd: "/srv/app",
    runner: "claude",
    reply: "cmesh handshake ok",
    exit_code: 0,
    duration_ms: 1200,
  });
  assert.ok(
    c.calls.includes("GET /v1/tasks/hs-1234567/wait?after=1&timeout_s=30&with=result"),
    "waits after the last event",
  );
  assert.ok(!c.calls.some((p) => p.endsWith("/result")));
  const failed = await handshake({
    control: control({
      ...base,
      // An answer without the result (an older daemon): it is asked for separately.
      "/v1/tasks/hs-1234567/wait": ok(wait("failed", 0)),
      "/v1/tasks/hs-1234567/result": ok({
        peer: "server",
        result: taskResult({
          state: "failed",
          claims: { final_text: null, session_id: null },
          error: { code: "runner_failed", message: "not logged in" },
        }),
      }),
    }),
    config,
    peer: "server",
  });
  assert.equal(failed.ok, false);
  assert.match(failed.steps.at(-1)!.detail, /ended failed on server: not logged in/);
  assert.match(failed.steps.at(-1)!.fix!, /on server: run 'cmesh doctor'/);
  const skipped = await handshake({
    control: control(base),
    config,
    peer: "server",
    skipQuery: true,
  });
  assert.equal(skipped.round_trip, null);
  assert.equal(skipped.steps.length, 4);
});
