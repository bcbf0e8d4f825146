/**
 * @module
 * `cmesh config apply <hash>`: the human's way to apply a setup plan, in particular one that
 * widens what other machines may do here, which `cmesh_setup_apply` (the agent) may not apply
 * on its own. Shows what the plan widens, its changes, warnings and diff, asks on the terminal
 * (or takes `--yes`), then writes it exactly as the MCP tool would: backup, atomic write,
 * `config.change` audit record (actor `cli`, `confirmed_by`).
 */
import { ApplyError, applyPlan, planWidenings } from "../../setup/apply.ts";
import { loadStoredPlan, plansDir, planStateDir } from "../../setup/plan_store.ts";
import { configFileFor } from "../context.ts";
import { CliError, type CommonOptions, emit, EXIT, style } from "../output.ts";

/** Reads one line from stdin (the answer to a question printed on stderr). */
async function readAnswer(question: string): Promise<string> {
  await Deno.stderr.write(new TextEncoder().encode(question));
  const buf = new Uint8Array(256);
  let text = "";
  while (!text.includes("\n") && text.length < 256) {
    const n = await Deno.stdin.read(buf);
    if (n === null) break;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  return text.split("\n")[0].trim();
}

/** `cmesh config apply <hash> [--yes]`. */
export async function configApply(
  hash: string,
  opts: CommonOptions & { yes?: boolean },
): Promise<void> {
  const file = configFileFor(opts);
  const stateDir = await planStateDir(file);
  const loaded = await loadStoredPlan(stateDir, hash);
  if (!loaded.ok) throw new CliError(loaded.reason, EXIT.FAILURE, loaded.code);
  const plan = loaded.plan;
  if (plan.file !== file) {
    throw new CliError(
      `plan ${plan.hash} is for ${plan.file}, not ${file}: run it with --config ${plan.file}`,
      EXIT.FAILURE,
      "other_file",
    );
  }
  const widens = planWidenings(plan);
  const summary = [
    `Plan ${plan.hash} for ${plan.file}${
      plan.exists ? "" : " (new file)"
    }, made ${loaded.savedAt}:`,
    ...(widens.length
      ? [
        style("It widens what other machines may do on this machine:", "bold"),
        ...widens.map((w) => `  - ${w}`),
      ]
      : ["It does not widen what other machines may do here."]),
    "Changes:",
    ...plan.changes.map((c) => `  - ${c}`),
    ...(plan.warnings.length ? ["Warnings:", ...plan.warnings.map((w) => `  - ${w}`)] : []),
    "",
    plan.diff.trimEnd(),
    "",
  ].join("\n");
  // The plan goes to stderr with --json so stdout stays one JSON document.
  if (opts.json) console.error(summary);
  else console.log(summary);
  if (!opts.yes) {
    if (!Deno.stdin.isTerminal()) {
      throw new CliError(
        "not applied: confirm it by running this command in a terminal (it asks), or pass --yes " +
          "once you have reviewed the plan above",
        EXIT.FAILURE,
        "not_confirmed",
      );
    }
    const answer = await readAnswer(`Apply this change to ${plan.file}? [y/N] `);
    if (!/^y(es)?$/i.test(answer)) {
      throw new CliError("not applied: you did not answer yes", EXIT.FAILURE, "not_confirmed");
    }
  }
  let out;
  try {
    out = await applyPlan(plan, {
      stateDir,
      widens,
      actor: {
        local: "cli",
        via: "cmesh config apply",
        confirmed_by: opts.yes ? "--yes" : "terminal",
      },
    });
  } catch (e) {
    if (e instanceof ApplyError) {
      throw new CliError(`not applied: ${e.message}`, EXIT.FAILURE, e.code);
    }
    throw e;
  }
  await Deno.remove(`${plansDir(stateDir)}/${plan.hash}.json`).catch(() => {});
  emit(
    opts,
    { ...out, plan_hash: plan.hash, changes: plan.changes, widens },
    () =>
      `wrote ${out.file}${
        out.backup ? ` (previous file kept as ${out.backup})` : ""
      }; audit record #${out.audit_seq}. ` +
      "Restart the daemon to use it ('cmesh service install' or restart 'cmesh daemon').",
  );
}
