/**
 * System test: `cmesh policy explain` and the running worker's admission give the same answer
 * for the same cwd, including the cases where a sandboxed worker thread used to disagree (a
 * symlink from outside the roots into one). The daemon runs in the worker namespace with the
 * LocalAPI double (see `worker_world.ts`); both it and the CLI run in a user namespace
 * (`unshare --user --map-root-user`) so that a directory owned by an unmapped uid is really
 * unreadable to them, even though the test runs as root.
 *
 * Needs root, iproute2 and util-linux `unshare`; skipped (with the reason) otherwise.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cmeshArgs, REPO_ROOT, startDaemon } from "../support/daemon.ts";
import { nsWrap, run, systemTestSkipReason } from "../support/netns.ts";
import { findOnPath } from "../support/proc.ts";
import {
  createWorkerWorld,
  errorOf,
  show,
  taskId,
  WORKER_PORT,
  WORKER_TAILNET_IP,
} from "./worker_world.ts";

const UNSHARE = findOnPath("unshare");
const SKIP = systemTestSkipReason() ?? (UNSHARE ? null : "util-linux unshare is not installed");
if (SKIP) console.warn(`tests/system/cwd_agreement_test.ts skipped: ${SKIP}`);

/** Runs inside a user namespace where only root (0) is mapped. */
const userns = () => [UNSHARE!, "--user", "--map-root-user"];

Deno.test({
  name:
    "system: policy explain and admission agree on symlinked, dangling, looping, unreadable cwds",
  ignore: SKIP !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const w = await createWorkerWorld();
    try {
      // base/link-to-repo → root/repo: outside the root, resolving inside it (macOS /tmp,
      // a symlinked home, srv/link-to-app → app).
      await Deno.symlink(w.repo, join(w.base, "link-to-repo"));
      await Deno.symlink(w.outside, join(w.base, "link-to-outside"));
      await Deno.symlink(join(w.root, "nope"), join(w.root, "dangling"));
      await Deno.symlink(join(w.root, "loop"), join(w.root, "loop"));
      const locked = join(w.root, "locked");
      await Deno.mkdir(join(locked, "inner"), { recursive: true });
      await Deno.chown(locked, 12345, 12345);
      await Deno.chmod(locked, 0o700);

      w.daemon = await startDaemon(w.home, { wrap: [...nsWrap(w.workerNs), ...userns()] });
      assert.deepEqual(w.daemon.ready.worker, [`${WORKER_TAILNET_IP}:${WORKER_PORT}`]);

      const cases: { name: string; cwd: string; allow: boolean; rule?: string; says?: RegExp }[] = [
        {
          name: "symlink from outside into the root",
          cwd: join(w.base, "link-to-repo"),
          allow: true,
        },
        {
          name: "symlink inside the root pointing out",
          cwd: join(w.root, "escape"),
          allow: false,
          rule: "inbound.allow[0].cwd",
          says: /resolves to/,
        },
        {
          name: "symlink outside the root pointing out",
          cwd: join(w.base, "link-to-outside"),
          allow: false,
          rule: "inbound.allow[0].cwd",
        },
        {
          name: "dangling symlink",
          cwd: join(w.root, "dangling"),
          allow: false,
          rule: "cwd.not_found",
          says: /does not exist/,
        },
        {
          name: "symlink loop",
          cwd: join(w.root, "loop"),
          allow: false,
          rule: "cwd.not_found",
          says: /loop/,
        },
        {
          name: "a file, not a directory",
          cwd: join(w.repo, "README.md"),
          allow: false,
          rule: "cwd.not_found",
          says: /not a directory/,
        },
        {
          name: "permission denied on a component",
          cwd: join(locked, "inner"),
          allow: false,
          rule: "cwd.not_found",
          says: /permission denied/,
        },
      ];
      for (const c of cases) {
        await t.step(c.name, async () => {
          const explain = await run(
            [
              ...userns(),
              Deno.execPath(),
              ...cmeshArgs(
                "policy",
                "explain",
                "--json",
                "--peer",
                "laptop",
                "--login",
                "alice@example.com",
                "--cwd",
                c.cwd,
                "--runner",
                "fake",
              ),
            ],
            {
              cwd: REPO_ROOT,
              env: { CMESH_HOME: w.home, NO_COLOR: "1", PATH: Deno.env.get("PATH") ?? "" },
            },
          );
          const explained = JSON.parse(explain.stdout) as {
            decision: { allow: boolean; rule: string; reason: string };
          };
          assert.equal(explain.code, c.allow ? 0 : 3, explain.stderr);

          const id = taskId("agree");
          const r = await w.request("laptop", "POST", "/v1/tasks", {
            json: {
              id,
              prompt: '[{"claude":"result","text":"ok"}]',
              cwd: c.cwd,
              profile: "query",
              runner: "fake",
            },
          });
          const admitted = r.status === 202;
          assert.ok(r.status === 202 || r.status === 403, show(r));

          // They agree with each other ...
          assert.equal(
            admitted,
            explained.decision.allow,
            `admission ${show(r)} vs explain ${explain.stdout}`,
          );
          // ... and with what is right.
          assert.equal(admitted, c.allow, show(r));
          if (!c.allow) {
            assert.equal(errorOf(r).rule, c.rule, show(r));
            assert.equal(explained.decision.rule, c.rule, explain.stdout);
            if (c.says) {
              assert.match(errorOf(r).message ?? "", c.says);
              assert.match(explained.decision.reason, c.says);
            }
          } else {
            const task = (r.json as { task: { cwd: string } }).task;
            assert.equal(task.cwd, w.repo, "admitted with the real path");
          }
        });
      }
    } finally {
      await Deno.chown(join(w.root, "locked"), 0, 0).catch(() => {});
      await w.destroy();
    }
  },
});
