/**
 * @module
 * The commented starter `config.toml` that `cmesh config init` writes. It is valid as
 * written and carries the safe defaults: inbound off, `query` only.
 */

/** The starter config text. A test checks that it validates. */
export const CONFIG_TEMPLATE =
  `# cmesh configuration. Every key is described in docs/configuration.md.
# Unknown keys are errors, so a typo never silently disables a rule.

[node]
# name = "my-laptop"            # defaults to this machine's Tailscale hostname

[daemon]
# state_dir = "/abs/path"       # default: per-OS state directory (see 'cmesh config path')
control_port = 7434             # loopback only: for 'cmesh mcp' and the CLI
worker_port = 7433              # bound to this node's tailnet address(es) only
log_level = "info"

[tailscale]
# socket = "/var/run/tailscale/tailscaled.sock"
timeout_ms = 2000
# app_capability = "example.com/cap/cmesh"   # when set, Tailscale grants must also allow

[outbound]
# Peers this machine may delegate to, and what it may ask of them.
# [[outbound.peers]]
# name = "buildbox"             # Tailscale hostname, MagicDNS name or tailnet IP
# profiles = ["query"]
# cwd = ["/srv/**"]

[inbound]
enabled = false                 # nobody may ask this machine for work until you enable it
max_concurrent = 2
max_queue = 32
# [[inbound.allow]]
# peers = ["my-laptop"]         # or tags = ["tag:dev"], logins = ["you@example.com"]
# profiles = ["query"]
# cwd = ["/home/you/src"]
# runners = ["claude", "codex"]

[profiles.query]
enabled = true

[profiles.edit]
enabled = false

[profiles.build]
enabled = false

[profiles.full]
enabled = false                 # never enable without reading docs/security.md
`;
