/**
 * @module
 * The checks of running work for peers: the worker listener, the sandbox, the runners with their
 * credentials, and each runner's egress (the worker and runner checks pass, and egress is left
 * out, while inbound is disabled). Pure functions of {@link SetupFacts}.
 *
 * @example
 * ```ts
 * import { inboundChecks } from "./checks_inbound.ts";
 * import type { SetupFacts } from "./facts.ts";
 * declare const facts: SetupFacts;
 * inboundChecks(facts).map((c) => c.id); // ["worker", "sandbox", "runner.claude", "egress"]
 * ```
 */
import type { SetupFacts } from "./facts.ts";
import { type Check, fail, pass, warn } from "./verdict.ts";

/**
 * Worker, sandbox, runners, egress.
 *
 * @example
 * ```ts
 * import type { SetupFacts } from "./facts.ts";
 * declare const facts: SetupFacts;
 * const sandbox = inboundChecks(facts).find((c) => c.id === "sandbox");
 * ```
 */
export function inboundChecks(f: SetupFacts): Check[] {
  return [workerCheck(f), sandboxCheck(f), ...runnerChecks(f), ...egressCheck(f)];
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

/**
 * The runner checks (exported for tests).
 *
 * @example
 * ```ts
 * import type { SetupFacts } from "./facts.ts";
 * declare const facts: SetupFacts;
 * runnerChecks(facts).filter((c) => c.id.startsWith("runner."));
 * ```
 */
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
