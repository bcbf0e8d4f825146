import assert from "node:assert/strict";
import { idleWorkerTasks } from "../support/worker_tasks.ts";
import { Config } from "../../src/config/schema.ts";
import type { CallerIdentity } from "../../src/policy/types.ts";
import { listAudit } from "../../src/store/audit.ts";
import { createWorkerApp } from "../../src/worker/app.ts";
import { NodeHosts } from "../../src/worker/guards/node_hosts.ts";
import type { IdentityOutcome } from "../../src/worker/ports.ts";
import { laptop as laptopCaller } from "../policy/_helpers.ts";

const laptop = laptopCaller({ dnsName: "laptop.tail1.ts.net.", login: "alice@example.com" });
const phone: CallerIdentity = {
  ...laptop,
  node: "phone",
  dnsName: "phone.tail1.ts.net.",
  stableId: "nPHONE",
};

async function world(
  opts: {
    maxQueue?: number;
    streams?: number;
    streamsPerCaller?: number;
    heartbeatS?: number;
    closing?: AbortSignal;
  } = {},
) {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "cmesh-app-" }));
  await Deno.mkdir(`${root}/repo`);
  await Deno.symlink("/etc", `${root}/repo/escape`);
  const config = Config.parse({
    inbound: {
      enabled: true,
      max_concurrent: 1,
      max_queue: opts.maxQueue ?? 8,
      allow: [{ peers: ["laptop", "phone"], cwd: [`${root}/repo`], runners: ["fake"] }],
    },
  });
  // Jobs never finish on their own: tasks stay queued/running so limits can be observed.
  const { store, queue, tasks } = await idleWorkerTasks(config);
  const whoisCalls: string[] = [];
  const hosts = new NodeHosts(7433);
  hosts.set({
    addresses: ["100.64.0.1", "fd7a:115c:a1e0::1"],
    dnsName: "server.tail1.ts.net",
    name: "server",
  });
  const table = new Map<string, IdentityOutcome>([
    ["100.64.0.2", { ok: true, identity: laptop }],
    ["100.64.0.3", { ok: true, identity: phone }],
    ["100.64.0.9", { ok: false, code: "not_found", reason: "no match for IP:port" }],
    ["100.64.0.10", { ok: false, code: "unavailable", reason: "socket missing" }],
  ]);
  const app = createWorkerApp({
    tasks,
    identity: {
      whois(ip) {
        whoisCalls.push(ip);
        return Promise.resolve(
          table.get(ip) ?? { ok: false, code: "not_found", reason: "unknown" },
        );
      },
    },
    source: { allowLoopback: false },
    hosts,
    maxBodyBytes: 4096,
    maxStreams: opts.streams,
    maxStreamsPerCaller: opts.streamsPerCaller,
    heartbeatS: opts.heartbeatS,
    closing: opts.closing,
  });
  const call = async (ip: string, path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    // Deno.serve always passes the Host header; app.request does not.
    if (!headers.has("host")) headers.set("host", "100.64.0.1:7433");
    const res = await app.request(`http://100.64.0.1:7433${path}`, { ...init, headers }, {
      remoteAddr: { transport: "tcp", hostname: ip, port: 41000 },
    });
    return { status: res.status, headers: res.headers, body: await res.json() };
  };
  const submit = (ip: string, body: unknown) =>
    call(ip, "/v1/tasks", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const open = (ip: string, path: string, init: RequestInit = {}) =>
    app.request(`http://100.64.0.1:7433${path}`, {
      ...init,
      headers: { host: "100.64.0.1:7433", ...(init.headers as Record<string, string>) },
    }, {
      remoteAddr: { transport: "tcp", hostname: ip, port: 41000 },
    });
  return {
    root,
    store,
    open,
    queue,
    whoisCalls,
    call,
    submit,
    async close() {
      await queue.close();
      store.close();
      await Deno.remove(root, { recursive: true });
    },
  };
}

const task = (id: string, cwd: string, extra: Record<string, unknown> = {}) => ({
  id,
  prompt: "list the files",
  cwd,
  profile: "query",
  ...extra,
});

