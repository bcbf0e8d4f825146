/**
 * Reliability: the world around the daemons fails.
 *
 * - **LocalAPI disappears mid-run** (network namespaces, a LocalAPI double; root): while a task
 *   runs, tailscaled's socket goes away. New requests are refused (503
 *   `identity_unavailable`, fail closed, audited) once the 2 s whois cache has expired; the
 *   running task finishes and is stored as succeeded regardless, and the requester receives it
 *   when the LocalAPI is back.
 * - **Disk full, then read-only** (a 1 MiB tmpfs mounted over the worker's state dir in a
 *   private mount namespace; root): submissions get 503 `storage_unavailable` with SQLite's
 *   reason and nothing half-written; the daemon stays up; once space is back every admitted
 *   task reaches a stored terminal state (the outcome waited in memory) and new work runs;
 *   a daemon started on the read-only state dir exits with an error naming the file system
 *   problem and the path; the database passes `PRAGMA integrity_check` and both audit chains
 *   verify.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cmeshArgs, REPO_ROOT } from "../support/daemon.ts";
import { createMesh, shRunner } from "../support/mesh_world.ts";
import { curlFrom, run, systemTestSkipReason } from "../support/netns.ts";
import { query, sleep, TERMINAL } from "./_helpers.ts";

const NETNS_SKIP = systemTestSkipReason();
if (NETNS_SKIP) console.warn(`faults_env_test.ts: LocalAPI test skipped: ${NETNS_SKIP}`);

function mountSkipReason(): string | null {
  if (Deno.build.os !== "linux") return "mount namespaces need Linux";
  if (Deno.uid() !== 0) return "mounting a tmpfs needs root";
  for (const t of ["/usr/bin/unshare", "/usr/bin/nsenter", "/usr/bin/sqlite3"]) {
    try {
      Deno.statSync(t);
    } catch {
      return `${t} is missing`;
    }
  }
  return null;
}
const MOUNT_SKIP = mountSkipReason();
if (MOUNT_SKIP) console.warn(`faults_env_test.ts: disk test skipped: ${MOUNT_SKIP}`);

Deno.test({
  name: "reliability: LocalAPI gone mid-run → new requests denied, the running task unaffected",
  ignore: NETNS_SKIP !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const mesh = await createMesh({ mode: "netns", runners: { sh: shRunner() } });
    try {
      const token = (await Deno.readTextFile(join(mesh.requesterHome, "state", "control.token")))
        .trim();
      const ns = mesh.topo!.ns.ra;
      const control = (method: string, path: string, json?: unknown) =>
        curlFrom(ns, method, `${mesh.requesterControlUrl}${path}`, {
          json,
          headers: { authorization: `Bearer ${token}` },
        });
      const body = (id: string, task: string) => ({
        id,
        peer: mesh.peerName,
        task,
        cwd: mesh.plain,
        runner: "sh",
        timeout_s: 60,
      });
      const a = await control(
        "POST",
        "/v1/delegate",
        body("t-lapi-running", "sleep 3; echo survived"),
      );
      assert.equal(a.status, 202, a.text);
      for (let i = 0; i < 100; i++) {
        const [t] = query<{ state: string }>(
          mesh.workerDb,
          "SELECT state FROM tasks WHERE id = 't-lapi-running'",
        );
        if (t?.state === "running") break;
        await sleep(50);
      }

      await mesh.double!.pause();
      await sleep(2300); // past the 2 s whois cache
      const direct = await curlFrom(ns, "POST", `${mesh.workerUrl}/v1/tasks`, {
        json: { id: "t-lapi-direct", prompt: "echo x", cwd: mesh.plain, profile: "query" },
      });
      assert.equal(direct.status, 503, direct.text);
      assert.equal((direct.json as { error: { code: string } }).error.code, "identity_unavailable");
      const b = await control("POST", "/v1/delegate", body("t-lapi-new", "echo never"));
      assert.ok(b.status >= 400 && b.status < 600, `refused while the LocalAPI is gone: ${b.text}`);
      assert.match(b.text, /identity|tailscale|LocalAPI/i);

      // The running task is unaffected: it finishes and is stored on the worker meanwhile.
      let worker = "";
      for (let i = 0; i < 100 && worker !== "succeeded"; i++) {
        await sleep(100);
        worker = query<{ state: string }>(
          mesh.workerDb,
          "SELECT state FROM tasks WHERE id = 't-lapi-running'",
        )[0]?.state;
      }
      assert.equal(worker, "succeeded");
      assert.deepEqual(
        query(mesh.workerDb, "SELECT id FROM tasks WHERE id IN ('t-lapi-new', 't-lapi-direct')"),
        [],
        "nothing was admitted without an identity",
      );
      const denied = query<{ rule: string }>(
        mesh.workerDb,
        "SELECT rule FROM audit WHERE kind = 'request.denied' AND decision = 'deny'",
      );
      assert.ok(denied.length >= 1, "the refusals were audited");

      await mesh.double!.resume();
      let seen = "";
      for (let i = 0; i < 150 && seen !== "succeeded"; i++) {
        const r = await control("GET", "/v1/tasks/t-lapi-running");
        seen = (r.json as { task?: { state: string } } | undefined)?.task?.state ?? "";
        if (seen !== "succeeded") await sleep(200);
      }
      assert.equal(seen, "succeeded", "the requester got the result once the LocalAPI was back");
      const res = await control("GET", "/v1/tasks/t-lapi-running/result");
      assert.match(res.text, /survived/);
    } finally {
      await mesh.destroy();
    }
  },
});

Deno.test({
  name: "reliability: disk full and read-only state dir → clear errors, nothing lost or corrupt",
  ignore: MOUNT_SKIP !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "cmesh-disk-" }));
    const state = join(dir, "state");
    await Deno.mkdir(state);
    // A process holding a private mount namespace; everything below happens inside it.
    const holder = new Deno.Command("/usr/bin/unshare", {
      args: ["-m", "--propagation", "private", "sleep", "600"],
      stdin: "null",
    }).spawn();
    const inNs = ["/usr/bin/nsenter", "-t", String(holder.pid), "-m", `--wd=${REPO_ROOT}`];
    const mount = async (...args: string[]) => {
      const r = await run([...inNs, "mount", ...args]);
      assert.equal(r.code, 0, `mount ${args.join(" ")}: ${r.stderr}`);
    };
    let mesh: Awaited<ReturnType<typeof createMesh>> | null = null;
    try {
      // `unshare` execs `sleep` only once its namespace is set up (new, private). Entered any
      // earlier, nsenter lands in this test's own namespace: the tmpfs would be mounted there,
      // and the worker, started later in the new one, would write to the real disk.
      const nsOf = async (wrap: string[]) =>
        (await run([...wrap, "/usr/bin/readlink", "/proc/self/ns/mnt"])).stdout.trim();
      const ownNs = await nsOf([]);
      for (let i = 0;; i++) {
        const comm = (await run(["/usr/bin/cat", `/proc/${holder.pid}/comm`])).stdout.trim();
        if (comm === "sleep" && (await nsOf(inNs)) !== ownNs) break;
        assert.ok(i < 500, `unshare did not set up its namespace (comm ${comm})`);
        await sleep(20);
      }
      await mount("-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", state);
      mesh = await createMesh({
        mode: "loopback",
        runners: { sh: shRunner() },
        inbound: { max_concurrent: 2, max_queue: 100 },
        requesterDaemon: false,
        workerStateDir: state,
        workerWrap: inNs,
      });
      const m = mesh;
      const submit = async (id: string, prompt: string) => {
        const res = await fetch(`${m.workerUrl}/v1/tasks`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ id, prompt, cwd: m.plain, profile: "query", runner: "sh" }),
        });
        return { status: res.status, json: await res.json() as Record<string, unknown> };
      };
      const inDb = (sql: string) =>
        run([...inNs, "/usr/bin/sqlite3", join(state, "cmesh.db"), sql]);

      // Fill the disk with admissions (big prompts) until the worker says it cannot store.
      const admitted: string[] = [];
      let full: { status: number; json: Record<string, unknown> } | null = null;
      for (let i = 0; i < 80 && !full; i++) {
        const id = `t-disk-${String(i).padStart(4, "0")}`;
        const r = await submit(id, `echo ${"x".repeat(48_000)} > /dev/null; echo stored ${i}`);
        if (r.status === 202) admitted.push(id);
        else full = r;
      }
      assert.ok(full, "the 1 MiB state dir filled up");
      assert.equal(full.status, 503, JSON.stringify(full.json));
      const err = (full.json as { error: { code: string; message: string } }).error;
      assert.equal(err.code, "storage_unavailable");
      assert.match(err.message, /full/);
      const hello = await fetch(`${m.workerUrl}/v1/hello`);
      assert.equal(hello.status, 200, "the daemon stays up");
      await hello.body?.cancel();

      // Space is back: everything admitted reaches a stored terminal state; new work runs.
      await mount("-o", "remount,size=64m", state);
      let open: string[] = [];
      for (let i = 0; i < 100; i++) {
        const out = (await inDb("SELECT id || ' ' || state FROM tasks")).stdout.trim().split("\n");
        open = out.filter((l) => l && !TERMINAL.includes(l.split(" ")[1]));
        if (open.length === 0) break;
        await sleep(200);
      }
      assert.deepEqual(open, [], "no admitted task is left queued or running");
      const after = await submit("t-disk-after", "echo after");
      assert.equal(after.status, 202, JSON.stringify(after.json));

      // A daemon started on a read-only state dir says so and exits.
      for (let i = 0; i < 50; i++) {
        if (
          (await inDb("SELECT state FROM tasks WHERE id = 't-disk-after'")).stdout.trim() ===
            "succeeded"
        ) break;
        await sleep(100);
      }
      await m.stopWorker();
      await mount("-o", "remount,ro", state);
      const ro = await run(
        [...inNs, Deno.execPath(), ...cmeshArgs("daemon", "--insecure-local-demo", "laptop")],
        { env: { CMESH_HOME: m.workerHome, NO_COLOR: "1" }, timeoutMs: 30_000 },
      );
      assert.notEqual(ro.code, 0);
      assert.match(ro.stderr, /read-only file system/i);
      assert.ok(ro.stderr.includes(state), `names the state dir: ${ro.stderr}`);

      // Nothing is corrupt.
      await mount("-o", "remount,rw", state);
      const check = await inDb("PRAGMA integrity_check");
      assert.equal(check.stdout.trim(), "ok", check.stderr);
      const verify = await run([...inNs, Deno.execPath(), ...cmeshArgs("audit", "verify")], {
        env: { CMESH_HOME: m.workerHome, NO_COLOR: "1" },
      });
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
      assert.match(verify.stdout, /audit chain ok/);
    } finally {
      await mesh?.destroy();
      try {
        holder.kill("SIGKILL");
      } catch { /* gone */ }
      await holder.status;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
