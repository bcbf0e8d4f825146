/**
 * @module
 * The verdicts of `cmesh doctor` and `cmesh_setup_status`: pure functions from
 * {@link SetupFacts} to checks, each `pass`, `warn` or `fail` with what was found and, when
 * not passing, the fix. A `fail` means cmesh cannot work as configured (doctor exits 1); a
 * `warn` means something is missing that the user probably wants.
 *
 * @example
 * ```ts
 * import { doctorChecks, summarize } from "./checks.ts";
 * import type { SetupFacts } from "./facts.ts";
 * declare const facts: SetupFacts;
 * const checks = doctorChecks(facts);
 * summarize(checks); // { pass: 7, warn: 2, fail: 0, ok: true }
 * ```
 */
import type { SetupFacts } from "./facts.ts";

/** A check's verdict. */
export type CheckStatus = "pass" | "warn" | "fail";

/** One check. */
export interface Check {
  /** Stable id, e.g. `config`, `daemon`, `runner.claude`, `agent.codex`, `peer.buildbox`. */
  id: string;
  status: CheckStatus;
  /** What was found. */
  detail: string;
  /** What to do about it (absent on pass). */
  fix?: string;
}

const pass = (id: string, detail: string): Check => ({ id, status: "pass", detail });
const warn = (id: string, detail: string, fix: string): Check => ({
  id,
  status: "warn",
  detail,
  fix,
});
const fail = (id: string, detail: string, fix: string): Check => ({
  id,
  status: "fail",
  detail,
  fix,
});

function configCheck(f: SetupFacts): Check {
  const c = f.config;
  if (!c.exists) {
    return warn(
      "config",
      `${c.file} does not exist: the defaults are in use (inbound disabled, no outbound peers)`,
      "ask your agent to 'help me set up cmesh' (cmesh_setup_plan), or run 'cmesh config init' and edit it",
    );
  }
  if (!c.valid) {
    return fail(
      "config",
      `${c.file} is invalid: ${(c.problems ?? []).join("; ")}`,
      `edit ${c.file} (run 'cmesh config validate' to see each problem with its location)`,
    );
  }
  return pass("config", `${c.file} is valid`);
}

function stateChecks(f: SetupFacts): Check[] {
  const s = f.stateDir;
  const t = f.token;
  const out: Check[] = [];
  if (!s.exists) {
    out.push(warn(
      "state_dir",
      `${s.path} does not exist yet`,
      "it is created on the daemon's first start ('cmesh service install' or 'cmesh daemon')",
    ));
  } else if (!s.writable) {
    out.push(fail(
      "state_dir",
      `${s.path} is not writable${s.problem ? ` (${s.problem})` : ""}`,
      `make it writable by this user (e.g. chown -R "$USER" ${s.path}; chmod 700 ${s.path}) or set daemon.state_dir`,
    ));
  } else out.push(pass("state_dir", `${s.path} is writable`));
  if (t.problem) {
    out.push(
      fail("token", `cannot read ${t.path}: ${t.problem}`, `check the permissions of ${t.path}`),
    );
  } else if (!t.exists) {
    out.push(warn(
      "token",
      `no control token at ${t.path}`,
      "it is created on the daemon's first start ('cmesh service install' or 'cmesh daemon')",
    ));
  } else if (t.mode !== null && (t.mode & 0o077) !== 0) {
    out.push(fail(
      "token",
      `${t.path} is readable by other users (mode ${t.mode.toString(8)})`,
      `chmod 600 ${t.path}`,
    ));
  } else {
    out.push(pass("token", `${t.path}${t.mode === null ? "" : ` (mode ${t.mode.toString(8)})`}`));
  }
  return out;
}

function daemonCheck(f: SetupFacts): Check {
  const d = f.daemon;
  if (d.running) {
    const s = d.status;
    return pass(
      "daemon",
      `running (pid ${s.pid}, node ${s.node}, cmesh ${s.version}) on 127.0.0.1:${d.port}${
        s.demo ? " — LOCAL DEMO MODE" : s.local_only ? " — LOCAL-ONLY MODE (no tailnet)" : ""
      }`,
    );
  }
  return fail(
    "daemon",
    `not answering on 127.0.0.1:${d.port}${d.message ? `: ${d.message}` : ""}`,
    "run 'cmesh service install' to keep it running (or 'cmesh daemon' in a terminal), then check its output",
  );
}

