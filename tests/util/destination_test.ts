/**
 * @module
 * Tests of egress destinations: exact `host:port` parsing, base-URL hosts, and which resolved
 * addresses a name must never lead to.
 */
import assert from "node:assert/strict";
import {
  destinationFromUrl,
  formatDestination,
  isLoopbackHost,
  localAddressReason,
  parseDestination,
} from "../../src/util/destination.ts";

Deno.test("parseDestination normalises names and literals", () => {
  assert.deepEqual(parseDestination("API.Anthropic.com:443"), {
    host: "api.anthropic.com",
    port: 443,
  });
  assert.deepEqual(parseDestination("127.0.0.1:8080"), { host: "127.0.0.1", port: 8080 });
  assert.deepEqual(parseDestination("[::1]:8080"), { host: "::1", port: 8080 });
  assert.deepEqual(parseDestination("localhost:3000"), { host: "localhost", port: 3000 });
  assert.equal(formatDestination(parseDestination("[0:0::1]:80")), "[::1]:80");
});

Deno.test("parseDestination refuses wildcards, missing ports and look-alikes", () => {
  const cases: [string, RegExp][] = [
    ["api.anthropic.com", /missing :port/],
    ["*.anthropic.com:443", /DNS name/],
    ["api.anthropic.com.:443", /trailing dot/],
    ["user@api.anthropic.com:443", /DNS name/],
    ["api.anthropic.com:0", /port must be 1 to 65535/],
    ["api.anthropic.com:70000", /port must be 1 to 65535/],
    ["1.2.3.4.5:80", /DNS name/],
    ["999.1.1.1:80", /DNS name/],
    ["[not-v6]:80", /IPv6/],
    ["::1:80", /host:port/],
    ["intranet:443", /DNS name/],
  ];
  for (const [text, why] of cases) {
    assert.throws(() => parseDestination(text), why, text);
  }
});

Deno.test("destinationFromUrl takes http(s) base URLs with default ports", () => {
  assert.deepEqual(destinationFromUrl("https://gateway.example.com/anthropic"), {
    host: "gateway.example.com",
    port: 443,
  });
  assert.deepEqual(destinationFromUrl("http://127.0.0.1:41234"), {
    host: "127.0.0.1",
    port: 41234,
  });
  assert.deepEqual(destinationFromUrl("http://proxy.example.com/v1"), {
    host: "proxy.example.com",
    port: 80,
  });
  assert.equal(destinationFromUrl("file:///etc/passwd"), null);
  assert.equal(destinationFromUrl("not a url"), null);
});

Deno.test("localAddressReason names loopback, link-local and tailnet addresses", () => {
  assert.equal(localAddressReason("127.0.0.1"), "a loopback address");
  assert.equal(localAddressReason("127.8.9.10"), "a loopback address");
  assert.equal(localAddressReason("::1"), "a loopback address");
  assert.equal(localAddressReason("::ffff:127.0.0.1"), "a loopback address");
  assert.equal(localAddressReason("::ffff:7f00:1"), "a loopback address");
  assert.equal(localAddressReason("169.254.169.254"), "a link-local address");
  assert.equal(localAddressReason("100.64.0.7"), "a tailnet (100.64.0.0/10) address");
  assert.equal(localAddressReason("100.127.255.1"), "a tailnet (100.64.0.0/10) address");
  assert.equal(localAddressReason("fd7a:115c:a1e0::1"), "a tailnet (fd7a:115c:a1e0::/48) address");
  assert.equal(localAddressReason("0.0.0.0"), "an unspecified address");
  assert.equal(localAddressReason("100.128.0.1"), null);
  assert.equal(localAddressReason("160.79.104.10"), null);
  assert.equal(isLoopbackHost("localhost"), true);
  assert.equal(isLoopbackHost("127.0.0.2"), true);
  assert.equal(isLoopbackHost("api.anthropic.com"), false);
});
