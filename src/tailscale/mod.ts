/**
 * @module
 * The tailscale layer: tailnet address rules, LocalAPI transports, whois and status, the peer
 * identity model and the whois cache. Import from here or from the individual modules.
 *
 * @example
 * ```ts
 * import { CachingWhois, isTailnetIp, LocalApiClient } from "./mod.ts";
 * const whois = new CachingWhois(LocalApiClient.create());
 * const [remoteIp, remotePort] = ["100.64.0.2", 41641];
 * if (isTailnetIp(remoteIp)) console.log(await whois.whois(remoteIp, remotePort));
 * ```
 */
export * from "./addr.ts";
export * from "./identity.ts";
export * from "./ipn_bus.ts";
export * from "./localapi.ts";
export * from "./status.ts";
export * from "./transport.ts";
export * from "./whois_cache.ts";