function tailscaleCheck(f: SetupFacts): Check {
  const t = f.tailscale;
  if (!t.ok && f.daemon.running && f.daemon.status.local_only) {
    // `cmesh daemon --local-only` asks no tailscaled: its absence is expected, not a failure.
    return pass(
      "tailscale",
      `not used: the daemon runs --local-only (LocalAPI at ${t.where}: ${t.reason})`,
    );
  }
  if (!t.ok) {
    return fail(
      "tailscale",
      `LocalAPI at ${t.where} did not answer: ${t.reason}`,
      "install and start Tailscale (https://tailscale.com/download) and log in with 'tailscale up'; if tailscaled uses another socket, set tailscale.socket (or tailscale.localapi_url) in config.toml",
    );
  }
  if (t.backendState !== "Running" || !t.self) {
    return fail(
      "tailscale",
      `tailscaled is ${t.backendState}${t.self ? "" : " (no node yet)"}`,
      "run 'tailscale up' (and log in) until 'tailscale status' shows this machine",
    );
  }
  const online = (t.peers ?? []).filter((p) => p.online).length;
  return pass(
    "tailscale",
    `node ${t.self.name} (${t.self.addresses.join(", ")}), ${t.backendState}, ${online} of ${
      t.peers?.length ?? 0
    } peers online`,
  );
}

function workerCheck(f: SetupFacts): Check {
  const cfg = f.config.config;
  if (!cfg.inbound.enabled) {
    return pass("worker", "inbound disabled: this machine only sends tasks (no port is opened)");
  }
  if (!f.daemon.running) {
    return warn(
      "worker",
      `inbound enabled (port ${cfg.daemon.worker_port}), but the daemon is not running, so nothing listens`,
      "start the daemon (see the daemon check)",
    );
  }
  const { listening } = f.daemon.status.worker;
  if (listening.length) return pass("worker", `listening on ${listening.join(", ")}`);
  return fail(
    "worker",
    `inbound enabled, but the daemon reports no worker listener on port ${cfg.daemon.worker_port}`,
    "read the daemon's log: it names why the worker could not bind (tailscaled not Running, port in use)",
  );
}

