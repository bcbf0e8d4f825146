/**
 * Reliability: audit logs written by real daemons (a requester and a worker running tasks and
 * refusing some) are tampered with through the `sqlite3` CLI, the way someone with write
 * access to the file would: edit a field, edit and recompute that record's hash, delete a
 * record, delete and renumber to close the gap, swap two records, insert a forged record with
 * a correct hash. Each time `cmesh audit verify` must exit 1 and name the exact first bad
 * record and what happened to it; the untouched copy verifies.
 *
 * Skipped without the sqlite3 CLI.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type AuditRow, auditRowHash } from "../../src/store/audit_chain.ts";
import { runCmesh } from "../support/daemon.ts";
import { controlToken, createMesh, shRunner } from "../support/mesh_world.ts";

const SQLITE3 = ["/usr/bin/sqlite3", "/bin/sqlite3", "/usr/local/bin/sqlite3"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});
if (!SQLITE3) console.warn("tests/reliability/tamper_test.ts skipped: the sqlite3 CLI is missing");

const COLS = "seq, at, kind, task_id, actor, decision, rule, reason, data, prev_hash, hash";

async function sqlite(db: string, sql: string): Promise<string> {
  const out = await new Deno.Command(SQLITE3!, {
    args: ["-batch", "-bail", db],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = out.stdin.getWriter();
  await w.write(new TextEncoder().encode(sql));
  await w.close();
  const r = await out.output();
  const err = new TextDecoder().decode(r.stderr);
  if (r.code !== 0) throw new Error(`sqlite3 failed: ${err}\n${sql}`);
  return new TextDecoder().decode(r.stdout);
}

/** A record read with the sqlite3 CLI (JSON mode). */
async function row(db: string, seq: number): Promise<AuditRow> {
  const text = await sqlite(db, `.mode json\nSELECT ${COLS} FROM audit WHERE seq = ${seq};\n`);
  return (JSON.parse(text) as AuditRow[])[0];
}

const q = (v: string | null) => v === null ? "NULL" : `'${v.replaceAll("'", "''")}'`;

/** A copy of `home` (config and database) to tamper with. */
async function copyHome(home: string, to: string): Promise<string> {
  await Deno.mkdir(join(to, "state"), { recursive: true });
  await Deno.copyFile(join(home, "config.toml"), join(to, "config.toml"));
  await Deno.copyFile(join(home, "state", "cmesh.db"), join(to, "state", "cmesh.db"));
  return join(to, "state", "cmesh.db");
}

interface Tamper {
  name: string;
  /** Applies the change; returns the seq and problem verify must report. */
  apply(db: string, n: number): Promise<{ seq: number; problem: string }>;
}

const DROP = "DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete;\n";

