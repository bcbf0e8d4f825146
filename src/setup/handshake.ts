/**
 * @module
 * `cmesh_setup_handshake`'s core: with one named peer, check every link in order — my
 * outbound policy names it, my daemon runs, the peer is reachable and runs cmesh, its inbound
 * policy allows me `query` somewhere — then run a tiny read-only `query` task there and wait
 * for its result. Every failed step says on which machine to change what. It also reports
 * what this machine allows the peer (the other direction can only be tested from there).
 *
 * @example
 * ```ts
 * import type { Config } from "../config/schema.ts";
 * import { ControlClient } from "../control/client.ts";
 * import { handshake } from "./handshake.ts";
 * const control = await ControlClient.fromConfig("/home/ann/.config/cmesh/config.toml");
 * declare const config: Config;
 * const report = await handshake({ control, config, peer: "buildbox" });
 * for (const s of report.steps) console.log(s.ok ? "ok" : "FAIL", s.step, s.detail, s.fix ?? "");
 * ```
 */
import type { Config } from "../config/schema.ts";
import { type ControlCalls, followTask } from "../control/calls.ts";
import { isTerminal } from "../protocol/task.ts";

/** One checked link. `where` names the machine to change when it failed. */
export interface HandshakeStep {
  step: "config" | "daemon" | "reach" | "peer_policy" | "round_trip";
  ok: boolean;
  detail: string;
  where?: string;
  fix?: string;
}

/** The handshake's findings. */
export interface HandshakeReport {
  me: string;
  peer: string;
  /** True when the round trip succeeded. */
  ok: boolean;
  steps: HandshakeStep[];
  round_trip: {
    task_id: string;
    state: string;
    cwd: string;
    runner?: string;
    reply?: string | null;
    exit_code?: number | null;
    duration_ms?: number;
  } | null;
  /** What this machine allows the peer (informational). */
  reverse: { allowed: boolean; detail: string; fix?: string };
}

/** Inputs of {@link handshake}. */
export interface HandshakeInput {
  control: ControlCalls;
  config: Config;
  peer: string;
  /** Working directory on the peer for the query (default: its first allowed root). */
  cwd?: string;
  /** How long to wait for the query's result (default 180 s). */
  waitSeconds?: number;
  /** Skip the query task: only check reachability and policies. */
  skipQuery?: boolean;
}

/** The prompt of the handshake task: read-only, tiny, recognisable. */
export const HANDSHAKE_PROMPT =
  "cmesh handshake: reply with exactly the words 'cmesh handshake ok' and nothing else. Do not read, run or change anything.";

function inboundSnippet(me: string, root = "/path/on/that/machine"): string {
  return [
    "[inbound]",
    "enabled = true",
    "[[inbound.allow]]",
    `peers = ["${me}"]`,
    'profiles = ["query"]',
    `cwd = ["${root}"]`,
    'runners = ["claude", "codex"]',
  ].join("\n");
}

function reverseOf(config: Config, me: string, peer: string): HandshakeReport["reverse"] {
  const rules = config.inbound.allow.filter((r) => r.peers.includes(peer));
  if (config.inbound.enabled && rules.length) {
    return {
      allowed: true,
      detail: `this machine (${me}) accepts ${
        rules.map((r) => `${r.profiles.join(",")} in ${r.cwd.join(", ")}`).join("; ")
      } from ${peer}; test that direction from ${peer} (cmesh_setup_handshake with peer "${me}")`,
    };
  }
  return {
    allowed: false,
    detail: `this machine (${me}) accepts no tasks from ${peer}${
      config.inbound.enabled ? "" : " (inbound is disabled here)"
    }`,
    fix:
      `only if the user wants ${peer} to delegate to ${me}: here, call cmesh_setup_plan with inbound {enabled: true, allow_peers: ["${peer}"], cwd_roots: [...]}; on ${peer}, add [[outbound.peers]] name = "${me}"`,
  };
}

