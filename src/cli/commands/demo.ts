/**
 * @module
 * `cmesh demo`: a complete local delegation with no Tailscale and no API keys. Two daemons
 * (`laptop`, `server`) run on this machine with the clearly marked local-demo identity source
 * and the built-in read-only demo runner. It prints the task, the policy decisions, the
 * progress, the result with evidence, a refused request, and both audit trails.
 */
import { join } from "node:path";
import { followTask } from "../../control/calls.ts";
import { ControlClient } from "../../control/client.ts";
import { controlTokenPath, readControlToken } from "../../control/token.ts";
import { spawnDaemon, type SpawnedDaemon } from "../../daemon/spawn.ts";
import { listAudit } from "../../store/audit.ts";
import { verifyAudit } from "../../store/audit_verify.ts";
import { openStore } from "../../store/db.ts";
import { formatAuditLine } from "./audit.ts";
import { createDemoLayout, type DemoLayout, selfCommand } from "../demo_setup.ts";
import { formatEvent, formatResult } from "../format.ts";
import { CliError, type CommonOptions, EXIT, style } from "../output.ts";

async function startDemoDaemon(
  name: string,
  home: string,
  demoCaller: string,
): Promise<SpawnedDaemon> {
  const self = selfCommand(["daemon", "--insecure-local-demo", demoCaller]);
  try {
    return await spawnDaemon({
      bin: self.bin,
      args: self.args,
      env: { CMESH_HOME: home, NO_COLOR: "1" },
    });
  } catch (e) {
    const why = (e as Error).message.replace(/^Warning.*\n/gm, "");
    throw new CliError(`the ${name} daemon did not start: ${why}`, EXIT.FAILURE, "demo_failed");
  }
}

function heading(text: string): void {
  console.log(`\n${style(`== ${text}`, "bold")}`);
}

function printAudit(label: string, home: string): { ok: boolean; count: number } {
  const store = openStore(join(home, "state", "cmesh.db"));
  try {
    console.log(style(`-- ${label}'s audit log --`, "dim"));
    for (const r of listAudit(store, { limit: 100 })) console.log(formatAuditLine(r));
    const v = verifyAudit(store);
    console.log(
      v.ok
        ? style(`   chain verifies: ${v.count} records, head ${v.head_hash.slice(0, 16)}…`, "green")
        : style(`   CHAIN BROKEN at #${v.first_bad?.seq}: ${v.first_bad?.problem}`, "red"),
    );
    return { ok: v.ok, count: v.count };
  } finally {
    store.close();
  }
}

async function runFlow(l: DemoLayout): Promise<boolean> {
  const laptop = new ControlClient({
    port: l.ports.laptopControl,
    token: await readControlToken(join(l.laptopHome, "state")),
    tokenFile: controlTokenPath(join(l.laptopHome, "state")),
    configFile: join(l.laptopHome, "config.toml"),
  });
  const prompt = "Give me an overview of this repository: files, languages and size.";
  heading("1. The task");
  console.log(
    `laptop asks server: "${prompt}"\n  cwd ${l.repo}, profile query (read-only), runner demo`,
  );

  heading("2. Delegation and policy decisions");
  const sent = await laptop.delegate({
    peer: "server",
    prompt,
    cwd: l.repo,
    profile: "query",
  });
  if (!sent.ok) {
    throw new CliError(`delegation failed: ${sent.error.message}`, EXIT.FAILURE, "demo_failed");
  }
  const id = sent.value.task.id;
  console.log(
    `laptop's outbound policy allowed it; server's inbound policy admitted it as task ${id}`,
  );

  heading("3. Progress (streamed from server)");
  const end = await followTask(laptop, id, {
    onEvent: (ev) => console.log(`  ${formatEvent(ev)}`),
  });
  const status = end.ok ? end.value.task : null;
  if (!end.ok) throw new CliError(end.error.message, EXIT.FAILURE, "demo_failed");

  heading("4. Result: the agent's claims, and the worker's evidence");
  if (end.value.result) console.log(formatResult(end.value.result, "server"));

  heading("5. What gets refused (and why)");
  const outside = await laptop.delegate({
    peer: "server",
    prompt: "read the host's password file",
    cwd: "/etc",
    profile: "query",
  });
  console.log(
    `cwd /etc → ${outside.ok ? "accepted?!" : `${outside.error.code}: ${outside.error.message}`}`,
  );
  const escalate = await laptop.delegate({
    peer: "server",
    prompt: "fix the failing test",
    cwd: l.repo,
    profile: "edit",
  });
  console.log(
    `profile edit → ${
      escalate.ok ? "accepted?!" : `${escalate.error.code}: ${escalate.error.message}`
    }`,
  );
  const sibling = await laptop.delegate({
    peer: "server",
    prompt: "look around",
    cwd: join(l.base, "server-repos"),
    profile: "query",
  });
  console.log(
    `cwd outside server's roots → ${
      sibling.ok ? "accepted?!" : `${sibling.error.code}: ${sibling.error.message}`
    }`,
  );
  return status?.state === "succeeded" && !outside.ok && !escalate.ok && !sibling.ok;
}

/** Runs the demo. `--keep` leaves the demo directory for inspection. */
export async function demo(opts: CommonOptions & { keep?: boolean }): Promise<void> {
  const base = await Deno.makeTempDir({ prefix: "cmesh-demo-" });
  const l = await createDemoLayout(base);
  console.log(
    style("cmesh local demo", "bold") +
      style(
        " (LOCAL DEMO identity: loopback callers are named 'laptop'; no Tailscale, no API keys)",
        "dim",
      ),
  );
  console.log(`demo directory: ${base}`);
  const daemons: SpawnedDaemon[] = [];
  let ok = false;
  try {
    daemons.push(await startDemoDaemon("server", l.serverHome, "laptop"));
    daemons.push(await startDemoDaemon("laptop", l.laptopHome, "laptop"));
    ok = await runFlow(l);
  } finally {
    for (const d of daemons) await d.stop();
  }
  heading("6. Audit trails (hash-chained, verified)");
  const a = printAudit("laptop", l.laptopHome);
  const b = printAudit("server", l.serverHome);
  ok = ok && a.ok && b.ok;
  if (opts.keep) {
    console.log(`\nkept ${base}; inspect with: CMESH_HOME=${l.serverHome} cmesh audit list`);
  } else await Deno.remove(base, { recursive: true }).catch(() => {});
  console.log(
    ok
      ? style("\ndemo complete: delegated, ran, refused what it should, audited.", "green")
      : style("\ndemo did not behave as expected", "red"),
  );
  if (!ok) Deno.exitCode = EXIT.FAILURE;
}
