/**
 * @module
 * The hash of one audit record, computed without re-parsing JSON.
 *
 * The specified hash is `sha256_hex(canonicalJson({seq, at, kind, task_id, actor, decision,
 * rule, reason, data, prev_hash}))`. The store keeps `actor` and `data` as their canonical JSON
 * text, so the canonical text of the whole record is a fixed concatenation: keys in sorted
 * order, strings through `JSON.stringify`, `actor`/`data` pasted in as stored. This is what
 * makes verifying a million records cheap. It is equal to the specified formula as long as
 * the stored `actor`/`data` are canonical JSON text, which `appendAudit` guarantees; stored
 * text that was changed by hand (even to an equivalent JSON spelling) no longer hashes to the
 * stored hash, and counts as edited. The verifier also requires `actor`/`data` to be valid
 * JSON, so bytes cannot be shifted from one field into another without changing the hash.
 *
 * @example
 * ```ts
 * import { auditHashInput } from "./audit_chain.ts";
 * auditHashInput({ seq: 1, at: "2026-01-01T00:00:00.000Z", kind: "config.change", task_id: null,
 *   actor: null, decision: null, rule: null, reason: null, data: '{"k":1}', prev_hash: "0".repeat(64) });
 * ```
 */
import { canonicalJson } from "../util/canonical_json.ts";
import type { AuditRecord } from "./audit_schema.ts";
import { sha256Hex } from "./hash.ts";

/** An audit row as stored: `actor` and `data` are canonical JSON text (or `null`). */
export interface AuditRow {
  seq: number;
  at: string;
  kind: string;
  task_id: string | null;
  actor: string | null;
  decision: string | null;
  rule: string | null;
  reason: string | null;
  data: string | null;
  prev_hash: string;
  hash: string;
}

/** The columns of `audit`, in the order the verifier reads them. */
export const AUDIT_COLUMNS =
  "seq, at, kind, task_id, actor, decision, rule, reason, data, prev_hash, hash";

function str(v: unknown): string {
  // Columns read back from a tampered table may hold other types; any of them must still
  // give *some* text (that will not match the hash) rather than throw.
  if (v === null || v === undefined) return "null";
  return JSON.stringify(typeof v === "string" ? v : String(v));
}

function raw(v: unknown): string {
  if (v === null || v === undefined) return "null";
  return typeof v === "string" ? v : JSON.stringify(String(v));
}

/**
 * The canonical JSON text whose SHA-256 is the record's hash, from stored column values.
 *
 * @example
 * ```ts
 * import { sha256Hex } from "./hash.ts";
 * declare const row: AuditRow;
 * sha256Hex(auditHashInput(row)) === row.hash; // an untouched row
 * ```
 */
export function auditHashInput(row: Omit<AuditRow, "hash">): string {
  return `{"actor":${raw(row.actor)},"at":${str(row.at)},"data":${raw(row.data)},` +
    `"decision":${str(row.decision)},"kind":${str(row.kind)},"prev_hash":${str(row.prev_hash)},` +
    `"reason":${str(row.reason)},"rule":${str(row.rule)},"seq":${Number(row.seq)},` +
    `"task_id":${str(row.task_id)}}`;
}

/**
 * The same text as {@link auditHashInput}, built by SQLite from an `audit` row, or NULL when a
 * column holds something `appendAudit` never writes (a BLOB or number in a text column,
 * `actor`/`data` that is not valid JSON). `json_quote` writes strings the way `JSON.stringify`
 * does for the text the store writes (well-formed, no NUL: see text.ts). The verifier hashes
 * this, so a row crosses into JavaScript as one string instead of eleven values, and so that
 * bytes JavaScript cannot see (text after a NUL) are still covered.
 */
export const AUDIT_HASH_INPUT_SQL: string = (() => {
  const q = (column: string) => `coalesce(json_quote(${column}), 'null')`;
  const raw = (column: string) => `coalesce(${column}, 'null')`;
  const text = `'{"actor":' || ${raw("actor")} || ',"at":' || ${q("at")} || ` +
    `',"data":' || ${raw("data")} || ',"decision":' || ${q("decision")} || ` +
    `',"kind":' || ${q("kind")} || ',"prev_hash":' || ${q("prev_hash")} || ` +
    `',"reason":' || ${q("reason")} || ',"rule":' || ${q("rule")} || ` +
    `',"seq":' || seq || ',"task_id":' || ${q("task_id")} || '}'`;
  const textColumns = ["at", "kind", "task_id", "actor", "decision", "rule", "reason", "data"];
  const typed = textColumns.map((c) => `typeof(${c}) IN ('text', 'null')`).join(" AND ");
  return `CASE WHEN ${typed} AND json_valid(actor) IS NOT 0 AND json_valid(data) IS NOT 0 ` +
    `AND typeof(prev_hash) = 'text' THEN ${text} END`;
})();

/** SHA-256 hex of {@link auditHashInput}. */
export function auditRowHash(row: Omit<AuditRow, "hash">): string {
  return sha256Hex(auditHashInput(row));
}

/**
 * The hash of a parsed record (e.g. one line of an export), computed straight from the
 * specified formula with {@link canonicalJson}. Use it to check an export offline.
 *
 * @example
 * ```ts
 * import { AuditRecord } from "./audit_schema.ts";
 * declare const line: string; // one line of `cmesh audit export`
 * const rec = AuditRecord.parse(JSON.parse(line));
 * auditRecordHash(rec) === rec.hash; // true for an untouched record
 * ```
 */
export function auditRecordHash(record: Omit<AuditRecord, "hash">): string {
  const { seq, at, kind, task_id, actor, decision, rule, reason, data, prev_hash } = record;
  return sha256Hex(
    canonicalJson({ seq, at, kind, task_id, actor, decision, rule, reason, data, prev_hash }),
  );
}
