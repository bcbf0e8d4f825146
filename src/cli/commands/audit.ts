/**
 * @module
 * `cmesh audit list|verify|export`: read the local hash-chained audit log directly from the
 * state dir's database (works whether or not the daemon runs).
 */
import { exportAuditJsonl, listAudit } from "../../store/audit.ts";
import { verifyAudit } from "../../store/audit_verify.ts";
import type { AuditRecord } from "../../store/audit_schema.ts";
import { openStateStore } from "../state_store.ts";
import { CliError, type CommonOptions, emit, EXIT, style } from "../output.ts";

function parseSince(since: string | undefined): string | undefined {
  if (since === undefined) return undefined;
  const rel = /^(\d+)([smhd])$/.exec(since);
  if (rel) {
    const mult = { s: 1, m: 60, h: 3600, d: 86400 }[rel[2] as "s" | "m" | "h" | "d"];
    return new Date(Date.now() - Number(rel[1]) * mult * 1000).toISOString();
  }
  const d = new Date(since);
  if (Number.isNaN(d.getTime())) {
    throw new CliError(
      `--since must be an ISO time or a duration like 30m, 2h, 7d; got "${since}"`,
      EXIT.USAGE,
      "usage",
    );
  }
  return d.toISOString();
}

/** One audit record as a line. */
export function formatAuditLine(r: AuditRecord): string {
  const decision = r.decision
    ? ` ${r.decision === "deny" ? style("DENY", "red") : style("allow", "green")}`
    : "";
  const rule = r.rule ? ` [${r.rule}]` : "";
  const task = r.task_id ? ` task=${r.task_id}` : "";
  const actor = r.actor && typeof r.actor === "object" && "node" in r.actor
    ? ` by ${(r.actor as { node: string }).node}`
    : "";
  return `#${r.seq} ${r.at} ${r.kind}${decision}${rule}${task}${actor}${
    r.reason ? `\n     ${r.reason}` : ""
  }`;
}

/** `cmesh audit list [--task ID] [--since T] [--limit N]`. */
export async function auditList(
  opts: CommonOptions & { task?: string; since?: string; limit?: string },
): Promise<void> {
  const limit = Number(opts.limit ?? "50");
  if (!Number.isInteger(limit) || limit < 1) {
    throw new CliError("--limit must be a positive integer", EXIT.USAGE, "usage");
  }
  const since = parseSince(opts.since);
  const store = await openStateStore(opts);
  try {
    const records = listAudit(store, { taskId: opts.task, since, limit, newestFirst: true })
      .reverse();
    emit(
      opts,
      { records },
      () => records.length ? records.map(formatAuditLine).join("\n") : "no audit records match",
    );
  } finally {
    store.close();
  }
}

/** `cmesh audit verify`: exit 1 and name the first broken record when the chain is broken. */
export async function auditVerify(opts: CommonOptions): Promise<void> {
  const store = await openStateStore(opts);
  let report;
  try {
    report = verifyAudit(store);
  } finally {
    store.close();
  }
  if (!report.ok) {
    const bad = report.first_bad!;
    throw new CliError(
      `audit chain broken at record #${bad.seq}: ${bad.problem}: ${bad.detail} (${report.count} records checked)`,
      EXIT.FAILURE,
      "audit_broken",
      { report },
    );
  }
  emit(opts, report, () => `audit chain ok: ${report.count} records, head ${report.head_hash}`);
}

/** `cmesh audit export --format jsonl`: every record, one JSON object per line, on stdout. */
export async function auditExport(opts: CommonOptions & { format?: string }): Promise<void> {
  if ((opts.format ?? "jsonl") !== "jsonl") {
    throw new CliError(`--format must be jsonl, got "${opts.format}"`, EXIT.USAGE, "usage");
  }
  const store = await openStateStore(opts);
  const enc = new TextEncoder();
  try {
    const out = exportAuditJsonl(
      store,
      (line) => Deno.stdout.writeSync(enc.encode(line.endsWith("\n") ? line : line + "\n")),
    );
    console.error(`exported ${out.count} records; head hash ${out.head_hash}`);
  } finally {
    store.close();
  }
}
