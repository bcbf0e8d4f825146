/**
 * @module
 * The checks of what reaches this cmesh and what it reaches: the coding agents that have its MCP
 * server registered, and the outbound peers (does each answer, and does it allow this machine
 * anything). Pure functions of {@link SetupFacts}.
 *
 * @example
 * ```ts
 * import { reachChecks } from "./checks_reach.ts";
 * import type { SetupFacts } from "./facts.ts";
 * declare const facts: SetupFacts;
 * reachChecks(facts).map((c) => c.id); // ["agent.claude-code", "peer.buildbox"]
 * ```
 */
import type { SetupFacts } from "./facts.ts";
import { type Check, pass, warn } from "./verdict.ts";

/**
 * Agents, then peers.
 *
 * @example
 * ```ts
 * import type { SetupFacts } from "./facts.ts";
 * declare const facts: SetupFacts;
 * const peers = reachChecks(facts).filter((c) => c.id.startsWith("peer."));
 * ```
 */
export function reachChecks(f: SetupFacts): Check[] {
  return [...agentChecks(f), ...peerChecks(f)];
}

function agentChecks(f: SetupFacts): Check[] {
  const out: Check[] = [];
  for (const a of f.agents) {
    if (a.error) {
      out.push(
        warn(
          `agent.${a.id}`,
          `${a.name}: ${a.error}`,
          `fix ${a.file}, then run 'cmesh install-mcp'`,
        ),
      );
    } else if (a.registered) {
      out.push(pass(`agent.${a.id}`, `${a.name}: cmesh registered in ${a.file} (${a.command})`));
    } else if (a.detected) {
      out.push(warn(
        `agent.${a.id}`,
        `${a.name} is installed, but cmesh is not registered in ${a.file}`,
        `cmesh install-mcp --agent ${a.id}`,
      ));
    }
  }
  if (!f.agents.some((a) => a.registered)) {
    out.push(warn(
      "agents",
      "no coding agent has the cmesh MCP server registered",
      "cmesh install-mcp (or --agent claude-code|codex|gemini|cursor|claude-desktop)",
    ));
  }
  return out;
}

function peerChecks(f: SetupFacts): Check[] {
  const cfg = f.config.config;
  if (cfg.outbound.peers.length === 0) {
    return [pass("peers", "no outbound peers configured (this machine does not delegate)")];
  }
  if (f.peers === null) {
    return [warn(
      "peers",
      `${cfg.outbound.peers.length} outbound peer(s) configured, not checked: the daemon is not running`,
      "start the daemon, then run 'cmesh doctor' again",
    )];
  }
  return f.peers.map((p) => {
    const id = `peer.${p.name}`;
    if (!p.cmesh) {
      return warn(
        id,
        `${p.name}${p.address ? ` (${p.address})` : ""}: ${p.error ?? "cmesh does not answer"}`,
        `on ${p.name}: install cmesh, enable inbound (inbound.enabled = true) and start its daemon; check with 'cmesh doctor' there`,
      );
    }
    const rules = p.allows_me?.rules ?? [];
    if (rules.length === 0) {
      return warn(
        id,
        `${p.name} answers (cmesh ${p.peer_version}) but allows this machine nothing`,
        `on ${p.name}: add an [[inbound.allow]] rule naming this machine (peers = ["<this node>"], profiles = ["query"], cwd = [...])`,
      );
    }
    return pass(
      id,
      `${p.name} answers (cmesh ${p.peer_version}) and allows this machine ${rules.length} rule(s)`,
    );
  });
}
