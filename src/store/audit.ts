/**
 * @module
 * The tamper-evident audit log: append-only, hash-chained records in the `audit` table.
 *
 * Each record's `hash` is `sha256_hex(canonicalJson({seq, at, kind, task_id, actor, decision,
 * rule, reason, data, prev_hash}))` and its `prev_hash` is the hash of the record before (64
 * zeros for the first). Hashing is synchronous, so a record is appended in the same
 * {@link Store.transaction} as the state change it records: both land, or neither does.
 *
 * What the chain can and cannot show: `verifyAudit` (`audit_verify.ts`) finds an edited, deleted, reordered
 * or inserted record and names the first one, unless whoever changed the file also recomputed
 * every hash after the change. Removing records from the end, or rewriting everything from
 * some record on, leaves a valid (shorter or different) chain: only a `head_hash` kept
 * somewhere else (printed by `verify` and `export`) shows that.
 *
 * @example
 * ```ts
 * import { appendAudit } from "./audit.ts";
 * import { verifyAudit } from "./audit_verify.ts";
 * import { openStore } from "./db.ts";
 * import { updateTaskState } from "./tasks.ts";
 * using store = openStore("/var/lib/cmesh/cmesh.db");
 * const id = "t_0123456789";
 * store.transaction(() => {
 *   updateTaskState(store, "inbound", id, "cancelled");
 *   appendAudit(store, { kind: "task.cancel", task_id: id, actor: { local: "cli" } });
 * });
 * verifyAudit(store); // { ok: true, count: 1, head_hash: "..." }
 * ```
 */
import type { SQLInputValue } from "node:sqlite";
import { canonicalJson } from "../util/canonical_json.ts";
import type { Store } from "./db.ts";
import { storableText, storableTextOrNull } from "./text.ts";
import { AUDIT_COLUMNS, type AuditRow, auditRowHash } from "./audit_chain.ts";
import {
  AUDIT_GENESIS_HASH,
  type AuditDecision,
  AuditInput,
  type AuditRecord,
} from "./audit_schema.ts";

export { auditRecordHash } from "./audit_chain.ts";
export { AUDIT_GENESIS_HASH } from "./audit_schema.ts";
export type { AuditInput, AuditRecord, VerifyReport } from "./audit_schema.ts";

/**
 * Appends one record. Works inside a caller's {@link Store.transaction} (the record then
 * commits or rolls back with the caller's writes) and outside one (it wraps itself).
 *
 * @param input `kind` plus optional `task_id`, `actor`, `decision`, `rule`, `reason`, `data`.
 * @returns The stored record, with `seq`, `at`, `prev_hash` and `hash`.
 * @throws {z.ZodError} when `input` has the wrong shape.
 * @throws {TypeError} when `actor` or `data` holds something that is not JSON data (NaN...).
 *
 * @example
 * ```ts
 * import type { Store } from "./db.ts";
 * declare const store: Store;
 * appendAudit(store, {
 *   kind: "task.decision", task_id: "t_0123456789", actor: { node: "laptop" }, decision: "deny",
 *   rule: "inbound.allow[0].profile", reason: "profile build is not allowed for this peer",
 * });
 * ```
 */
