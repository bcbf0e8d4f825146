/**
 * @module
 * The one error type the store throws for problems a user can act on: a corrupt or foreign
 * database file, a database written by a newer cmesh, a lock held too long, a missing task.
 *
 * @example
 * ```ts
 * import { StoreError } from "./errors.ts";
 * try {
 *   // openStore(path)
 * } catch (e) {
 *   if (e instanceof StoreError && e.code === "too_new") console.error(e.message);
 * }
 * ```
 */
import { CmeshError } from "../protocol/errors.ts";

/** What went wrong, for callers that branch on it (CLI exit codes, `doctor`). */
export type StoreErrorCode =
  /** Not an SQLite file, damaged, or an SQLite file that some other program made. */
  | "corrupt"
  /** `user_version` is higher than the migrations this build knows. */
  | "too_new"
  /** Another connection held the write lock for longer than the busy timeout. */
  | "busy"
  /** The file or its directory could not be opened or created. */
  | "open_failed"
  /** A migration failed; the transaction was rolled back. */
  | "migration_failed"
  /** A task (or other row) that the call needs does not exist. */
  | "not_found";

/** A store failure with a message that says which file and what to do. */
export class StoreError extends CmeshError<StoreErrorCode> {
  /**
   * @param code Machine-readable kind of failure.
   * @param path The database file concerned.
   * @param message Full human message (already names the path).
   * @param options `cause` carries the underlying SQLite error, if any.
   */
  constructor(
    code: StoreErrorCode,
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** The SQLite result code of a `node:sqlite` error (`errcode`), or `undefined`. */
export function sqliteErrcode(e: unknown): number | undefined {
  if (typeof e === "object" && e !== null && "errcode" in e) {
    const code = (e as { errcode: unknown }).errcode;
    return typeof code === "number" ? code : undefined;
  }
  return undefined;
}

/** SQLite primary result codes the store reacts to. Extended codes keep these in the low byte. */
export const SQLITE = {
  BUSY: 5,
  LOCKED: 6,
  READONLY: 8,
  IOERR: 10,
  CORRUPT: 11,
  FULL: 13,
  CANTOPEN: 14,
  NOTADB: 26,
} as const;

// `DatabaseSync.exec` errors carry no `errcode` in Deno 2.9 (prepared statements' do), so the
// SQLite message text is the fallback. These texts are fixed by sqlite3ErrStr().
function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : "";
}

/** True when `e` is SQLITE_BUSY / SQLITE_LOCKED (also their extended codes). */
export function isBusy(e: unknown): boolean {
  const c = sqliteErrcode(e);
  if (c !== undefined) return (c & 0xff) === SQLITE.BUSY || (c & 0xff) === SQLITE.LOCKED;
  return /^database (table )?is locked/.test(messageOf(e));
}

/** True when `e` says the file is not a database or is damaged. */
export function isCorrupt(e: unknown): boolean {
  const c = sqliteErrcode(e);
  if (c !== undefined) return (c & 0xff) === SQLITE.CORRUPT || (c & 0xff) === SQLITE.NOTADB;
  return /^(file is not a database|database disk image is malformed)/.test(messageOf(e));
}

/**
 * Why the database cannot take writes right now (disk full, read-only file system, I/O error),
 * as SQLite says it, or null for any other error. The write was rolled back: nothing was
 * recorded, and the store works again once the cause is gone.
 *
 * @example
 * ```ts
 * storageProblem(new Error("database or disk is full")); // "database or disk is full"
 * ```
 */
export function storageProblem(e: unknown): string | null {
  const c = sqliteErrcode(e);
  const codes: number[] = [SQLITE.READONLY, SQLITE.IOERR, SQLITE.FULL, SQLITE.CANTOPEN];
  if (c !== undefined) return codes.includes(c & 0xff) ? messageOf(e) || `SQLite error ${c}` : null;
  const m = messageOf(e);
  return /^(database or disk is full|attempt to write a readonly database|disk I\/O error|unable to open database file)/
      .test(m)
    ? m
    : null;
}

/** The error for a database whose schema is newer than this build. Nothing was changed. */
export function tooNewError(path: string, found: number, known: number): StoreError {
  return new StoreError(
    "too_new",
    path,
    `${path} was written by a newer cmesh (schema ${found}, this build knows ${known}): ` +
      `upgrade cmesh; nothing was changed`,
  );
}

/** The error for a file that is not a cmesh database. Nothing was changed. */
export function corruptError(path: string, why: string, cause?: unknown): StoreError {
  return new StoreError(
    "corrupt",
    path,
    `${path} is not a cmesh database or is corrupt (${why}): move it aside and restart; ` +
      `nothing was changed`,
    { cause },
  );
}

/** The error for a write lock another process held past the busy timeout. */
export function busyError(path: string, timeoutMs: number, cause?: unknown): StoreError {
  return new StoreError(
    "busy",
    path,
    `${path} is locked by another process (waited ${timeoutMs} ms): ` +
      `retry, or check for a stuck cmesh process`,
    { cause },
  );
}