/** The runner checks (exported for tests). */
export function runnerChecks(f: SetupFacts): Check[] {
  const cfg = f.config.config;
  const usable = f.runners.filter((r) => r.available);
  if (!cfg.inbound.enabled) {
    return [pass(
      "runners",
      `not needed while inbound is disabled${
        usable.length ? ` (found: ${usable.map((r) => r.name).join(", ")})` : ""
      }`,
    )];
  }
  const out = f.runners.map((r) => {
    if (!r.available) {
      return warn(`runner.${r.name}`, `unavailable: ${r.problem}`, r.problem ?? "install it");
    }
    if (!r.version) {
      return warn(
        `runner.${r.name}`,
        `${r.binary} found, but its version probe failed: ${r.problem}`,
        `run '${r.binary} --version' yourself; reinstall or log in to it`,
      );
    }
    const c = r.credentials;
    if (c && c.names.length && !c.present.length && !c.configSetsEnv) {
      const where = c.source === "daemon"
        ? "the running daemon has none of them"
        : `none of them is set in this shell or in ${c.serviceEnvFile}`;
      const fix =
        `put one in ${c.serviceEnvFile} (one NAME=value line, mode 0600) and restart: cmesh service install; a daemon you start by hand takes it from its shell (or: cmesh daemon --env-file ${c.serviceEnvFile})`;
      return warn(
        `runner.${r.name}`,
        `${r.version} (${r.binary}), but it gets credentials only from ${
          c.names.join(", ")
        } and ${where}; the runner uses a private config dir, so a login made with the CLI itself is not seen`,
        fix,
      );
    }
    if (c && c.present.length) {
      return pass(
        `runner.${r.name}`,
        `${r.version} (${r.binary}); ${c.present.join(", ")} set ${
          c.source === "daemon" ? "in the running daemon" : `here or in ${c.serviceEnvFile}`
        }`,
      );
    }
    return pass(`runner.${r.name}`, `${r.version} (${r.binary})`);
  });
  const allowed = new Set(cfg.inbound.allow.flatMap((rule) => rule.runners));
  if (!usable.some((r) => allowed.has(r.name))) {
    out.push(fail(
      "runners",
      `no runner named in inbound.allow (${[...allowed].join(", ") || "none"}) is available here`,
      "install Claude Code (npm i -g @anthropic-ai/claude-code) or Codex (npm i -g @openai/codex), or set runners.<name>.binary",
    ));
  }
  return out;
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

function serviceCheck(f: SetupFacts): Check {
  const s = f.service;
  if ("error" in s) return warn("service", `unknown: ${s.error}`, "run 'cmesh daemon' yourself");
  if (!s.installed) {
    return warn(
      "service",
      `no ${s.manager} service: the daemon will not start by itself after a reboot`,
      "cmesh service install",
    );
  }
  if (!s.up_to_date) {
    return warn("service", `${s.file} is out of date (${s.state})`, "cmesh service install");
  }
  return /^(active|running|Running|Ready)$/.test(s.state)
    ? pass("service", `${s.manager}: ${s.state} (${s.file})`)
    : warn(
      "service",
      `${s.manager}: installed but ${s.state}`,
      "cmesh service install (it starts it), then 'cmesh service status'",
    );
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

/** `[sandbox]`: are runs sandboxed, and if they must be but cannot, why and the fix. */
function sandboxCheck(f: SetupFacts): Check {
  const { mode, availability: a } = f.sandbox;
  if (mode === "off") {
    const why = f.os === "windows" && f.config.config.sandbox.mode === undefined
      ? "runs are not sandboxed on Windows"
      : 'runs are NOT sandboxed ([sandbox] mode = "off")';
    return warn(
      "sandbox",
      `${why}: a run can read and write whatever this user can`,
      f.os === "windows"
        ? "run inbound work on Linux or macOS, or keep its cwd roots and profiles narrow"
        : 'remove [sandbox] mode = "off" (or set mode = "required") to sandbox every run',
    );
  }
  if (a.ok) return pass("sandbox", `every run is sandboxed with ${a.kind} (${a.bin})`);
  const detail = `[sandbox] mode = "required" but runs cannot be sandboxed: ${a.reason}; ` +
    "inbound tasks are refused";
  return f.config.config.inbound.enabled
    ? fail("sandbox", detail, a.fix)
    : warn("sandbox", detail, a.fix);
}

/**
 * Egress: the network each runner's runs get, and whether `model` can work here (socat for
 * the in-sandbox forwarders). Not shown while inbound is disabled.
 */
function egressCheck(f: SetupFacts): Check[] {
  if (!f.config.config.inbound.enabled || f.egress === undefined) return [];
  const runners = f.runners.filter((r) => r.available && r.egress);
  if (runners.length === 0) return [];
  const list = runners.map((r) => `${r.name}: ${r.egress!.describe}`).join("; ");
  const model = runners.filter((r) => r.egress!.mode === "model").map((r) => r.name);
  if (f.sandbox.mode === "off" && runners.some((r) => r.egress!.mode !== "host")) {
    return [warn(
      "egress",
      `not enforced: [sandbox] mode = "off" gives every run the host's network (${list})`,
      'remove [sandbox] mode = "off" to enforce each runner\'s egress',
    )];
  }
  if (model.length > 0 && f.sandbox.availability.kind === "seatbelt") {
    return [fail(
      "egress",
      `${model.join(", ")} use egress "model", which macOS cannot enforce: their tasks are refused`,
      'set runners.<name>.egress = "host" (files stay sandboxed, the network is the host\'s) or "none" in config.toml',
    )];
  }
  if (model.length > 0 && f.egress.socat === null) {
    return [fail(
      "egress",
      `${
        model.join(", ")
      } use egress "model", which needs socat inside the sandbox, and socat is not installed: their tasks are refused`,
      'install socat (Debian/Ubuntu: apt-get install socat), or set runners.<name>.egress = "none" or "host"',
    )];
  }
  return [pass("egress", list)];
}

/** Every check, in the order a human fixes them. */
export function doctorChecks(f: SetupFacts): Check[] {
  return [
    configCheck(f),
    tailscaleCheck(f),
    ...stateChecks(f),
    daemonCheck(f),
    serviceCheck(f),
    workerCheck(f),
    sandboxCheck(f),
    ...runnerChecks(f),
    ...egressCheck(f),
    ...agentChecks(f),
    ...peerChecks(f),
  ];
}

/** Counts, and `ok` = no failure. */
export function summarize(
  checks: Check[],
): { pass: number; warn: number; fail: number; ok: boolean } {
  const n = (s: CheckStatus) => checks.filter((c) => c.status === s).length;
  return { pass: n("pass"), warn: n("warn"), fail: n("fail"), ok: n("fail") === 0 };
}