Deno.test("worker app: non-tailnet sources are refused before any whois", async () => {
  const w = await world();
  try {
    for (
      const ip of ["10.0.0.2", "192.168.1.5", "127.0.0.1", "100.128.0.1", "100.100.100.100", "::1"]
    ) {
      const r = await w.call(ip, "/v1/hello");
      assert.equal(r.status, 403, ip);
      assert.equal(r.body.error.code, "not_tailnet");
      assert.equal(r.body.error.rule, "source.not_tailnet");
    }
    assert.deepEqual(w.whoisCalls, []);
    const audit = listAudit(w.store, { limit: 100 });
    assert.ok(
      audit.length >= 6 &&
        audit.every((a) => a.rule === "source.not_tailnet" && a.decision === "deny"),
    );
  } finally {
    await w.close();
  }
});

Deno.test("worker app: whois decides identity; unknown → 403, unavailable → 503 (fail closed)", async () => {
  const w = await world();
  try {
    const unknown = await w.call("100.64.0.9", "/v1/hello");
    assert.equal(unknown.status, 403);
    assert.equal(unknown.body.error.code, "unknown_peer");
    const down = await w.call("100.64.0.10", "/v1/hello");
    assert.equal(down.status, 503);
    assert.equal(down.body.error.code, "identity_unavailable");
    assert.match(down.body.error.message, /fail closed/);
    const mapped = await w.call("::ffff:100.64.0.2", "/v1/hello");
    assert.equal(mapped.status, 200);
    assert.equal(w.whoisCalls.at(-1), "100.64.0.2");
  } finally {
    await w.close();
  }
});

Deno.test("worker app: identity headers are ignored", async () => {
  const w = await world();
  try {
    const forged = {
      "Tailscale-User-Login": "laptop@example.com",
      "X-Forwarded-For": "100.64.0.2",
      "Tailscale-Headers-Info": "x",
    };
    assert.equal((await w.call("100.64.0.9", "/v1/hello", { headers: forged })).status, 403);
    const me = await w.call("100.64.0.3", "/v1/hello", { headers: forged });
    assert.equal(me.body.you.node, "phone");
  } finally {
    await w.close();
  }
});

Deno.test("worker app: hello tells the caller what it may do here", async () => {
  const w = await world();
  try {
    const r = await w.call("100.64.0.2", "/v1/hello");
    assert.equal(r.status, 200);
    assert.equal(r.body.node, "server");
    assert.equal(r.body.protocol, 1);
    assert.deepEqual(r.body.you, { node: "laptop", login: "alice@example.com", tags: [] });
    assert.deepEqual(r.body.allowed.rules[0].profiles, ["query"]);
    assert.deepEqual(r.body.allowed.rules[0].cwd, [`${w.root}/repo`]);
  } finally {
    await w.close();
  }
});

Deno.test("worker app: submit is idempotent, conflicts are 409, callers see only their own tasks", async () => {
  const w = await world();
  try {
    const first = await w.submit("100.64.0.2", task("t_00000001", `${w.root}/repo`));
    assert.equal(first.status, 202, JSON.stringify(first.body));
    const again = await w.submit("100.64.0.2", task("t_00000001", `${w.root}/repo`));
    assert.equal(again.status, 200);
    assert.equal(again.body.task.id, "t_00000001");
    const changed = await w.submit(
      "100.64.0.2",
      task("t_00000001", `${w.root}/repo`, { prompt: "other" }),
    );
    assert.equal(changed.status, 409);
    const stolen = await w.submit("100.64.0.3", task("t_00000001", `${w.root}/repo`));
    assert.equal(stolen.status, 409);
    assert.equal((await w.call("100.64.0.3", "/v1/tasks/t_00000001")).status, 404);
    assert.equal((await w.call("100.64.0.2", "/v1/tasks/t_00000001")).status, 200);
    const pending = await w.call("100.64.0.2", "/v1/tasks/t_00000001/result");
    assert.equal(pending.status, 409);
  } finally {
    await w.close();
  }
});

