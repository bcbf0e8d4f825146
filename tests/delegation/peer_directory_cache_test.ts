/**
 * @module
 * The requester reuses a peer's whois-confirmed resolution briefly, on the worker whois cache's
 * terms: only while the IPN bus is watched (`setCaching`), forgotten on every reported change,
 * never a failure, never past a pin that changed, never an answer asked for before a change.
 */
import assert from "node:assert/strict";
import { OutboundPeer } from "../../src/config/schema.ts";
import { PeerDirectory } from "../../src/delegation/peer_directory.ts";
import type { WhoisSource } from "../../src/delegation/peer_resolve.ts";
import { pinIfAbsent } from "../../src/store/pins.ts";
import { identityFromWhois } from "../../src/tailscale/identity.ts";
import { statusFromWire } from "../../src/tailscale/status.ts";
import { buildStatus, buildWhoisResponse, type NodeSpec } from "../support/localapi_fixtures.ts";
import { tempStore } from "../store/_helpers.ts";

const self: NodeSpec = { name: "laptop", ips: ["100.64.0.2"], login: "a@example.com" };
const box: NodeSpec = { name: "buildbox", ips: ["100.64.0.3"], tags: ["tag:b"], stableId: "nBOX" };

/** A directory over `box` counting LocalAPI questions; `answer` gates whois (to hold it open). */
function directory(store: ReturnType<typeof tempStore>, clock: { now: number }) {
  const asked = { status: 0, whois: 0 };
  let gate: Promise<void> = Promise.resolve();
  let whoisOk = true;
  const status = statusFromWire(buildStatus({ self, peers: [box] }));
  if (!status.ok) throw new Error(status.reason);
  const whois: WhoisSource = async () => {
    asked.whois++;
    await gate;
    if (!whoisOk) return { ok: false, reason: "tailscaled is down" };
    const id = identityFromWhois(
      JSON.parse(
        JSON.stringify(buildWhoisResponse(box), (_k, v) => typeof v === "bigint" ? Number(v) : v),
      ),
    );
    return id.ok ? id : { ok: false, reason: id.reason };
  };
  const dir = new PeerDirectory({
    store,
    self: "laptop",
    peers: [OutboundPeer.parse({ name: "buildbox" })],
    status: () => (asked.status++, Promise.resolve({ ok: true, status: status.status })),
    whois,
    now: () => clock.now,
  });
  return {
    dir,
    asked,
    hold: () => {
      let release!: () => void;
      gate = new Promise((r) => release = r);
      return release;
    },
    failWhois: (fail: boolean) => whoisOk = !fail,
  };
}

Deno.test("resolution reuse: off until the bus is up; then reused within 2 s, asked again after", async () => {
  using store = tempStore();
  const clock = { now: 1_000_000 };
  const { dir, asked } = directory(store, clock);
  assert.ok((await dir.resolve("buildbox")).ok);
  assert.ok((await dir.resolve("buildbox")).ok);
  assert.deepEqual(asked, { status: 2, whois: 2 }, "nothing reused before the bus is watched");
  dir.setCaching(true);
  await dir.resolve("buildbox");
  const again = await dir.resolve("buildbox");
  assert.ok(again.ok && again.target.stableId === "nBOX");
  assert.deepEqual(asked, { status: 3, whois: 3 });
  clock.now += 2000;
  await dir.resolve("buildbox");
  assert.deepEqual(asked, { status: 4, whois: 4 }, "past its 2 s a resolution is asked again");
  dir.forget();
  await dir.resolve("buildbox");
  assert.deepEqual(asked, { status: 5, whois: 5 }, "a reported change forgets it");
  dir.setCaching(false);
  await dir.resolve("buildbox");
  assert.deepEqual(asked, { status: 6, whois: 6 }, "bus down: nothing reused");
});

Deno.test("resolution reuse: never a failure, never past a new pin, never across a change", async () => {
  using store = tempStore();
  const clock = { now: 1_000_000 };
  const { dir, asked, hold, failWhois } = directory(store, clock);
  dir.setCaching(true);
  failWhois(true);
  assert.equal((await dir.resolve("buildbox")).ok, false);
  failWhois(false);
  assert.ok((await dir.resolve("buildbox")).ok);
  assert.deepEqual(asked, { status: 2, whois: 2 }, "a failure is not kept");
  pinIfAbsent(store, { name: "buildbox", stable_id: "nBOX", dns_name: null, source: "user" }, {
    node: "laptop",
  });
  await dir.resolve("buildbox");
  assert.deepEqual(asked, { status: 3, whois: 3 }, "a pin set since: resolved again under it");
  await dir.resolve("buildbox");
  assert.deepEqual(asked, { status: 3, whois: 3 });
  // A change reported while a resolution is being asked: that answer is not kept.
  dir.forget();
  const release = hold();
  const inFlight = dir.resolve("buildbox");
  await new Promise((r) => setTimeout(r, 0));
  dir.forget();
  release();
  assert.ok((await inFlight).ok);
  await dir.resolve("buildbox");
  assert.deepEqual(asked, { status: 5, whois: 5 });
});
