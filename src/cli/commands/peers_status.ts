/**
 * @module
 * `cmesh peers` and `cmesh status`.
 */
import type { ControlPeer } from "../../protocol/control.ts";
import { answerOf, controlFor } from "../control_call.ts";
import { loadConfigFor } from "../context.ts";
import { type CommonOptions, emit } from "../output.ts";

function peerLines(p: ControlPeer): string {
  const rules = p.allows_me?.rules.map((r) =>
    `profiles ${r.profiles.join(",")} in ${r.cwd.join(", ")} via ${r.runners.join(",")}`
  );
  const what = p.error
    ? `unavailable: ${p.error}`
    : rules?.length
    ? `allows me: ${rules.join("; ")}`
    : "allows me nothing (no inbound rule matches me there)";
  const node = p.pin
    ? `pinned to node ${p.pin.stable_id} (${p.pin.source.replace("_", " ")})`
    : p.identity === "unverified"
    ? "not pinned: address outside the tailnet, identity not verified"
    : p.stable_id
    ? `not pinned yet: node ${p.stable_id} is pinned on the first task`
    : "not pinned";
  return `${p.name.padEnd(16)} ${p.online ? "online " : "offline"} ${
    p.address ?? ""
  }\n  ${node}\n  ${what}`;
}

/** `cmesh peers`: outbound peers, online state, what each allows me. */
export async function peers(opts: CommonOptions): Promise<void> {
  const body = answerOf(await (await controlFor(opts)).peers());
  emit(
    opts,
    body,
    () =>
      body.peers.map(peerLines).join("\n") ||
      "no outbound peers configured (add [[outbound.peers]] to config.toml)",
  );
}

/** `cmesh status`: daemon, tailnet, config, runners. Exits 1 when the daemon is down. */
export async function status(opts: CommonOptions): Promise<void> {
  const loaded = await loadConfigFor(opts);
  const body = answerOf(await (await controlFor(opts)).status());
  const { tailnet: t, worker: w, runners: r } = body;
  emit(opts, { ...body, config_exists: loaded.exists }, () =>
    [
      `daemon:  running (pid ${body.pid}, node ${body.node}${
        body.demo ? ", LOCAL DEMO" : ""
      }), control ${body.control}`,
      `config:  ${loaded.file}${loaded.exists ? "" : " (missing: defaults)"}`,
      `tailnet: ${
        t.ok
          ? `${t.backend_state}, ${t.self?.name} ${t.self?.addresses.join(", ")}`
          : `unavailable: ${t.reason}`
      }`,
      `worker:  ${w.enabled ? `listening on ${w.listening.join(", ")}` : "inbound disabled"}`,
      ...("available" in r
        ? [
          `runners: ${r.available.map((x) => `${x.name} (${x.binary})`).join(", ") || "none"}`,
          ...r.unavailable.map((u) => `         ${u.name}: ${u.reason}`),
          `sandbox: ${r.sandbox.state}: ${r.sandbox.detail}`,
        ]
        : ["runners: n/a (inbound disabled)"]),
    ].join("\n"));
}