Deno.test("worker app: policy denials name the rule and are audited", async () => {
  const w = await world();
  try {
    const escape = await w.submit("100.64.0.2", task("t_00000002", `${w.root}/repo/escape`));
    assert.equal(escape.status, 403);
    assert.equal(escape.body.error.rule, "inbound.allow[0].cwd");
    const dotdot = await w.submit("100.64.0.2", task("t_00000003", `${w.root}/repo/../`));
    assert.equal(dotdot.status, 403);
    const profile = await w.submit(
      "100.64.0.2",
      task("t_00000004", `${w.root}/repo`, { profile: "edit" }),
    );
    assert.equal(profile.status, 403);
    assert.match(profile.body.error.rule, /^profile\.disabled|inbound\.allow\[0\]\.profile$/);
    const denials = listAudit(w.store, { limit: 50 }).filter((a) => a.kind === "task.decision");
    assert.equal(denials.length, 3);
    assert.ok(denials.every((a) => a.decision === "deny" && a.rule && a.reason));
    assert.equal((denials[0].actor as { node: string }).node, "laptop");
  } finally {
    await w.close();
  }
});

Deno.test("worker app: a full queue answers 429 with Retry-After", async () => {
  const w = await world({ maxQueue: 1 });
  try {
    assert.equal((await w.submit("100.64.0.2", task("t_00000010", `${w.root}/repo`))).status, 202); // runs
    assert.equal((await w.submit("100.64.0.2", task("t_00000011", `${w.root}/repo`))).status, 202); // queued
    const full = await w.submit("100.64.0.2", task("t_00000012", `${w.root}/repo`));
    assert.equal(full.status, 429);
    assert.equal(full.body.error.code, "queue_full");
    assert.ok(Number(full.headers.get("retry-after")) > 0);
    const cancel = await w.call("100.64.0.2", "/v1/tasks/t_00000011/cancel", { method: "POST" });
    assert.equal(cancel.status, 202);
    assert.equal(cancel.body.task.state, "cancelled");
    const result = await w.call("100.64.0.2", "/v1/tasks/t_00000011/result");
    assert.equal(result.body.result.state, "cancelled");
  } finally {
    await w.close();
  }
});

Deno.test("worker app: malformed requests get JSON 4xx and change nothing", async () => {
  const w = await world();
  try {
    const post = (body: string, type = "application/json") =>
      w.call("100.64.0.2", "/v1/tasks", {
        method: "POST",
        headers: { "content-type": type },
        body,
      });
    const cases: [string, string, number][] = [
      ["{", "application/json", 400],
      ["{}", "text/plain", 415],
      [JSON.stringify(task("t_00000020", "/x", { extra: true })), "application/json", 400],
      [JSON.stringify(task("bad id!", "/x")), "application/json", 400],
      [JSON.stringify({ ...task("t_00000021", "/x"), prompt: 5 }), "application/json", 400],
      ["x".repeat(5000), "application/json", 413],
      ["[".repeat(3000), "application/json", 400],
    ];
    for (const [body, type, status] of cases) {
      const r = await post(body, type);
      assert.equal(r.status, status, body.slice(0, 40));
      assert.ok(r.body.error.code && r.body.error.message);
    }
    const bad = new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
    const res = await w.call("100.64.0.2", "/v1/tasks", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: bad,
    });
    assert.equal(res.status, 400);
    assert.match(res.body.error.message, /UTF-8/);
    assert.equal((await w.call("100.64.0.2", "/v1/tasks/..%2Fx")).status, 400);
    assert.equal((await w.call("100.64.0.2", "/v1/tasks", { method: "GET" })).status, 404);
    assert.equal(listAudit(w.store, { limit: 10 }).length, 0);
  } finally {
    await w.close();
  }
});

