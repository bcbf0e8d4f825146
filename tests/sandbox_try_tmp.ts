import { createMesh, shRunner } from "./support/mesh_world.ts";
const mesh = await createMesh({
  mode: "loopback",
  runners: { sh: shRunner() },
  requesterDaemon: false,
});
try {
  const id = "t-try-00000001";
  const res = await fetch(`${mesh.workerUrl}/v1/tasks`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      id,
      prompt: Deno.args[0] ?? "echo hi; ls /",
      cwd: mesh.plain,
      profile: "query",
      runner: "sh",
    }),
  });
  console.log(res.status, await res.text());
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 200));
    const r = await (await fetch(`${mesh.workerUrl}/v1/tasks/${id}/result`)).json();
    if (r.result) {
      console.log(JSON.stringify(r.result, null, 1));
      break;
    }
  }
} finally {
  await mesh.destroy();
}
