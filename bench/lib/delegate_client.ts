/**
 * @module
 * Program: delegates tasks through a requester daemon's control API, as an agent's MCP server
 * does (`POST /v1/delegate`), from where that daemon lives (run it inside the requester's
 * namespace). Argument: JSON `{url, token, peer, cwd, runner, prompts: string[], concurrency}`;
 * prints `{accepted, statuses, failures}`.
 */
interface Options {
  url: string;
  token: string;
  peer: string;
  cwd: string;
  runner: string;
  prompts: string[];
  concurrency: number;
}

const o = JSON.parse(Deno.args[0]) as Options;
const statuses: Record<string, number> = {};
const failures: string[] = [];
const ids: string[] = [];
let next = 0;
async function client() {
  while (next < o.prompts.length) {
    const prompt = o.prompts[next++];
    const res = await fetch(`${o.url}/v1/delegate`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${o.token}` },
      body: JSON.stringify({ peer: o.peer, task: prompt, cwd: o.cwd, runner: o.runner }),
    });
    const body = await res.json().catch(() => null);
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    if (res.ok && body?.task?.id) ids.push(body.task.id);
    else if (failures.length < 5) failures.push(JSON.stringify(body).slice(0, 300));
  }
}
await Promise.all(Array.from({ length: o.concurrency }, client));
console.log(JSON.stringify({ accepted: ids.length, ids, statuses, failures }));