const TAMPERS: Tamper[] = [
  {
    name: "edit a reason",
    async apply(db, n) {
      const k = Math.ceil(n / 2);
      await sqlite(db, `${DROP}UPDATE audit SET reason = 'nothing to see' WHERE seq = ${k};\n`);
      return { seq: k, problem: "edited" };
    },
  },
  {
    name: "edit the first record",
    async apply(db) {
      await sqlite(db, `${DROP}UPDATE audit SET kind = 'config.change' WHERE seq = 1;\n`);
      return { seq: 1, problem: "edited" };
    },
  },
  {
    name: "edit a decision and recompute its hash",
    async apply(db, n) {
      const k = Math.ceil(n / 3);
      // Flip it, whatever it was: setting a value the record already has would change nothing.
      await sqlite(
        db,
        `${DROP}UPDATE audit SET decision = CASE decision WHEN 'allow' THEN 'deny' ELSE 'allow' END ` +
          `WHERE seq = ${k};\n`,
      );
      const hash = auditRowHash(await row(db, k));
      await sqlite(db, `UPDATE audit SET hash = ${q(hash)} WHERE seq = ${k};\n`);
      return { seq: k, problem: "edited" };
    },
  },
  {
    name: "delete a record",
    async apply(db, n) {
      const k = n - 3;
      await sqlite(db, `${DROP}DELETE FROM audit WHERE seq = ${k};\n`);
      return { seq: k, problem: "deleted" };
    },
  },
  {
    name: "delete a record and renumber the rest",
    async apply(db, n) {
      const k = Math.ceil(n / 2) + 1;
      await sqlite(
        db,
        `${DROP}DELETE FROM audit WHERE seq = ${k};\n` +
          `UPDATE audit SET seq = -seq WHERE seq > ${k};\nUPDATE audit SET seq = -seq - 1 WHERE seq < 0;\n`,
      );
      return { seq: k, problem: "deleted" };
    },
  },
  {
    name: "swap two records",
    async apply(db, n) {
      const a = Math.ceil(n / 4);
      const b = a + 2;
      await sqlite(
        db,
        `${DROP}UPDATE audit SET seq = -1 WHERE seq = ${a};\nUPDATE audit SET seq = ${a} WHERE seq = ${b};\n` +
          `UPDATE audit SET seq = ${b} WHERE seq = -1;\n`,
      );
      return { seq: a, problem: "reordered" };
    },
  },
  {
    name: "insert a forged record with a correct hash",
    async apply(db, n) {
      const k = Math.ceil(n / 2);
      const prev = await row(db, k - 1);
      await sqlite(
        db,
        `${DROP}UPDATE audit SET seq = -seq WHERE seq >= ${k};\nUPDATE audit SET seq = -seq + 1 WHERE seq < 0;\n`,
      );
      const forged: AuditRow = {
        seq: k,
        at: prev.at,
        kind: "task.decision",
        task_id: "t-forged-000001",
        actor: '{"node":"laptop"}',
        decision: "allow",
        rule: "inbound.allow[0]",
        reason: "looks legitimate",
        data: null,
        prev_hash: prev.hash,
        hash: "",
      };
      forged.hash = auditRowHash(forged);
      const values = [
        String(forged.seq),
        q(forged.at),
        q(forged.kind),
        q(forged.task_id),
        q(forged.actor),
        q(forged.decision),
        q(forged.rule),
        q(forged.reason),
        "NULL",
        q(forged.prev_hash),
        q(forged.hash),
      ];
      await sqlite(db, `INSERT INTO audit (${COLS}) VALUES (${values.join(", ")});\n`);
      return { seq: k, problem: "inserted" };
    },
  },
];

Deno.test({
  name: "reliability: sqlite3 edits, deletes, reorders, inserts → audit verify names the record",
  ignore: !SQLITE3,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const mesh = await createMesh({ mode: "loopback", runners: { sh: shRunner() } });
    const work = await Deno.makeTempDir({ prefix: "cmesh-tamper-" });
    try {
      // A real history on both sides: tasks that ran, and refusals.
      const token = await controlToken(mesh.requesterHome);
      const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        const body = i % 3 === 2
          ? { peer: mesh.peerName, task: "x", cwd: "/etc", profile: "query", runner: "sh" }
          : {
            peer: mesh.peerName,
            task: `echo task ${i}`,
            cwd: mesh.plain,
            profile: "query",
            runner: "sh",
          };
        const res = await fetch(`${mesh.requesterControlUrl}/v1/delegate`, {
          method: "POST",
          headers,
          body: JSON.stringify(body),
        });
        const json = await res.json() as { task?: { id: string } };
        if (res.status === 202) ids.push(json.task!.id);
      }
      for (const id of ids) {
        for (let i = 0; i < 100; i++) {
          const r = await fetch(`${mesh.requesterControlUrl}/v1/tasks/${id}/wait?timeout_s=5`, {
            headers,
          });
          const s = (await r.json() as { task: { state: string } }).task.state;
          if (!["queued", "running"].includes(s)) break;
        }
      }
      await mesh.stopRequester();
      await mesh.stopWorker();

      for (const [side, home] of [["worker", mesh.workerHome], ["requester", mesh.requesterHome]]) {
        const clean = await runCmesh(["audit", "verify"], { CMESH_HOME: home });
        assert.equal(clean.code, 0, clean.stdout + clean.stderr);
        const count = Number(/audit chain ok: (\d+) records/.exec(clean.stdout)?.[1]);
        assert.ok(count >= 8, `${side} has a history to tamper with (${count} records)`);
        for (const tamper of TAMPERS) {
          await t.step(`${side}: ${tamper.name}`, async () => {
            const dir = join(work, `${side}-${TAMPERS.indexOf(tamper)}`);
            const db = await copyHome(home, dir);
            const want = await tamper.apply(db, count);
            const r = await runCmesh(["audit", "verify"], { CMESH_HOME: dir });
            const text = r.stdout + r.stderr;
            assert.equal(r.code, 1, text);
            assert.match(
              text,
              new RegExp(`audit chain broken at record #${want.seq}: ${want.problem}:`),
              `${tamper.name}: expected #${want.seq} ${want.problem}`,
            );
          });
        }
      }
    } finally {
      await mesh.destroy();
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