Deno.test("worker app: each caller gets a share of the event streams; others still get one", async () => {
  const w = await world({ streams: 4, streamsPerCaller: 2 });
  const held: Response[] = [];
  try {
    for (const [ip, id] of [["100.64.0.2", "t-laptop-1"], ["100.64.0.3", "t-phone-01"]]) {
      assert.equal((await w.submit(ip, task(id, `${w.root}/repo`))).status, 202);
    }
    for (let i = 0; i < 2; i++) {
      const r = await w.open("100.64.0.2", "/v1/tasks/t-laptop-1/events");
      assert.equal(r.status, 200);
      held.push(r);
    }
    const over = await w.open("100.64.0.2", "/v1/tasks/t-laptop-1/events");
    assert.equal(over.status, 429);
    const body = await over.json();
    assert.equal(body.error.code, "queue_full");
    assert.equal(body.error.rule, "limits.streams_per_caller");
    assert.match(body.error.message, /you already have 2 event streams open here/);
    const other = await w.open("100.64.0.3", "/v1/tasks/t-phone-01/events");
    assert.equal(other.status, 200);
    held.push(other);
  } finally {
    for (const r of held) await r.body?.cancel();
    await w.close();
  }
});

Deno.test("front door: browsers and foreign Hosts are refused before whois, audited, nothing stored", async (t) => {
  const w = await world();
  try {
    const post = (id: string, headers: Record<string, string>) =>
      w.call("100.64.0.2", "/v1/tasks", {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(task(id, `${w.root}/repo`)),
      });
    const refused: [string, Record<string, string>, string][] = [
      ["Origin", { origin: "http://evil.example" }, "front.origin"],
      ["Origin: null", { origin: "null" }, "front.origin"],
      ["Sec-Fetch-Site: cross-site", { "sec-fetch-site": "cross-site" }, "front.origin"],
      ["Sec-Fetch-Site: same-site", { "sec-fetch-site": "same-site" }, "front.origin"],
      ["foreign Host", { host: "evil.example:7433" }, "front.host"],
      ["foreign Host without port", { host: "evil.example" }, "front.host"],
      ["own name, other port", { host: "100.64.0.1:80" }, "front.host"],
      ["another tailnet IP", { host: "100.64.0.3:7433" }, "front.host"],
      ["IPv6 without brackets", { host: "fd7a:115c:a1e0::1" }, "front.host"],
      [
        "a name ending in the node's name",
        { host: "server.tail1.ts.net.evil.example:7433" },
        "front.host",
      ],
      ["empty Host", { host: "" }, "front.host"],
    ];
    for (const [name, headers, rule] of refused) {
      await t.step(name, async () => {
        const before = w.whoisCalls.length;
        const id = `t-front-${crypto.randomUUID().slice(0, 8)}`;
        const r = await post(id, headers);
        assert.equal(r.status, 403, JSON.stringify(r.body));
        assert.equal(r.body.error.code, "forbidden");
        assert.equal(r.body.error.rule, rule);
        assert.equal(w.whoisCalls.length, before, "refused before whois");
        const status = await w.call("100.64.0.2", `/v1/tasks/${id}`);
        assert.equal(status.status, 404, "nothing was stored");
        const rec = listAudit(w.store, { limit: 1000 }).find((a) =>
          a.kind === "request.denied" && a.rule === rule && a.reason?.includes(
            rule === "front.host" ? JSON.stringify(headers.host) : "not accepted",
          )
        );
        assert.ok(rec, `audited with ${rule}`);
        assert.equal(rec.actor?.source_ip, "100.64.0.2");
      });
    }
    await t.step(
      "legit Hosts still work: IP, IP:port, [v6], MagicDNS name (dot), short name",
      async () => {
        for (
          const host of [
            "100.64.0.1",
            "100.64.0.1:7433",
            "[fd7a:115c:a1e0::1]:7433",
            "[FD7A:115C:A1E0:0:0:0:0:1]",
            "server.tail1.ts.net",
            "server.tail1.ts.net.:7433",
            "SERVER.tail1.ts.net:7433",
            "server:7433",
          ]
        ) {
          const r = await w.call("100.64.0.2", "/v1/hello", { headers: { host } });
          assert.equal(r.status, 200, `${host}: ${JSON.stringify(r.body)}`);
        }
        const id = "t-front-legit";
        const ok = await post(id, { "sec-fetch-site": "same-origin" });
        assert.equal(ok.status, 202, JSON.stringify(ok.body));
      },
    );
    await t.step("reading a result back with an Origin is refused too", async () => {
      const r = await w.call("100.64.0.2", "/v1/tasks/t-front-legit/result", {
        headers: { origin: "http://evil.example" },
      });
      assert.equal(r.status, 403);
      assert.equal(r.body.error.rule, "front.origin");
      const h = await w.call("100.64.0.2", "/v1/tasks/t-front-legit", {
        headers: { host: "evil.example:7433" },
      });
      assert.equal(h.status, 403);
      assert.equal(h.body.error.rule, "front.host");
    });
  } finally {
    await w.close();
  }
});