/** Runs the handshake. Never throws for an expected failure: the report says it. */
export async function handshake(input: HandshakeInput): Promise<HandshakeReport> {
  const { control, config, peer } = input;
  const steps: HandshakeStep[] = [];
  const report = (
    me: string,
    roundTrip: HandshakeReport["round_trip"] = null,
  ): HandshakeReport => ({
    me,
    peer,
    ok: roundTrip?.state === "succeeded",
    steps,
    round_trip: roundTrip,
    reverse: reverseOf(config, me, peer),
  });
  const configuredName = config.node.name ?? "this machine";

  const mine = config.outbound.peers.find((p) => p.name === peer);
  if (!mine) {
    steps.push({
      step: "config",
      ok: false,
      detail: `${peer} is not in this machine's outbound.peers (known: ${
        config.outbound.peers.map((p) => p.name).join(", ") || "none"
      })`,
      where: configuredName,
      fix:
        `call cmesh_setup_plan with outbound_peers [{"name": "${peer}"}], show the user the diff, apply it, then restart the daemon (cmesh_setup_start_daemon)`,
    });
    return report(configuredName);
  }
  steps.push({
    step: "config",
    ok: true,
    detail: `outbound.peers has ${peer}: may send ${mine.profiles.join(", ")} with cwd ${
      mine.cwd.join(", ")
    }`,
  });

  const status = await control.status();
  if (!status.ok) {
    steps.push({
      step: "daemon",
      ok: false,
      detail: status.error.message,
      where: configuredName,
      fix: "call cmesh_setup_start_daemon (or run 'cmesh daemon')",
    });
    return report(configuredName);
  }
  const me = status.value.node;
  steps.push({ step: "daemon", ok: true, detail: `running as node ${me}` });

  const peers = await control.peers();
  const entry = peers.ok ? peers.value.peers.find((p) => p.name === peer) : undefined;
  if (!entry) {
    steps.push({
      step: "reach",
      ok: false,
      detail: peers.ok
        ? `the daemon does not list ${peer}: it runs with an older config`
        : peers.error.message,
      where: me,
      fix: "restart the daemon so it reads the current config (cmesh_setup_start_daemon)",
    });
    return report(me);
  }
  if (entry.rule !== undefined) {
    // This machine refused to contact the name (lookalike, ambiguous, changed node): the fix is
    // here, and the refusal says which.
    steps.push({
      step: "reach",
      ok: false,
      detail: entry.error ?? `refused (${entry.rule})`,
      where: me,
      fix: entry.rule === "outbound.pin_mismatch"
        ? `if ${peer} was re-installed or re-registered, the user re-pins it in a terminal: cmesh peers pin ${peer}`
        : `name the node exactly: cmesh_setup_plan with outbound_peers [{"name": "<its full MagicDNS name>"}] (cmesh_setup_status lists the tailnet peers and their stable_id)`,
    });
    return report(me);
  }
  if (!entry.cmesh) {
    const offline = entry.online === false;
    steps.push({
      step: "reach",
      ok: false,
      detail: `${peer}${entry.address ? ` (${entry.address})` : ""}: ${
        offline ? "offline in Tailscale" : entry.error ?? "cmesh does not answer"
      }`,
      where: peer,
      fix: offline
        ? `turn ${peer} on and connect it to the tailnet ('tailscale up' there; 'tailscale status' here should list it online)`
        : `on ${peer}: install cmesh, set inbound.enabled = true, start its daemon (cmesh service install) and check 'cmesh doctor' there; its worker must listen on port ${mine.port} of its tailnet address`,
    });
    return report(me);
  }
  steps.push({
    step: "reach",
    ok: true,
    detail: `${peer} answers at ${entry.address} (cmesh ${entry.peer_version}${
      entry.stable_id ? `, node ${entry.stable_id}` : ""
    }${
      entry.pin
        ? `, pinned (${entry.pin.source.replace("_", " ")})`
        : entry.stable_id
        ? ", pinned on its first task"
        : ""
    })`,
  });

  const rules = entry.allows_me?.rules ?? [];
  const queryRules = rules.filter((r) => r.profiles.includes("query") && r.runners.length > 0);
  if (queryRules.length === 0) {
    steps.push({
      step: "peer_policy",
      ok: false,
      detail: rules.length
        ? `${peer} allows ${me} only ${
          rules.map((r) =>
            `${r.profiles.join(",") || "no profile"} via ${
              r.runners.join(",") || "no available runner"
            }`
          )
            .join("; ")
        }, no query task with an available runner`
        : `${peer} answers but allows ${me} nothing (no inbound rule names ${me})`,
      where: peer,
      fix: `on ${peer}, add to config.toml (then restart its daemon):\n${
        inboundSnippet(me)
      }\nand make sure a runner (claude or codex) is installed there ('cmesh doctor' on ${peer})`,
    });
    return report(me);
  }
  steps.push({
    step: "peer_policy",
    ok: true,
    detail: `${peer} allows ${me}: ${
      rules.map((r) => `${r.profiles.join(",")} in ${r.cwd.join(", ")} via ${r.runners.join(",")}`)
        .join("; ")
    }`,
  });
  if (input.skipQuery) return report(me);

  const cwd = input.cwd ?? queryRules[0].cwd[0];
  const sent = await control.delegate({
    peer,
    prompt: HANDSHAKE_PROMPT,
    cwd,
    profile: "query",
    timeout_s: 300,
  });
  if (!sent.ok) {
    const rule = "rule" in sent.error ? sent.error.rule : undefined;
    const said = `${sent.error.message}${rule ? ` [rule ${rule}]` : ""}`;
    steps.push({
      step: "round_trip",
      ok: false,
      ...roundTripFailure(sent.error.code, said, me, peer, cwd),
    });
    return report(me);
  }
  const taskId = sent.value.task.id;
  const followed = await followTask(control, taskId, {
    pollS: 30,
    deadline: Date.now() + (input.waitSeconds ?? 180) * 1000,
  });
  const state = followed.ok ? followed.value.task.state : sent.value.task.state;
  const result = followed.ok ? followed.value.result : null;
  if (!isTerminal(state)) {
    steps.push({
      step: "round_trip",
      ok: false,
      detail: `task ${taskId} is still ${state} on ${peer}`,
      where: peer,
      fix:
        `follow it with cmesh_wait {"task_id": "${taskId}"}; a slow first run of the runner is normal`,
    });
    return report(me, { task_id: taskId, state, cwd });
  }
  const roundTrip = {
    task_id: taskId,
    state,
    cwd,
    ...(result
      ? {
        runner: result.runner,
        reply: result.claims.final_text?.slice(0, 500) ?? null,
        exit_code: result.evidence?.exit_code ?? null,
        duration_ms: result.evidence?.duration_ms,
      }
      : {}),
  };
  if (state === "succeeded") {
    steps.push({
      step: "round_trip",
      ok: true,
      detail: `query task ${taskId} succeeded on ${peer} via ${result?.runner} in ${
        roundTrip.duration_ms ?? "?"
      } ms; reply: ${JSON.stringify(roundTrip.reply ?? "")}`,
    });
  } else {
    steps.push({
      step: "round_trip",
      ok: false,
      detail: `query task ${taskId} ended ${state} on ${peer}${
        result?.error ? `: ${result.error.message}` : ""
      }`,
      where: peer,
      fix: `on ${peer}: run 'cmesh doctor' (is the runner ${
        result?.runner ?? ""
      } installed and logged in?) and 'cmesh audit list --task ${taskId}'`,
    });
  }
  return report(me, roundTrip);
}

