/**
 * Reliability: output floods.
 *
 * - A runner of a real worker daemon prints 2 × 200 MiB of stdout. The task succeeds, its
 *   stored output is capped (truncation flagged), and the daemon's RSS stays within a fixed
 *   bound of its idle size: past the cap the supervisor drains through one reused buffer and
 *   keeps only the last line, so memory does not grow with the amount of output.
 * - The last-line tracker that does this agrees with the line splitter on random byte streams
 *   (CRLF, empty lines, multi-byte characters split across reads, over-long lines), for every
 *   way of cutting them into reads.
 */
import assert from "node:assert/strict";
import { LastLineTracker, LineSplitter } from "../../src/runner/line_stream.ts";
import { createShWorker } from "../support/mesh_world.ts";
import { rng } from "./_malformed.ts";
import { sleep } from "./_helpers.ts";

const GROWTH_BOUND_MIB = 80;

async function rssMiB(pid: number): Promise<number> {
  const out = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)] }).output();
  return Number(new TextDecoder().decode(out.stdout).trim()) / 1024;
}

Deno.test({
  name: "reliability: 2 × 200 MiB of runner output → capped, stored, daemon RSS bounded",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const mesh = await createShWorker();
    try {
      const pid = mesh.worker!.child.pid;
      await sleep(1500);
      const idle = await rssMiB(pid);
      let peak = idle;
      for (const n of [1, 2]) {
        const id = `t-flood-${n}-0000`;
        const line = "x".repeat(1023);
        const res = await fetch(`${mesh.workerUrl}/v1/tasks`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            id,
            prompt: `yes ${line} | head -c ${200 * 1024 * 1024}; echo "LAST ${n} ünïcödé"`,
            cwd: mesh.plain,
            profile: "query",
            runner: "sh",
          }),
        });
        assert.equal(res.status, 202, await res.text());
        let state = "queued";
        for (let i = 0; i < 600 && ["queued", "running"].includes(state); i++) {
          peak = Math.max(peak, await rssMiB(pid));
          await sleep(100);
          const s = await fetch(`${mesh.workerUrl}/v1/tasks/${id}`);
          state = ((await s.json()) as { task: { state: string } }).task.state;
        }
        assert.equal(state, "succeeded");
        const result = await (await fetch(`${mesh.workerUrl}/v1/tasks/${id}/result`)).json() as {
          result: { evidence: { truncated: { stdout: boolean } } };
        };
        assert.equal(result.result.evidence.truncated.stdout, true, "the stored output is capped");
      }
      peak = Math.max(peak, await rssMiB(pid));
      console.log(`worker RSS idle ${idle.toFixed(0)} MiB, peak ${peak.toFixed(0)} MiB`);
      assert.ok(
        peak - idle < GROWTH_BOUND_MIB,
        `RSS grew ${(peak - idle).toFixed(0)} MiB over 400 MiB of output`,
      );
    } finally {
      await mesh.destroy();
    }
  },
});

/** The last non-empty line as the splitter sees it (the reference). */
function splitterLast(chunks: Uint8Array[], max: number): string | null {
  const s = new LineSplitter(max);
  const d = new TextDecoder();
  let last: string | null = null;
  const take = (lines: { text: string }[]) => {
    for (const l of lines) if (l.text.length > 0) last = l.text;
  };
  for (const c of chunks) take(s.push(d.decode(c, { stream: true })));
  take(s.push(d.decode()));
  take(s.flush());
  return last;
}

Deno.test("reliability: the last-line tracker agrees with the splitter on random streams", () => {
  const r = rng(11);
  const pieces = [
    "a",
    "bc",
    "\n",
    "\r\n",
    "\n\n",
    "ü",
    "€",
    "😀",
    "\r",
    " ",
    "LAST",
    "x".repeat(40),
  ];
  const enc = new TextEncoder();
  for (let round = 0; round < 20_000; round++) {
    const max = 1 + Math.floor(r() * 30);
    let text = "";
    const parts = Math.floor(r() * 30);
    for (let i = 0; i < parts; i++) text += pieces[Math.floor(r() * pieces.length)];
    const bytes = enc.encode(text);
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < bytes.length;) {
      const n = 1 + Math.floor(r() * 7);
      chunks.push(bytes.slice(at, at + n));
      at += n;
    }
    const t = new LastLineTracker(max);
    for (const c of chunks) t.push(c);
    assert.equal(
      t.finish(),
      splitterLast(chunks, max),
      `round ${round}: ${JSON.stringify(text)} (max ${max})`,
    );
  }
});
