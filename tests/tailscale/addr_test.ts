import assert from "node:assert/strict";
import {
  classifyIp,
  formatWhoisAddr,
  isLoopbackIp,
  isTailnetIp,
  normalizeIp,
  parseHostPort,
} from "../../src/tailscale/addr.ts";

Deno.test("normalizeIp: canonical forms", () => {
  const table: Array<[string, string | null]> = [
    ["100.64.0.2", "100.64.0.2"],
    ["0.0.0.0", "0.0.0.0"],
    ["255.255.255.255", "255.255.255.255"],
    // brackets and zones
    ["[fd7a:115c:a1e0::1]", "fd7a:115c:a1e0::1"],
    ["fe80::1%eth0", "fe80::1"],
    ["[fe80::1%25eth0]", "fe80::1"],
    // mapped IPv4, dotted and hex, any case
    ["::ffff:100.64.0.2", "100.64.0.2"],
    ["::FFFF:100.64.0.2", "100.64.0.2"],
    ["[::ffff:100.64.0.2]", "100.64.0.2"],
    ["::ffff:6440:2", "100.64.0.2"],
    ["0:0:0:0:0:ffff:6440:0002", "100.64.0.2"],
    ["::ffff:c000:0203", "192.0.2.3"],
    // IPv4-compatible (deprecated) is not un-mapped, like Go's Unmap
    ["::100.64.0.2", "::6440:2"],
    // RFC 5952
    ["FD7A:115C:A1E0:0000:0000:0000:0000:0001", "fd7a:115c:a1e0::1"],
    ["fd7a:115c:a1e0:ab12:4843:cd96:6265:1525", "fd7a:115c:a1e0:ab12:4843:cd96:6265:1525"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // first of equal runs
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // single zero group not compressed
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
    ["::", "::"],
    ["::1", "::1"],
    ["fd7a:115c:a1e0::", "fd7a:115c:a1e0::"],
    // garbage
    ["", null],
    [" 100.64.0.2", null],
    ["100.64.0.2 ", null],
    ["100.64.0", null],
    ["100.64.0.256", null],
    ["100.064.0.2", null], // leading zero: octal to inet_aton, error to Go
    ["1.2.3.4.5", null],
    ["100.64.0.2:80", null],
    ["[100.64.0.2]", null],
    ["100.64.0.2%eth0", null],
    ["fe80::1%", null],
    [":::1", null],
    ["1::2::3", null],
    ["1:2:3:4:5:6:7:8:9", null],
    ["1:2:3:4:5:6:7:8::", null],
    ["12345::1", null],
    ["g::1", null],
    ["::ffff:1.2.3", null],
    ["[::1", null],
    ["localhost", null],
    ["unix:/run/x.sock", null],
  ];
  for (const [input, want] of table) {
    assert.equal(normalizeIp(input), want, `normalizeIp(${JSON.stringify(input)})`);
  }
});

Deno.test("isTailnetIp: range edges", () => {
  const table: Array<[string, boolean]> = [
    ["100.63.255.255", false],
    ["100.64.0.0", true],
    ["100.64.0.1", true],
    ["100.101.21.37", true],
    ["100.127.255.255", true],
    ["100.128.0.0", false],
    ["10.0.0.1", false],
    ["192.0.2.3", false],
    ["127.0.0.1", false],
    // ChromeOS VM range 100.115.92.0/23 is excluded, as in tsaddr.IsTailscaleIP
    ["100.115.91.255", true],
    ["100.115.92.0", false],
    ["100.115.93.255", false],
    ["100.115.94.0", true],
    // service addresses are never a connection source
    ["100.100.100.100", false],
    ["100.100.100.99", true],
    ["fd7a:115c:a1e0::53", false],
    ["fd7a:115c:a1e0::54", true],
    // IPv6 /48
    ["fd7a:115c:a1e0::", true],
    ["fd7a:115c:a1e0::1", true],
    ["fd7a:115c:a1e0:ffff:ffff:ffff:ffff:ffff", true],
    ["fd7a:115c:a1df:ffff:ffff:ffff:ffff:ffff", false],
    ["fd7a:115c:a1e1::", false],
    ["fd7a:115c:a1e0:b1a::a:b", true], // 4via6: prefilter passes, whois decides
    ["fd7a:115c:a1e0:ab12:4843:cd96:6265:1525", true],
    ["fe80::1", false],
    ["::1", false],
    // mapped forms of both ends
    ["::ffff:100.64.0.0", true],
    ["::ffff:6440:0", true],
    ["::ffff:100.63.255.255", false],
    ["::ffff:643f:ffff", false],
    ["::ffff:100.127.255.255", true],
    ["::ffff:100.128.0.0", false],
    ["[::ffff:100.64.0.2]", true],
    ["::ffff:100.100.100.100", false],
    // garbage
    ["", false],
    ["100.64.0.2:80", false],
    ["not an ip", false],
  ];
  for (const [input, want] of table) {
    assert.equal(isTailnetIp(input), want, `isTailnetIp(${JSON.stringify(input)})`);
  }
});

Deno.test("classifyIp names every class", () => {
  assert.equal(classifyIp("100.64.0.2"), "tailnet");
  assert.equal(classifyIp("100.100.100.100"), "tailscale-service");
  assert.equal(classifyIp("fd7a:115c:a1e0::53"), "tailscale-service");
  assert.equal(classifyIp("100.115.92.1"), "chromeos-vm");
  assert.equal(classifyIp("127.0.0.1"), "loopback");
  assert.equal(classifyIp("127.255.0.9"), "loopback");
  assert.equal(classifyIp("::ffff:127.0.0.1"), "loopback");
  assert.equal(classifyIp("::1"), "loopback");
  assert.equal(classifyIp("192.0.2.3"), "other");
  assert.equal(classifyIp("2001:db8::1"), "other");
  assert.equal(classifyIp("x"), "invalid");
  assert.equal(isLoopbackIp("[::1]"), true);
  assert.equal(isLoopbackIp("100.64.0.1"), false);
});

Deno.test("parseHostPort", () => {
  const table: Array<[string, { ip: string; port: number } | null]> = [
    ["100.64.0.2:41641", { ip: "100.64.0.2", port: 41641 }],
    ["127.0.0.1:0", { ip: "127.0.0.1", port: 0 }],
    ["100.64.0.2:65535", { ip: "100.64.0.2", port: 65535 }],
    ["[fd7a:115c:a1e0::2]:443", { ip: "fd7a:115c:a1e0::2", port: 443 }],
    ["[::ffff:100.64.0.2]:80", { ip: "100.64.0.2", port: 80 }],
    ["[FE80::1%eth0]:22", { ip: "fe80::1", port: 22 }],
    ["100.64.0.2:65536", null],
    ["100.64.0.2:", null],
    ["100.64.0.2:080", null],
    ["100.64.0.2:+80", null],
    ["100.64.0.2", null],
    ["fd7a::1:80", null],
    ["[100.64.0.2]:80", null],
    ["[fd7a::1]80", null],
    ["[fd7a::1]", null],
    [":80", null],
    ["host.example:80", null],
  ];
  for (const [input, want] of table) {
    assert.deepEqual(parseHostPort(input), want, `parseHostPort(${JSON.stringify(input)})`);
  }
});

Deno.test("formatWhoisAddr", () => {
  assert.equal(formatWhoisAddr("100.64.0.2", 1234), "100.64.0.2:1234");
  assert.equal(formatWhoisAddr("::ffff:100.64.0.2", 1234), "100.64.0.2:1234");
  assert.equal(formatWhoisAddr("FD7A:115C:A1E0::2", 0), "[fd7a:115c:a1e0::2]:0");
  assert.equal(formatWhoisAddr("[fd7a:115c:a1e0::2]", 80), "[fd7a:115c:a1e0::2]:80");
  assert.throws(() => formatWhoisAddr("nope", 1), TypeError);
  assert.throws(() => formatWhoisAddr("100.64.0.2", 65536), TypeError);
  assert.throws(() => formatWhoisAddr("100.64.0.2", -1), TypeError);
  assert.throws(() => formatWhoisAddr("100.64.0.2", 1.5), TypeError);
  // round trip
  for (const s of ["100.64.0.2:1", "[fd7a:115c:a1e0::2]:443"]) {
    const hp = parseHostPort(s)!;
    assert.equal(formatWhoisAddr(hp.ip, hp.port), s);
  }
});
