/**
 * Local-only mode's caller check: the owner of a loopback connection comes from the kernel's
 * TCP table; only the daemon's own uid is a caller (node "local"), anyone else and anything the
 * table does not show is refused with the reason.
 */
import assert from "node:assert/strict";
import {
  catProcNetTcp,
  LOCAL_NODE,
  localUserIdentityLookup,
  procTcpOwner,
} from "../../src/worker/local_user_identity.ts";

const HEADER =
  "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
// 127.0.0.1:40000 → 127.0.0.1:7433 owned by uid 1000; 127.0.0.1:40001 by uid 1001.
const TABLE = [
  HEADER,
  "   0: 0100007F:1D09 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 11 1",
  "   1: 0100007F:9C40 0100007F:1D09 01 00000000:00000000 00:00000000 00000000  1000        0 12 1",
  "   2: 0100007F:9C41 0100007F:1D09 01 00000000:00000000 00:00000000 00000000  1001        0 13 1",
].join("\n");

Deno.test("procTcpOwner: the uid of the socket with that local address", () => {
  assert.equal(procTcpOwner(TABLE, "127.0.0.1", 40000), 1000);
  assert.equal(procTcpOwner(TABLE, "127.0.0.1", 40001), 1001);
  assert.equal(procTcpOwner(TABLE, "127.0.0.1", 40002), null);
  assert.equal(procTcpOwner(TABLE, "127.0.0.2", 40000), null);
  assert.equal(procTcpOwner(TABLE, "not-an-ip", 40000), null);
});

Deno.test("local-only lookup: own uid is node 'local'; other uids, unknown sockets, non-loopback refused", async () => {
  const lookup = localUserIdentityLookup(1000, "ann", () => Promise.resolve(TABLE));
  const mine = await lookup.whois("127.0.0.1", 40000);
  assert.ok(mine.ok);
  assert.equal(mine.identity.node, LOCAL_NODE);
  assert.equal(mine.identity.login, "ann@localhost");
  const other = await lookup.whois("127.0.0.1", 40001);
  assert.ok(!other.ok);
  assert.match(other.reason, /belongs to uid 1001, not to this daemon's user \(uid 1000\)/);
  const unknown = await lookup.whois("127.0.0.1", 40002);
  assert.ok(!unknown.ok && /no socket/.test(unknown.reason));
  const remote = await lookup.whois("100.64.0.2", 40000);
  assert.ok(!remote.ok && /not loopback/.test(remote.reason));
  const broken = localUserIdentityLookup(1000, "ann", () => Promise.reject(new Error("nope")));
  const b = await broken.whois("127.0.0.1", 40000);
  assert.ok(!b.ok && b.code === "unavailable");
});

Deno.test({
  name: "catProcNetTcp reads the real table, which lists a connection of this process",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    const accepted = await listener.accept();
    try {
      const table = await catProcNetTcp("/bin/cat")();
      const local = conn.localAddr as Deno.NetAddr;
      assert.equal(procTcpOwner(table, local.hostname, local.port), Deno.uid());
    } finally {
      conn.close();
      accepted.close();
      listener.close();
    }
  },
});
