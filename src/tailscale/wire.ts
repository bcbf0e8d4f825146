/**
 * @module
 * zod schemas for the parts of tailscaled's LocalAPI JSON that cmesh reads: whois
 * (`apitype.WhoIsResponse` = `tailcfg.Node` + `tailcfg.UserProfile` + `CapMap`) and status
 * (`ipnstate.Status`). Objects are `looseObject`: unknown fields pass (tailscaled adds fields
 * all the time), the fields cmesh relies on are checked.
 *
 * Numeric IDs (`Node.ID`, `User`, `UserProfile.ID`, `NodeID`, `UserID`) are deliberately not
 * declared: old tailnets have IDs above `Number.MAX_SAFE_INTEGER`, which `JSON.parse` rounds.
 * cmesh keys on `StableID` strings only.
 *
 * @example
 * ```ts
 * import { issuesLine } from "../util/zod_issues.ts";
 * import { WhoIsResponseWire } from "./wire.ts";
 * declare const text: string; // a LocalAPI whois answer
 * const r = WhoIsResponseWire.safeParse(JSON.parse(text));
 * if (!r.success) console.error(issuesLine(r.error.issues, 3));
 * ```
 */
import { z } from "../deps/zod.ts";

/** A list that Go marshals as `null` when empty. */
const nullableList = <T extends z.ZodType>(item: T) =>
  z.array(item).nullish().transform((v) => v ?? []);

/** `tailcfg.Hostinfo` subset, display only (never policy). */
export const HostinfoWire = z.looseObject({
  OS: z.string().optional(),
  Hostname: z.string().optional(),
  ShareeNode: z.boolean().optional(),
});

/** `tailcfg.Node` subset. */
export const NodeWire = z.looseObject({
  StableID: z.string().min(1, "StableID must not be empty"),
  /** MagicDNS FQDN with trailing dot; may be empty on some control servers. */
  Name: z.string(),
  /** Prefixes, `100.x.y.z/32` and `fd7a:...:/128`. */
  Addresses: nullableList(z.string()),
  Tags: nullableList(z.string()),
  ComputedName: z.string().optional(),
  /** Non-zero when the node is shared in from another tailnet. */
  Sharer: z.number().optional(),
  Expired: z.boolean().optional(),
  Hostinfo: HostinfoWire.nullish(),
  Online: z.boolean().nullish(),
});
/** Parsed `tailcfg.Node` subset. */
export type NodeWire = z.infer<typeof NodeWire>;

/** `tailcfg.UserProfile` subset. */
export const UserProfileWire = z.looseObject({
  LoginName: z.string(),
  DisplayName: z.string().optional(),
});

/**
 * `tailcfg.PeerCapMap`: cap name → list of raw JSON values (`null` when empty). Checked by hand
 * and rebuilt with `Object.fromEntries` so a key like `__proto__` stays a plain own property.
 */
export const CapMapWire = z.unknown().transform((v, ctx): Record<string, unknown[]> => {
  if (v === null || v === undefined) return {};
  if (typeof v !== "object" || Array.isArray(v)) {
    ctx.addIssue({ code: "custom", message: "CapMap must be an object" });
    return z.NEVER;
  }
  const entries: Array<[string, unknown[]]> = [];
  for (const [name, values] of Object.entries(v)) {
    if (values === null) {
      entries.push([name, []]);
    } else if (Array.isArray(values)) {
      entries.push([name, values]);
    } else {
      ctx.addIssue({ code: "custom", message: `CapMap[${JSON.stringify(name)}] must be a list` });
      return z.NEVER;
    }
  }
  return Object.fromEntries(entries);
});

/** `GET /localapi/v0/whois` 200 body. */
export const WhoIsResponseWire = z.looseObject({
  Node: NodeWire,
  UserProfile: UserProfileWire,
  CapMap: CapMapWire,
});
/** Parsed whois body. */
export type WhoIsResponseWire = z.infer<typeof WhoIsResponseWire>;

/** `ipnstate.PeerStatus` subset (Self and each Peer). */
export const PeerStatusWire = z.looseObject({
  /** StableNodeID; empty before login. */
  ID: z.string().optional().transform((v) => v ?? ""),
  HostName: z.string().optional().transform((v) => v ?? ""),
  /** FQDN with trailing dot; empty before login. */
  DNSName: z.string().optional().transform((v) => v ?? ""),
  OS: z.string().optional().transform((v) => v ?? ""),
  TailscaleIPs: nullableList(z.string()),
  Tags: nullableList(z.string()),
  Online: z.boolean().optional().transform((v) => v ?? false),
  /** Present for nodes shared in from another tailnet (`tailcfg.Node.Sharer`); 0/absent else. */
  AltSharerUserID: z.unknown().optional(),
  /** The node is in the netmap only because it is owned by a user this node was shared to. */
  ShareeNode: z.boolean().optional(),
});
/** Parsed `ipnstate.PeerStatus` subset. */
export type PeerStatusWire = z.infer<typeof PeerStatusWire>;

/** `GET /localapi/v0/status` body (`ipnstate.Status`) subset. */
export const StatusWire = z.looseObject({
  Version: z.string().optional().transform((v) => v ?? ""),
  /** false in userspace-networking mode. */
  TUN: z.boolean().optional().transform((v) => v ?? false),
  BackendState: z.string(),
  TailscaleIPs: nullableList(z.string()),
  Self: PeerStatusWire.nullish(),
  Health: nullableList(z.string()),
  MagicDNSSuffix: z.string().optional().transform((v) => v ?? ""),
  /** Keyed by `nodekey:<hex>`; `null`/absent with `?peers=false`. */
  Peer: z.record(z.string(), PeerStatusWire).nullish().transform((v) => v ?? {}),
});
/** Parsed status body. */
export type StatusWire = z.infer<typeof StatusWire>;
