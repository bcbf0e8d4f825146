/**
 * Expected failures, end to end through real processes, each with the exact text an agent
 * sees: my own outbound policy, the peer's inbound policy (labelled as the peer's), a peer
 * that is not there, an unknown task, bad arguments. All are `isError` tool results, never
 * protocol errors.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { connectMcp, startWorld, textOf } from "./_harness.ts";

const processTest = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "cmesh mcp turns denials and failures into actionable isError results",
  processTest,
  async (t) => {
    const world = await startWorld();
    const mcp = await connectMcp(world.home);
    const call = (name: string, args: Record<string, unknown>) =>
      mcp.client.callTool({ name, arguments: args });
    const delegate = (args: Record<string, unknown>) =>
      call("cmesh_delegate", { peer: "server", runner: "demo", task: "count lines", ...args });
    try {
      await t.step(
        "outbound policy: cwd outside outbound.peers[].cwd names rule outbound.cwd",
        async () => {
          const res = await delegate({ cwd: "/etc" });
          assert.equal(res.isError, true);
          assert.equal(res.structuredContent, undefined);
          const text = textOf(res);
          assert.match(
            text,
            /^Denied by your own outbound policy \(rule outbound\.cwd\), before anything was sent: cwd \/etc is not allowed for peer server \(outbound\.peers\[0\]\); allowed cwd patterns: \/tmp\/\*\*/,
          );
          assert.match(
            text,
            /Call cmesh_peers to see which profiles and cwd patterns you may send/,
          );
          assert.match(text, /\[error denied, rule outbound\.cwd\]$/);
        },
      );

      await t.step("outbound policy: unknown peer lists the configured ones", async () => {
        const res = await call("cmesh_delegate", { peer: "nope", task: "x", cwd: world.repo });
        assert.equal(res.isError, true);
        assert.match(textOf(res), /rule outbound\.peer_unknown/);
        assert.match(textOf(res), /configured peers: server, ghost/);
      });

      await t.step(
        "inbound policy: cwd outside the worker's roots is the peer's reason",
        async () => {
          const res = await delegate({ cwd: world.outsideRoot });
          assert.equal(res.isError, true);
          const text = textOf(res);
          assert.match(
            text,
            /^Refused by server: this is server's own policy decision, quoted as it gave it \(peer rule inbound\.allow\[0\]\.cwd\):/,
          );
          assert.ok(
            text.includes(
              `cwd ${world.outsideRoot} is outside the allowed roots for laptop: ${world.repo}`,
            ),
            text,
          );
          assert.match(text, /\(this is server's own reason\)/);
          assert.match(text, /Call cmesh_peers to see what server allows you/);
          assert.match(text, /\[error peer_denied, rule inbound\.allow\[0\]\.cwd\]$/);
        },
      );

      await t.step(
        "inbound policy: a profile the worker does not allow is the peer's reason",
        async () => {
          const res = await delegate({ cwd: world.repo, profile: "edit" });
          assert.equal(res.isError, true);
          const text = textOf(res);
          assert.match(text, /^Refused by server: this is server's own policy decision/);
          assert.match(text, /profile edit/);
          assert.match(text, /\[error peer_denied, rule inbound\.allow\[0\]\.profile/);
        },
      );

      await t.step("the refused tasks are on record as denied", async () => {
        const res = await call("cmesh_tasks", { state: "denied" });
        assert.equal((res.structuredContent as { count: number }).count, 2);
      });

      await t.step("peer offline: nothing listening at its port", async () => {
        const res = await call("cmesh_delegate", { peer: "ghost", task: "x", cwd: world.repo });
        assert.equal(res.isError, true);
        const text = textOf(res);
        assert.match(text, /^Could not reach cmesh on ghost; the task did not start: /);
        // The delegation layer words it as "refused the connection ... start it with 'cmesh
        // daemon'" or "cannot reach ghost ... Is it online on your tailnet?", depending on how
        // it classifies the socket error; the agent always learns the peer, address and next step.
        assert.ok(text.includes(`ghost (127.0.0.1:${world.closedPort})`), text);
        assert.match(text, /start it with 'cmesh daemon'|Is it online on your tailnet\?/);
        assert.match(text, /Call cmesh_peers to see which peers are online\./);
        assert.match(text, /\[error peer_(unreachable|not_cmesh)\]$/);
        const peers = await call("cmesh_peers", {});
        const ghost = (peers.structuredContent as { peers: { name: string; online: boolean }[] })
          .peers.find((p) => p.name === "ghost");
        // The host answers (connection refused), so it is online with cmesh not answering.
        assert.equal(ghost?.online, true);
        assert.match(textOf(peers), /^ghost \(127\.0\.0\.1:\d+\): online, cmesh NOT answering$/m);
      });

      await t.step("unknown task id", async () => {
        for (const tool of ["cmesh_status", "cmesh_result", "cmesh_wait", "cmesh_cancel"]) {
          const res = await call(tool, { task_id: "t0000000000000000", wait_seconds: 1 });
          assert.equal(res.isError, true, tool);
          assert.match(textOf(res), /no outbound task t0000000000000000/, tool);
          assert.match(textOf(res), /Call cmesh_tasks to list recent task ids\./, tool);
          assert.match(textOf(res), /\[error not_found\]$/, tool);
        }
      });

      await t.step("bad arguments are tool errors, not protocol errors", async () => {
        const bad = await call("cmesh_status", { task_id: "../../etc" });
        assert.equal(bad.isError, true);
        assert.match(textOf(bad), /Input validation error/);
        const relative = await delegate({ cwd: "repo" });
        assert.equal(relative.isError, true);
        assert.match(textOf(relative), /must be an absolute path/);
        const tooLong = await call("cmesh_wait", {
          task_id: "t0000000000000000",
          wait_seconds: 601,
        });
        assert.equal(tooLong.isError, true);
        assert.match(textOf(tooLong), /wait_seconds/);
      });
    } finally {
      await mcp.close();
      await world.stop();
    }
  },
);

Deno.test(
  "cmesh mcp before the daemon ever started: tells how to start it",
  processTest,
  async () => {
    const home = await Deno.makeTempDir({ prefix: "cmesh-mcp-nodaemon-" });
    try {
      await Deno.writeTextFile(join(home, "config.toml"), "[daemon]\ncontrol_port = 1\n");
      const mcp = await connectMcp(home);
      try {
        const res = await mcp.client.callTool({ name: "cmesh_peers", arguments: {} });
        assert.equal(res.isError, true);
        const text = textOf(res);
        assert.match(text, /the daemon has never started with this state dir/);
        assert.match(text, /the cmesh daemon is not running \(nothing answers on 127\.0\.0\.1:1\)/);
        assert.match(
          text,
          /Start it with 'cmesh daemon' \(or 'cmesh service install' to keep it running\)/,
        );
        assert.match(text, /The MCP server itself is fine/);
        assert.match(text, /\[error no_token\]$/);
      } finally {
        await mcp.close();
      }
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
);

Deno.test(
  "cmesh mcp with a broken config: says which file and how to check it",
  processTest,
  async () => {
    const home = await Deno.makeTempDir({ prefix: "cmesh-mcp-badcfg-" });
    try {
      await Deno.writeTextFile(join(home, "config.toml"), '[daemon]\ncontrol_port = "x"\n');
      const mcp = await connectMcp(home);
      try {
        const res = await mcp.client.callTool({ name: "cmesh_tasks", arguments: {} });
        assert.equal(res.isError, true);
        assert.ok(textOf(res).includes(`cannot use the cmesh config ${join(home, "config.toml")}`));
        assert.match(textOf(res), /control_port/);
        assert.match(textOf(res), /'cmesh config validate'/);
      } finally {
        await mcp.close();
      }
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
);
