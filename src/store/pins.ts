/**
 * @module
 * Outbound peer pins: which Tailscale node (by StableID) a configured peer name means. A pin is
 * learned on the first successful contact (trust on first use) or set by the user
 * (`cmesh peers pin`); every change is audited in the same transaction (`peer.pinned`,
 * `peer.unpinned`). A pin in `config.toml` (`outbound.peers[].stable_id`) takes precedence and
 * is not stored here.
 *
 * @example
 * ```ts
 * import { openStore } from "./db.ts";
 * import { getPin, pinIfAbsent } from "./pins.ts";
 * using store = openStore("/var/lib/cmesh/cmesh.db");
 * pinIfAbsent(store, { name: "buildbox", stable_id: "nA", dns_name: "buildbox.t.ts.net",
 *   source: "first_contact" }, { node: "laptop" }, { address: "100.64.0.3:7433" });
 * getPin(store, "buildbox")?.stable_id; // "nA"
 * ```
 */
import { appendAudit } from "./audit.ts";
import type { Store } from "./db.ts";

/** How a stored pin came to be. */
export type PinSource = "first_contact" | "user";

/** One stored pin. */
export interface PeerPin {
  /** The configured peer name (`outbound.peers[].name`). */
  name: string;
  stable_id: string;
  /** The node's MagicDNS name when it was pinned (display only). */
  dns_name: string | null;
  source: PinSource;
  pinned_at: string;
}

/** The pin of `name`, or null. */
export function getPin(store: Store, name: string): PeerPin | null {
  return (store.prepare("SELECT * FROM peer_pins WHERE name = ?").get(name) as
    | PeerPin
    | undefined) ?? null;
}

/** Every stored pin, by name. */
export function listPins(store: Store): PeerPin[] {
  return store.prepare("SELECT * FROM peer_pins ORDER BY name").all() as unknown as PeerPin[];
}

/**
 * Pins `name` unless it is pinned already (first contact); audits `peer.pinned` when it did.
 * Returns the pin now in force.
 */
export function pinIfAbsent(
  store: Store,
  pin: Omit<PeerPin, "pinned_at">,
  actor: Record<string, unknown>,
  data: Record<string, unknown> = {},
): { pin: PeerPin; created: boolean } {
  return store.transaction(() => {
    const existing = getPin(store, pin.name);
    if (existing) return { pin: existing, created: false };
    const reason = pin.source === "first_contact"
      ? `first successful contact with ${pin.name}: pinned to node ${pin.stable_id}`
      : `pinned ${pin.name} to node ${pin.stable_id}`;
    return { pin: writePin(store, pin, actor, reason, data), created: true };
  });
}

/** Sets (or replaces) the pin of `name` on the user's word; audits `peer.pinned` with the old one. */
export function setPin(
  store: Store,
  pin: Omit<PeerPin, "pinned_at">,
  actor: Record<string, unknown>,
): PeerPin {
  return store.transaction(() => {
    const previous = getPin(store, pin.name);
    const reason = previous
      ? `re-pinned ${pin.name} from node ${previous.stable_id} to node ${pin.stable_id}`
      : `pinned ${pin.name} to node ${pin.stable_id}`;
    return writePin(store, pin, actor, reason, { previous: previous?.stable_id ?? null });
  });
}

/** Stores a pin (replacing any) and its `peer.pinned` record; call inside a transaction. */
function writePin(
  store: Store,
  pin: Omit<PeerPin, "pinned_at">,
  actor: Record<string, unknown>,
  reason: string,
  data: Record<string, unknown>,
): PeerPin {
  const row: PeerPin = { ...pin, pinned_at: store.now() };
  store.prepare(
    "INSERT OR REPLACE INTO peer_pins (name, stable_id, dns_name, source, pinned_at) " +
      "VALUES (?, ?, ?, ?, ?)",
  ).run(row.name, row.stable_id, row.dns_name, row.source, row.pinned_at);
  appendAudit(store, {
    kind: "peer.pinned",
    actor,
    reason,
    data: {
      peer: pin.name,
      stable_id: pin.stable_id,
      dns_name: pin.dns_name,
      source: pin.source,
      ...data,
    },
  });
  return row;
}

/** Removes the pin of `name` (the next contact pins again); audits `peer.unpinned`. */
export function removePin(
  store: Store,
  name: string,
  actor: Record<string, unknown>,
): PeerPin | null {
  return store.transaction(() => {
    const previous = getPin(store, name);
    if (!previous) return null;
    store.prepare("DELETE FROM peer_pins WHERE name = ?").run(name);
    appendAudit(store, {
      kind: "peer.unpinned",
      actor,
      reason: `unpinned ${name} (was node ${previous.stable_id}); the next contact pins it again`,
      data: { peer: name, previous: previous.stable_id },
    });
    return previous;
  });
}
