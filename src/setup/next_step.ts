/**
 * @module
 * `cmesh_setup_status`'s verdict: is setup complete, and what is the one next step — phrased
 * for an agent, naming the wizard tool to call and what the user must decide or confirm.
 * Pure, from the same checks `cmesh doctor` prints.
 *
 * @example
 * ```ts
 * import { doctorChecks } from "./checks.ts";
 * import type { SetupFacts } from "./facts.ts";
 * import { nextStep } from "./next_step.ts";
 * declare const facts: SetupFacts;
 * const { complete, next } = nextStep(facts, doctorChecks(facts));
 * ```
 */
import type { Check } from "./verdict.ts";
import type { SetupFacts } from "./facts.ts";

/** The next step. `tool` is the wizard tool to call, when one does it. */
export interface NextStep {
  /** The check it comes from (or `done`). */
  id: string;
  /** Who acts: the agent (with a tool), or the user (by hand, on this or another machine). */
  who: "agent" | "user";
  tool?: string;
  instruction: string;
}

/** Whether setup is complete, and what to do next. */
export function nextStep(f: SetupFacts, checks: Check[]): { complete: boolean; next: NextStep } {
  const by = (id: string) => checks.find((c) => c.id === id);
  const failing = (id: string) => by(id)?.status === "fail";
  const online = (f.tailscale.peers ?? []).filter((p) => p.online).map((p) => p.name);
  const complete = !checks.some((c) => c.status === "fail") && f.config.exists &&
    f.daemon.running;

  if (failing("tailscale")) {
    return {
      complete,
      next: {
        id: "tailscale",
        who: "user",
        instruction: `Tailscale is not usable here (${by("tailscale")!.detail}). Ask the user to: ${
          by("tailscale")!.fix
        }. Then call cmesh_setup_status again.`,
      },
    };
  }
  if (failing("config")) {
    return {
      complete,
      next: {
        id: "config",
        who: "user",
        instruction: `${by("config")!.detail}. ${by("config")!.fix}.`,
      },
    };
  }
  if (!f.config.exists) {
    return {
      complete,
      next: {
        id: "config",
        who: "agent",
        tool: "cmesh_setup_plan",
        instruction:
          `There is no config yet. Ask the user (1) which machines this one should delegate tasks to${
            online.length ? ` (online tailnet peers: ${online.join(", ")})` : ""
          }, and (2) whether other machines may send tasks to this one — if so, which peers and which directories (absolute paths) they may work in. Then call cmesh_setup_plan with the answers, show the user the diff, and apply it only after they confirm.`,
      },
    };
  }
  for (const id of ["state_dir", "token"]) {
    if (failing(id)) {
      return {
        complete,
        next: { id, who: "user", instruction: `${by(id)!.detail}: ${by(id)!.fix}` },
      };
    }
  }
  if (!f.daemon.running) {
    return {
      complete,
      next: {
        id: "daemon",
        who: "agent",
        tool: "cmesh_setup_start_daemon",
        instruction:
          "The daemon is not running. Ask the user whether to install cmesh as a user service (systemd/launchd/Scheduled Task) so it keeps running; if they agree, call cmesh_setup_start_daemon.",
      },
    };
  }
  for (const c of checks) {
    if (c.status === "fail") {
      return { complete, next: { id: c.id, who: "user", instruction: `${c.detail}: ${c.fix}` } };
    }
  }
  const peer = checks.find((c) => c.id.startsWith("peer.") && c.status !== "pass");
  if (peer) {
    const name = peer.id.slice("peer.".length);
    return {
      complete,
      next: {
        id: peer.id,
        who: "agent",
        tool: "cmesh_setup_handshake",
        instruction:
          `Peer ${name} is not ready (${peer.detail}). Call cmesh_setup_handshake with peer "${name}": it says exactly what to change on which machine.`,
      },
    };
  }
  const unchecked = f.config.config.outbound.peers.map((p) => p.name);
  return {
    complete,
    next: {
      id: "done",
      who: "agent",
      ...(unchecked.length ? { tool: "cmesh_setup_handshake" } : {}),
      instruction: unchecked.length
        ? `Setup is complete. To prove it end to end, call cmesh_setup_handshake with peer "${
          unchecked[0]
        }" (runs a tiny read-only query there); then use cmesh_peers and cmesh_delegate.`
        : "Setup is complete on this machine. It delegates to no peer yet: to add one, call cmesh_setup_plan with outbound_peers.",
    },
  };
}
