/**
 * @module
 * The store layer in one import: open the database, tasks (both directions), events,
 * results, and the hash-chained audit log.
 *
 * @example
 * ```ts
 * import { openStore, verifyAudit } from "./mod.ts";
 * using store = openStore("/var/lib/cmesh/cmesh.db");
 * const report = verifyAudit(store);
 * ```
 */
export { openStore, type Store, type StoreOptions } from "./db.ts";
export { StoreError, type StoreErrorCode } from "./errors.ts";
export { LATEST_SCHEMA_VERSION } from "./migrations.ts";
export { requestHash, sha256Hex } from "./hash.ts";
export * from "./tasks.ts";
export * from "./pins.ts";
export {
  appendAudit,
  AUDIT_GENESIS_HASH,
  type AuditQuery,
  auditRecordHash,
  exportAuditJsonl,
  listAudit,
  verifyAudit,
} from "./audit.ts";
export type { VerifyOptions } from "./audit_verify.ts";
export {
  AuditActor,
  AuditDecision,
  AuditInput,
  AuditProblem,
  AuditRecord,
  VerifyReport,
} from "./audit_schema.ts";
