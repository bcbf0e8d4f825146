/**
 * @module
 * Control API answers for hand-made setup facts: a daemon's `GET /v1/status` and one outbound
 * peer of `GET /v1/peers`, complete as the schemas say, with the fields a test cares about
 * overridden.
 */
import type {
  AllowsMe,
  ControlPeer,
  ControlTask,
  StatusAnswer,
} from "../../src/protocol/control.ts";
import type { TaskState, TaskStatus } from "../../src/protocol/task.ts";

/** A running daemon's status (node `desk`, worker on `100.64.0.1:7433`). */
export function daemonStatus(over: Partial<StatusAnswer> = {}): StatusAnswer {
  return {
    node: "desk",
    version: "0.1.0",
    pid: 42,
    demo: false,
    local_only: false,
    config_file: "/h/config.toml",
    state_dir: "/h/state",
    control: "127.0.0.1:7434",
    worker: { enabled: true, listening: ["100.64.0.1:7433"] },
    tailnet: { ok: false, reason: "not asked" },
    runners: { inbound: "disabled" },
    outbound_peers: [],
    ...over,
  };
}

/** What a peer allows me: `rules` rules of profile `query` (none: it allows nothing). */
export function allowsMe(rules = 1): AllowsMe {
  const rule = { ruleIndex: 0, by: "node", profiles: ["query"], cwd: ["/srv"], runners: [] };
  return { inboundEnabled: true, rules: Array.from({ length: rules }, () => rule), limits: {} };
}

/** A configured outbound peer as the daemon lists it, online and unpinned. */
export function controlPeer(name: string, over: Partial<ControlPeer> = {}): ControlPeer {
  return {
    name,
    profiles_i_send: ["query"],
    cwd_i_send: ["/srv/**"],
    pin: null,
    online: true,
    ...over,
  };
}

/** Task `id` in `state` as the worker shows it (a `query` on claude in /srv/app). */
export function taskStatus(id: string, state: TaskState): TaskStatus {
  return {
    id,
    state,
    profile: "query",
    runner: "claude",
    cwd: "/srv/app",
    created_at: "2025-01-01T00:00:00.000Z",
    started_at: null,
    finished_at: null,
    last_event: null,
    error: null,
  };
}

/** That task as the control API shows it: sent to `server`. */
export function controlTask(id: string, state: TaskState): ControlTask {
  return { ...taskStatus(id, state), peer: "server" };
}