Deno.test("worker app: POST /v1/events streams only the caller's own tasks", async () => {
  const { readSse } = await import("../../src/delegation/sse.ts");
  const w = await world({ maxQueue: 100 });
  try {
    assert.equal((await w.submit("100.64.0.2", task("t-laptop-1", `${w.root}/repo`))).status, 202);
    assert.equal((await w.submit("100.64.0.3", task("t-phone-01", `${w.root}/repo`))).status, 202);
    const { appendEvent } = await import("../../src/store/task_events.ts");
    for (const id of ["t-laptop-1", "t-phone-01"]) {
      appendEvent(w.store, "inbound", id, { kind: "message", text: `progress of ${id}` });
    }
    const res = await w.open("100.64.0.2", "/v1/events", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ after: { "t-phone-01": 0 } }),
    });
    assert.equal(res.status, 200);
    const seen: { event: string; data: string }[] = [];
    for await (const m of readSse(res.body!, 1 << 20)) {
      seen.push(m);
      if (m.event === "ready") break;
    }
    const ids = seen.map((m) => JSON.parse(m.data).task_id);
    // The phone's task, though listed, is only "unknown" to the laptop; the laptop's own
    // open task is followed without being listed.
    assert.deepEqual(seen.map((m) => m.event).sort(), ["ready", "task", "unknown"]);
    assert.deepEqual(ids.filter(Boolean).sort(), ["t-laptop-1", "t-phone-01"]);
    assert.equal(seen.find((m) => m.event === "unknown")!.data, '{"task_id":"t-phone-01"}');
    assert.ok(!seen.some((m) => m.event === "task" && m.data.includes("t-phone-01")));
  } finally {
    await w.close();
  }
});

Deno.test("worker app: the event streams end when the daemon stops, though tasks are open", async () => {
  const closing = new AbortController();
  const w = await world({ heartbeatS: 0.05, closing: closing.signal });
  const openStream = async () => {
    const res = await w.open("100.64.0.2", "/v1/events", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ after: {} }),
    });
    assert.equal(res.status, 200);
    return res.body!.getReader();
  };
  // Reads until `until` is in the text, or (with none) to the end, failing if the stream keeps
  // going (keep-alives) after `closing` aborted.
  const readTo = async (reader: ReadableStreamDefaultReader<Uint8Array>, until?: string) => {
    let text = "";
    let keepAlives = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return text;
      const chunk = new TextDecoder().decode(value);
      text += chunk;
      if (until !== undefined && text.includes(until)) return text;
      if (closing.signal.aborted) keepAlives += chunk.split(": keep-alive").length - 1;
      assert.ok(keepAlives < 3, "the stream went on after the daemon began stopping");
    }
  };
  try {
    assert.equal((await w.submit("100.64.0.2", task("t-open-0001", `${w.root}/repo`))).status, 202);
    const reader = await openStream();
    await readTo(reader, "event: ready"); // following the open task
    assert.equal(w.queue.counts().queued + w.queue.counts().running, 1);
    closing.abort();
    await readTo(reader);
    // Once stopping, a new stream ends at once (and its slot is given back).
    await readTo(await openStream());
  } finally {
    await w.close();
  }
});
