/**
 * @module
 * Generator of malformed requests for the control API (see `bad_input_test.ts` and
 * `_malformed.ts`): invalid bodies, bad paths and queries, missing or wrong tokens, browser
 * `Origin`s, forged `Host`s (DNS rebinding), wrong content types and methods, huge bodies, and
 * delegations my own outbound policy refuses.
 */
import { badBodies, type BadCase, int, JSON_TYPE, pick, rng } from "./_malformed.ts";

/** Cases against the control API (each carries the token unless it is an auth case). */
export function controlCases(
  seed: number,
  count: number,
  p: {
    token: string;
    port: number;
    valid: (i: number) => Record<string, unknown>;
    outsideCwd: string;
    maxBody: number;
  },
): BadCase[] {
  const r = rng(seed);
  const auth = { authorization: `Bearer ${p.token}` };
  const json = { ...auth, ...JSON_TYPE };
  const cases: BadCase[] = [];
  for (let i = 0; cases.length < count; i++) {
    const valid = p.valid(i);
    const k = i % 10;
    if (k <= 3) {
      const body = badBodies(r, valid);
      cases.push({ kind: "body", method: "POST", path: "/v1/delegate", headers: json, body });
    } else if (k === 4) {
      const path = pick(r, [
        "/v1/tasks?state=bogus",
        "/v1/tasks?limit=0",
        "/v1/tasks?limit=501",
        "/v1/tasks?limit=abc",
        "/v1/tasks?limit=1.5",
        "/v1/tasks/%00",
        "/v1/tasks/..%2f..%2fetc",
        "/v1/tasks/x".padEnd(4000, "x"),
        "/v1/tasks/t-does-not-exist-1",
        "/v1/tasks/t-does-not-exist-1/result",
        "/v1/tasks/t-does-not-exist-1/events?after=-5",
        "/v1/tasks/t-does-not-exist-1/wait?timeout_s=61",
        "/v1/tasks/t-does-not-exist-1/wait?timeout_s=-1",
        "/v1/tasks/t-does-not-exist-1/wait?after=x",
        "/v1/tasks/%ff/result",
        "/v1/nothing",
        "/v2/status",
      ]);
      cases.push({ kind: "path", method: "GET", path, headers: auth, raw: r() < 0.3 });
    } else if (k === 5) {
      const headers: Record<string, string> = pick<Record<string, string>>(r, [
        {},
        { authorization: "Bearer " },
        { authorization: `Bearer ${p.token}x` },
        { authorization: `bearer  ${p.token.slice(1)}` },
        { authorization: `Basic ${btoa("user:" + p.token)}` },
        { authorization: p.token },
        { ...auth, origin: "https://evil.example" },
        { ...auth, origin: "null" },
        { authorization: `Bearer ${p.token.toUpperCase()}` },
      ]);
      cases.push({
        kind: "auth",
        method: pick(r, ["GET", "POST"]),
        path: pick(r, ["/v1/status", "/v1/delegate", "/v1/tasks"]),
        headers: { ...JSON_TYPE, ...headers },
        body: undefined,
      });
    } else if (k === 6) {
      // Forged Host headers (DNS rebinding), raw so the header is sent as given.
      const host = pick(r, [
        "evil.example",
        "evil.example:" + p.port,
        "127.0.0.1.nip.io:" + p.port,
        "localhost.evil:" + p.port,
        "[::2]:" + p.port,
        "127.0.0.1:1",
      ]);
      cases.push({
        kind: "host",
        method: "GET",
        path: "/v1/status",
        headers: { ...auth, host },
        raw: true,
      });
    } else if (k === 7) {
      const type = pick(r, [
        "text/plain",
        "application/x-www-form-urlencoded",
        "",
        "application/json-patch",
        "text/json",
      ]);
      cases.push({
        kind: "content-type",
        method: "POST",
        path: "/v1/delegate",
        headers: type ? { ...auth, "content-type": type } : auth,
        body: JSON.stringify(valid),
      });
    } else if (k === 8) {
      const deny = pick(r, [
        { peer: "nobody" },
        { peer: "ghost-peer" },
        { cwd: "/etc" },
        { cwd: p.outsideCwd },
        { profile: "edit" },
        { profile: "full" },
      ]);
      cases.push({
        kind: "policy",
        method: "POST",
        path: "/v1/delegate",
        headers: json,
        body: JSON.stringify({ ...valid, ...deny }),
      });
    } else if (i % 60 === 9) {
      const size = p.maxBody + int(r, 1, 3 * p.maxBody);
      cases.push({
        kind: "huge",
        method: "POST",
        path: "/v1/delegate",
        headers: json,
        body: JSON.stringify({ ...valid, task: "x".repeat(size) }),
      });
    } else {
      const [method, path] = pick(r, [
        ["PUT", "/v1/delegate"],
        ["DELETE", "/v1/tasks"],
        ["GET", "/v1/delegate"],
        ["PATCH", "/v1/status"],
        ["POST", "/v1/status"],
      ]);
      cases.push({
        kind: "method",
        method,
        path,
        headers: json,
        body: method === "GET" ? undefined : "{}",
      });
    }
  }
  return cases;
}
