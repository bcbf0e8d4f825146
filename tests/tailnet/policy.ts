/**
 * @module
 * The tailnet policy files the tests hand to headscale (`headscale policy set`), written with
 * **grants** only:
 *
 * - a network grant that opens the cmesh worker port (tcp:7433) on the server to the laptop's
 *   user (`alice@`), and, while the test wants it, to the intruder's user (`mallory@`);
 * - an application-capability grant `example.com/cap/cmesh` from `alice@` to the server, whose
 *   values tell cmesh which profiles, cwds and runners the laptop may use there;
 * - a marker grant `example.com/cap/policy-rev` from everyone to the server carrying the
 *   revision number: when the server's whois shows the new revision, the server has received
 *   the netmap (packet filter and CapMap come in the same one) of that revision. App-only
 *   grants give no network access.
 *
 * @example
 * ```ts
 * import { tailnetPolicy } from "./policy.ts";
 * const p = tailnetPolicy({ rev: 1, laptopCmesh: [{ profiles: ["query"], cwd: ["/srv/**"] }],
 *   intruderPorts: ["tcp:7433"] });
 * ```
 */

/** The cmesh application capability name the server's config requires. */
export const CMESH_CAP = "example.com/cap/cmesh";
/** The marker capability carrying the policy revision. */
export const REV_CAP = "example.com/cap/policy-rev";
/** The tag of the server node (from its tagged pre-auth key). */
export const SERVER_TAG = "tag:cmesh-server";
/** headscale users. */
export const LAPTOP_USER = "alice";
export const INTRUDER_USER = "mallory";

/** What varies between the revisions a test sets. */
export interface PolicySpec {
  /** Increases with every `policy set`; see the module doc. */
  rev: number;
  /** Values of the cmesh capability granted to the laptop's user; `null` = no such grant. */
  laptopCmesh: unknown[] | null;
  /** Ports (`tcp:N`) the intruder's user may reach on the server. */
  intruderPorts: string[];
}

/** The policy document (plain JSON is valid HuJSON). */
export function tailnetPolicy(spec: PolicySpec): Record<string, unknown> {
  const server = [SERVER_TAG];
  const grants: Record<string, unknown>[] = [
    { src: [`${LAPTOP_USER}@`], dst: server, ip: ["tcp:7433"] },
    { src: ["*"], dst: server, app: { [REV_CAP]: [{ rev: spec.rev }] } },
  ];
  if (spec.laptopCmesh !== null) {
    grants.push({ src: [`${LAPTOP_USER}@`], dst: server, app: { [CMESH_CAP]: spec.laptopCmesh } });
  }
  if (spec.intruderPorts.length > 0) {
    grants.push({ src: [`${INTRUDER_USER}@`], dst: server, ip: spec.intruderPorts });
  }
  return {
    // Only alice may register nodes tagged as the server (the pre-auth key carries the tag).
    tagOwners: { [SERVER_TAG]: [`${LAPTOP_USER}@`] },
    grants,
  };
}