/**
 * Which machine a failed handshake delegation points at, and what to do: only a refusal by the
 * peer's cmesh or a failure to reach it is the peer's; the rest (this machine's outbound policy,
 * its daemon, a bad answer, an id conflict) is this machine's.
 */
function roundTripFailure(
  code: string,
  said: string,
  me: string,
  peer: string,
  cwd: string,
): { detail: string; where: string; fix: string } {
  switch (code) {
    case "denied":
      return {
        detail: `refused by this machine's outbound policy: ${said}`,
        where: me,
        fix:
          `allow yourself to send ${cwd} to ${peer}: cmesh_setup_plan with outbound_peers [{"name": "${peer}", "cwd": ["${cwd}/**"]}]`,
      };
    case "peer_denied":
      return {
        detail: `refused by ${peer}: ${said}`,
        where: peer,
        fix:
          `on ${peer}: let ${me} use ${cwd} with query (an [[inbound.allow]] rule naming ${me}), or pass a cwd inside one of its allowed roots`,
      };
    case "peer_unreachable":
    case "peer_busy":
    case "peer_not_cmesh":
      return {
        detail: `${peer} could not take the task: ${said}`,
        where: peer,
        fix: code === "peer_busy"
          ? `${peer} is at its limits; try again shortly`
          : `on ${peer}: make sure it is online on the tailnet and its cmesh daemon runs (cmesh doctor there)`,
      };
    default:
      return {
        detail: `the delegation failed on this machine: ${said}`,
        where: me,
        fix: `on ${me}: cmesh doctor says what is wrong with this machine's cmesh`,
      };
  }
}
