/**
 * @module
 * The checks of this machine's own set-up, in the order a human fixes them: the config file,
 * Tailscale, the state directory and control token, the daemon, and the autostart service.
 * Pure functions of {@link SetupFacts}.
 *
 * @example
 * ```ts
 * import { hostChecks } from "./checks_host.ts";
 * import type { SetupFacts } from "./facts.ts";
 * declare const facts: SetupFacts;
 * hostChecks(facts).map((c) => c.id);
 * // ["config", "tailscale", "state_dir", "token", "daemon", "service"]
 * ```
 */
import type { SetupFacts } from "./facts.ts";
import { type Check, fail, pass, warn } from "./verdict.ts";

/**
 * Config, Tailscale, state directory and token, daemon, service.
 *
 * @example
 * ```ts
 * import type { SetupFacts } from "./facts.ts";
 * declare const facts: SetupFacts;
 * const failing = hostChecks(facts).filter((c) => c.status === "fail");
 * ```
 */
export function hostChecks(f: SetupFacts): Check[] {
  return [configCheck(f), tailscaleCheck(f), ...stateChecks(f), daemonCheck(f), serviceCheck(f)];
}

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
