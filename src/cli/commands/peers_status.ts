/**
 * @module
 * `cmesh peers` and `cmesh status`.
 */
import { call, controlFor } from "../control_call.ts";
import { loadConfigFor } from "../context.ts";
import { type CommonOptions, emit } from "../output.ts";

/** `cmesh peers`: outbound peers, online state, what each allows me. */
export async function peers(opts: CommonOptions): Promise<void> {
  const body = await call(await controlFor(opts), "GET", "/v1/peers");
  const list = body.peers as Record<string, unknown>[];
  emit(
    opts,
    body,
    () =>
      list.length === 0
        ? "no outbound peers configured (add [[outbound.peers]] to config.toml)"
        : list.map((p) => {
          const allows = p.allows_me as {
            rules?: { profiles: string[]; cwd: string[]; runners: string[] }[];
          } | undefined;
          const rules = allows?.rules?.map((r) =>
            `profiles ${r.profiles.join(",")} in ${r.cwd.join(", ")} via ${r.runners.join(",")}`
          );
          const what = p.error
            ? `unavailable: ${p.error}`
            : rules?.length
            ? `allows me: ${rules.join("; ")}`
            : "allows me nothing (no inbound rule matches me there)";
          const pin = p.pin as { stable_id: string; source: string } | null;
          const node = pin
            ? `pinned to node ${pin.stable_id} (${pin.source.replace("_", " ")})`
            : p.identity === "unverified"
            ? "not pinned: address outside the tailnet, identity not verified"
            : p.stable_id
            ? `not pinned yet: node ${p.stable_id} is pinned on the first task`
            : "not pinned";
          return `${String(p.name).padEnd(16)} ${p.online ? "online " : "offline"} ${
            p.address ?? ""
          }\n  ${node}\n  ${what}`;
        }).join("\n"),
  );
}

/** `cmesh status`: daemon, tailnet, config, runners. Exits 1 when the daemon is down. */
export async function status(opts: CommonOptions): Promise<void> {
  const loaded = await loadConfigFor(opts);
  const body = await call(await controlFor(opts), "GET", "/v1/status");
  const t = body.tailnet as {
    ok: boolean;
    backend_state?: string;
    reason?: string;
    self?: { name: string; addresses: string[] };
  };
  const w = body.worker as { enabled: boolean; listening: string[] };
  const r = body.runners as {
    available?: { name: string; binary: string }[];
    unavailable?: { name: string; reason: string }[];
    sandbox?: { state: string; detail: string };
  };
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
      `runners: ${
        r.available
          ? r.available.map((x) => `${x.name} (${x.binary})`).join(", ") || "none"
          : "n/a (inbound disabled)"
      }`,
      ...(r.unavailable ?? []).map((u) => `         ${u.name}: ${u.reason}`),
      ...(r.sandbox ? [`sandbox: ${r.sandbox.state}: ${r.sandbox.detail}`] : []),
    ].join("\n"));
}
