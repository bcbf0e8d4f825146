/**
 * @module
 * zod schemas for the audit log: one stored record (the source of
 * `schemas/audit-record.json`, and the shape of each `cmesh audit export` line), the input to
 * an append, and the report of a verification.
 *
 * @example
 * ```ts
 * import { AuditRecord } from "./audit_schema.ts";
 * const text = await Deno.readTextFile("audit.jsonl");
 * for (const line of text.split("\n").filter(Boolean)) AuditRecord.parse(JSON.parse(line));
 * ```
 */
import { z } from "../deps/zod.ts";
import type { QuotedRule, RuleId } from "../protocol/rules.ts";

/** `prev_hash` of the first record: 64 zeros. Also the head of an empty log. */
export const AUDIT_GENESIS_HASH = "0".repeat(64);

/** A lower-case hex SHA-256. */
export const AuditHash = z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lower-case hex digits");

/**
 * Who did it, as a JSON object. By convention: for a peer, the whois identity
 * `{node, stable_id, login, tags}`; for a local caller, `{local: "cli" | "mcp", user}`.
 */
export const AuditActor = z.record(z.string(), z.unknown());
/** An actor. */
export type AuditActor = z.infer<typeof AuditActor>;

/** A policy decision, when the record is one. */
export const AuditDecision = z.enum(["allow", "deny"]);
/** A decision. */
export type AuditDecision = z.infer<typeof AuditDecision>;

/**
 * One audit record as stored and exported. `hash` is
 * `sha256_hex(canonicalJson({seq, at, kind, task_id, actor, decision, rule, reason, data,
 * prev_hash}))` and `prev_hash` is the previous record's `hash`.
 */
export const AuditRecord = z.strictObject({
  seq: z.int().positive(),
  at: z.string(),
  /** Free string, e.g. `task.decision`, `task.start`, `task.finish`, `config.change`. */
  kind: z.string().min(1),
  task_id: z.string().nullable(),
  actor: AuditActor.nullable(),
  decision: AuditDecision.nullable(),
  /** The policy rule that decided, e.g. `inbound.allow[2]`. */
  rule: z.string().nullable(),
  reason: z.string().nullable(),
  data: z.record(z.string(), z.unknown()).nullable(),
  prev_hash: AuditHash,
  hash: AuditHash,
});
/** An audit record. */
export type AuditRecord = z.infer<typeof AuditRecord>;

/** What a caller gives `appendAudit`; the store adds seq, at and the hashes. */
export const AuditInput = z.strictObject({
  kind: z.string().min(1),
  task_id: z.string().nullish(),
  actor: AuditActor.nullish(),
  decision: AuditDecision.nullish(),
  rule: z.string().nullish(),
  reason: z.string().nullish(),
  data: z.record(z.string(), z.unknown()).nullish(),
});
/**
 * An append input. Its `rule` is one of `protocol/rules.ts` or a peer's, quoted, so a misspelt
 * rule fails `deno check`; a record read back has the plain string.
 */
export type AuditInput = Omit<z.input<typeof AuditInput>, "rule"> & {
  rule?: RuleId | QuotedRule | null;
};

/**
 * How the chain is broken at the first bad record:
 * - `edited`: a record's content no longer matches its hash, or was rewritten with a new hash;
 * - `deleted`: records are missing (a gap in `seq`, or later records renumbered to hide it);
 * - `reordered`: records were moved, e.g. `seq` values swapped;
 * - `inserted`: a record that is not part of the original chain was added.
 */
export const AuditProblem = z.enum(["edited", "deleted", "reordered", "inserted"]);
/** A problem kind. */
export type AuditProblem = z.infer<typeof AuditProblem>;

/** The result of verifying the whole log. */
export const VerifyReport = z.strictObject({
  /** True when every record hashes correctly and links to the one before. */
  ok: z.boolean(),
  /** Records in the log. */
  count: z.int().nonnegative(),
  /** The hash of the last record (genesis hash when empty). Keep it elsewhere to anchor the log. */
  head_hash: AuditHash,
  /** The first broken place: its `seq` (in the numbering the original chain had) and why. */
  first_bad: z.strictObject({
    seq: z.int(),
    problem: AuditProblem,
    detail: z.string(),
  }).optional(),
});
/** A verification report. */
export type VerifyReport = z.infer<typeof VerifyReport>;