export function appendAudit(store: Store, input: AuditInput): AuditRecord {
  const parsed = AuditInput.parse(input);
  const actor = parsed.actor == null ? null : canonicalJson(parsed.actor);
  const data = parsed.data == null ? null : canonicalJson(parsed.data);
  return store.transaction(() => {
    const head = store.prepare("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").get() as
      | { seq: number; hash: string }
      | undefined;
    const row: AuditRow = {
      seq: head ? head.seq + 1 : 1,
      at: store.now(),
      // Hash exactly what will be read back (see text.ts).
      kind: storableText(parsed.kind),
      task_id: storableTextOrNull(parsed.task_id),
      actor,
      decision: parsed.decision ?? null,
      rule: storableTextOrNull(parsed.rule),
      reason: storableTextOrNull(parsed.reason),
      data,
      prev_hash: head ? head.hash : AUDIT_GENESIS_HASH,
      hash: "",
    };
    row.hash = auditRowHash(row);
    store.prepare(`INSERT INTO audit (${AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(
        row.seq,
        row.at,
        row.kind,
        row.task_id,
        row.actor,
        row.decision,
        row.rule,
        row.reason,
        row.data,
        row.prev_hash,
        row.hash,
      );
    return rowToRecord(row);
  });
}

/** Filters for {@link listAudit}. */
export interface AuditQuery {
  /** Only records about this task. */
  taskId?: string;
  /** Only records at or after this ISO time. */
  since?: string;
  /** Only records with `seq` greater than this (for paging forwards). */
  afterSeq?: number;
  /** Default 100. */
  limit?: number;
  /** Latest first (for "show me the last N"). Default: oldest first. */
  newestFirst?: boolean;
}

/**
 * Records matching `query`.
 *
 * @example
 * ```ts
 * import type { Store } from "./db.ts";
 * declare const store: Store;
 * listAudit(store, { taskId: "t_0123456789", limit: 50 });
 * listAudit(store, { newestFirst: true, limit: 20 }); // the 20 latest
 * ```
 */
export function listAudit(store: Store, query: AuditQuery = {}): AuditRecord[] {
  const where: string[] = [];
  const args: SQLInputValue[] = [];
  const add = (condition: string, value: SQLInputValue | undefined) => {
    if (value === undefined) return;
    where.push(condition);
    args.push(value);
  };
  add("task_id = ?", query.taskId);
  add("at >= ?", query.since);
  add("seq > ?", query.afterSeq);
  args.push(Math.max(0, Math.floor(query.limit ?? 100)));
  const sql = `SELECT ${AUDIT_COLUMNS} FROM audit ` +
    (where.length ? `WHERE ${where.join(" AND ")} ` : "") +
    `ORDER BY seq ${query.newestFirst ? "DESC" : "ASC"} LIMIT ?`;
  return (store.prepare(sql).all(...args) as unknown as AuditRow[]).map(rowToRecord);
}

/**
 * Writes every record, oldest first, as one JSON line each (no trailing newline in `line`),
 * iterating the table rather than loading it. Each line parses as an `AuditRecord`.
 *
 * @param write Called once per record, e.g. `(l) => file.writeSync(enc.encode(l + "\n"))`.
 * @returns How many lines were written and the hash of the last record (to anchor elsewhere).
 *
 * @example
 * ```ts
 * import type { Store } from "./db.ts";
 * declare const store: Store;
 * const lines: string[] = [];
 * const { count, head_hash } = exportAuditJsonl(store, (l) => lines.push(l));
 * ```
 */
export function exportAuditJsonl(
  store: Store,
  write: (line: string) => void,
): { count: number; head_hash: string } {
  let count = 0;
  let head = AUDIT_GENESIS_HASH;
  // A statement of its own (not the cached one): a nested export must not reset it.
  const stmt = store.db.prepare(`SELECT ${AUDIT_COLUMNS} FROM audit ORDER BY seq`);
  for (const row of stmt.iterate() as Iterable<AuditRow>) {
    write(JSON.stringify(rowToRecord(row)));
    head = row.hash;
    count++;
  }
  return { count, head_hash: head };
}

function parseJsonColumn(text: string | null): Record<string, unknown> | null {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    // Only a hand-edited row gets here; verifyAudit reports it. Show what is stored.
    return { unparsable: text };
  }
}

/** Maps a stored row to an {@link AuditRecord} (parses `actor` and `data`). */
export function rowToRecord(row: AuditRow): AuditRecord {
  return {
    seq: row.seq,
    at: row.at,
    kind: row.kind,
    task_id: row.task_id,
    actor: parseJsonColumn(row.actor),
    decision: row.decision as AuditDecision | null,
    rule: row.rule,
    reason: row.reason,
    data: parseJsonColumn(row.data),
    prev_hash: row.prev_hash,
    hash: row.hash,
  };
}
