/**
 * @module
 * Verifying the audit chain and, when it is broken, saying where and how.
 *
 * One pass reads the records in `seq` order and checks, for each: its content hashes to its
 * `hash`; its `seq` is one more than the previous record's; its `prev_hash` is the previous
 * record's `hash`. The first record that fails is then diagnosed with a few extra queries:
 *
 * | What was done (e.g. with the sqlite3 CLI)              | Reported                         |
 * |--------------------------------------------------------|----------------------------------|
 * | `UPDATE` a field                                       | `edited` at that seq             |
 * | `UPDATE` a field and recompute that record's hash      | `edited` at that seq (the next record still links to the old hash) |
 * | `DELETE` a record                                      | `deleted` at the missing seq     |
 * | `DELETE` and renumber later records to close the gap   | `deleted` at the first missing seq (a renumbered record hashes correctly only with its old seq) |
 * | swap the `seq` of two records                          | `reordered` at the first moved seq (its `prev_hash` is the hash of a record that comes later) |
 * | `INSERT` a forged record, renumbering later ones       | `inserted` at the forged seq (the next original record hashes with its old seq, or links past the forged one) |
 * | `INSERT` a record at a free seq before 1               | `inserted` at that seq           |
 *
 * Hashes are checked over the canonical text SQLite builds from each row
 * (`AUDIT_HASH_INPUT_SQL`), read in pages of array rows: 1M records verify in about 3.5 s.
 * The old `seq` of a renumbered record is found by trying nearby values (up to `maxShift`,
 * default 10000, either way). Undetectable without an outside anchor: removing records from
 * the end, appending well-formed forged records, or rewriting the whole chain from some point
 * on. `head_hash` is the anchor: keep a copy elsewhere and compare.
 *
 * @example
 * ```ts
 * import { verifyAudit } from "./audit_verify.ts";
 * import { openStore } from "./db.ts";
 * using store = openStore("/var/lib/cmesh/cmesh.db");
 * const report = verifyAudit(store);
 * if (!report.ok) console.error(`seq ${report.first_bad!.seq}: ${report.first_bad!.problem}`);
 * ```
 */
import type { StatementSync } from "node:sqlite";
import type { Store } from "./db.ts";
import { AUDIT_HASH_INPUT_SQL } from "./audit_chain.ts";
import { AUDIT_GENESIS_HASH, type VerifyReport } from "./audit_schema.ts";
import { createHash } from "node:crypto";

/**
 * SHA-256 in hex with `node:crypto`'s native code: a verification hashes every record, where it is
 * several times faster than the pure-JavaScript hash the daemons append with (`hash.ts`; the
 * same function, tests/store/hash_test.ts checks they agree).
 */
function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

type FirstBad = NonNullable<VerifyReport["first_bad"]>;

/** What the verifier reads of a record: SQLite builds the hash input (see audit_chain.ts). */
interface ChainRow {
  seq: number;
  prev_hash: string;
  hash: string;
  /** The canonical text the hash covers, or null when a column has an impossible value. */
  input: string | null;
}
type PageRow = [seq: number, prev_hash: string, hash: string, input: string | null];

const SELECT = `SELECT seq, prev_hash, hash, ${AUDIT_HASH_INPUT_SQL} AS input FROM audit`;
const PAGE = 2000;

/** Options for {@link verifyAudit}. */
export interface VerifyOptions {
  /** How far a renumbered record's original seq is searched for, either way. Default 10000. */
  maxShift?: number;
}

/**
 * Verifies the whole audit log.
 *
 * @returns `ok`, the record count, the head hash, and the first broken place if any.
 *
 * @example
 * ```ts
 * import type { Store } from "./db.ts";
 * declare const store: Store;
 * const { ok, count, head_hash, first_bad } = verifyAudit(store);
 * ```
 */
export function verifyAudit(store: Store, opts: VerifyOptions = {}): VerifyReport {
  const maxShift = opts.maxShift ?? 10000;
  const db = store.db;
  // One read transaction, so the whole pass sees one snapshot while others keep appending.
  const ownSnapshot = !db.isTransaction;
  if (ownSnapshot) db.exec("BEGIN");
  try {
    return verifyPages(store, maxShift);
  } finally {
    if (ownSnapshot && db.isTransaction) db.exec("COMMIT");
  }
}

function verifyPages(store: Store, maxShift: number): VerifyReport {
  // Pages of `all()` with array rows, and the hash input built by SQLite: about twice as fast
  // as `iterate()` over object rows (moving rows into JavaScript is the main cost, not SHA-256).
  const first = arrays(store.db.prepare(`${SELECT} ORDER BY seq LIMIT ?`));
  const next = arrays(store.db.prepare(`${SELECT} WHERE seq > ? ORDER BY seq LIMIT ?`));
  let prevSeq = 0;
  let prevHash = AUDIT_GENESIS_HASH;
  let count = 0;
  let pageSize = PAGE;
  for (;;) {
    let rows: PageRow[];
    try {
      rows =
        (count === 0 ? first.all(pageSize) : next.all(prevSeq, pageSize)) as unknown as PageRow[];
    } catch (e) {
      // A value SQLite holds but JavaScript cannot (a seq beyond 2^53), set by hand. Read one
      // row at a time to get as close to it as possible, then report it.
      if (pageSize > 1) {
        pageSize = 1;
        continue;
      }
      return { ...totals(store), ok: false, first_bad: unreadable(store, prevSeq, count, e) };
    }
    if (rows.length === 0) return { ok: true, count, head_hash: prevHash };
    for (const [seq, prev, hash, input] of rows) {
      if (
        seq !== prevSeq + 1 || prev !== prevHash || input === null || sha256Hex(input) !== hash
      ) {
        const p = { seq: prevSeq, hash: prevHash };
        const r = { seq, prev_hash: prev, hash, input };
        return { ...totals(store), ok: false, first_bad: diagnose(store, p, r, maxShift) };
      }
      prevSeq = seq;
      prevHash = hash;
      count++;
    }
  }
}

/** Marks `stmt` to return rows as arrays (in Deno 2.9's node:sqlite, missing from its types). */
function arrays(stmt: StatementSync): StatementSync {
  (stmt as StatementSync & { setReturnArrays(enabled: boolean): void }).setReturnArrays(true);
  return stmt;
}

function totals(store: Store): { count: number; head_hash: string } {
  const row = store.db.prepare(
    "SELECT count(*) AS n, (SELECT hash FROM audit ORDER BY seq DESC LIMIT 1) AS head FROM audit",
  ).get() as { n: number; head: unknown };
  return {
    count: Number(row.n),
    head_hash: row.head == null ? AUDIT_GENESIS_HASH : String(row.head),
  };
}

function unreadable(store: Store, prevSeq: number, count: number, e: unknown): FirstBad {
  const where = count === 0 ? "" : `WHERE seq > ${prevSeq}`;
  const row = store.db.prepare(
    `SELECT CAST(seq AS TEXT) AS seq FROM audit ${where} ORDER BY seq LIMIT 1`,
  ).get() as { seq: string } | undefined;
  return bad(
    prevSeq + 1,
    "edited",
    `the record after seq ${prevSeq} (stored seq ${row?.seq}) cannot be read: ` +
      `${(e as Error).message}`,
  );
}

/** True when `r`'s content hashes to its stored hash. */
function selfConsistent(r: ChainRow): boolean {
  return r.input !== null && sha256Hex(r.input) === r.hash;
}

/** `p` is the last record that checked out (seq 0 / genesis hash before the first). */
function diagnose(
  store: Store,
  p: { seq: number; hash: string },
  r: ChainRow,
  maxShift: number,
): FirstBad {
  if (r.seq <= p.seq) {
    return bad(r.seq, "inserted", `seq ${r.seq} comes before seq 1, where the chain starts`);
  }
  const selfOk = selfConsistent(r);
  const gap = r.seq > p.seq + 1;
  const q = r.prev_hash === p.hash ? { seq: p.seq } : findByHash(store, r.prev_hash);

  if (q && q.seq > r.seq) {
    return bad(
      p.seq + 1,
      "reordered",
      `seq ${r.seq} links to seq ${q.seq}, which comes after it: records were moved`,
    );
  }
  if (selfOk) {
    if (gap) {
      return bad(
        p.seq + 1,
        "deleted",
        `${span(p.seq + 1, r.seq - 1)} ${is(p.seq + 1, r.seq - 1)} missing`,
      );
    }
    if (q && q.seq < p.seq) {
      return bad(
        q.seq + 1,
        "inserted",
        `seq ${r.seq} links to seq ${q.seq}, skipping ${span(q.seq + 1, p.seq)}, ` +
          `which ${is(q.seq + 1, p.seq)} not part of the original chain`,
      );
    }
    if (q && q.seq === r.seq) return bad(r.seq, "edited", `seq ${r.seq} links to itself`);
    if (p.seq === 0) {
      return bad(r.seq, "edited", "the first record does not start from the genesis hash");
    }
    return bad(
      p.seq,
      "edited",
      `seq ${p.seq} was rewritten and its hash recomputed: seq ${r.seq} still links to ` +
        `a hash that no record has (or seq ${r.seq} itself was forged)`,
    );
  }

  const o = originalSeq(r, q, maxShift);
  if (o === null) {
    if (gap) {
      return bad(
        p.seq + 1,
        "deleted",
        `${span(p.seq + 1, r.seq - 1)} ${is(p.seq + 1, r.seq - 1)} missing`,
      );
    }
    const next = nextRecord(store, r.seq);
    if (next && next.prev_hash === p.hash) {
      return bad(
        r.seq,
        "inserted",
        `seq ${r.seq} does not match its hash and seq ${next.seq} links past it to ` +
          `seq ${p.seq}: it is not part of the original chain`,
      );
    }
    return bad(r.seq, "edited", `seq ${r.seq} no longer matches its hash`);
  }
  if ((q && q.seq === p.seq) || o === p.seq + 1) {
    return bad(r.seq, "edited", `seq ${r.seq} was renumbered (it was seq ${o})`);
  }
  if (o > p.seq) {
    return bad(
      p.seq + 1,
      "deleted",
      `${span(p.seq + 1, o - 1)} ${
        is(p.seq + 1, o - 1)
      } missing: seq ${r.seq} was originally seq ${o}, ` +
        `later records were renumbered to close the gap`,
    );
  }
  return bad(
    o,
    "inserted",
    `seq ${r.seq} was originally seq ${o}: ${span(o, r.seq - 1)} ` +
      `${o === r.seq - 1 ? "was" : "were"} inserted before it`,
  );
}

function bad(seq: number, problem: FirstBad["problem"], detail: string): FirstBad {
  return { seq, problem, detail };
}

function span(from: number, to: number): string {
  return from === to ? `seq ${from}` : `seq ${from}..${to}`;
}

function is(from: number, to: number): string {
  return from === to ? "is" : "are";
}

/** Reads `seq` columns as BigInt, so a hand-set seq beyond 2^53 cannot make a lookup throw. */
function bigSeqs(stmt: StatementSync): StatementSync {
  stmt.setReadBigInts(true);
  return stmt;
}

function findByHash(store: Store, hash: string): { seq: number } | null {
  // No index on hash: a full scan, run at most once per verify, only when the chain is broken.
  const row = bigSeqs(store.db.prepare("SELECT seq FROM audit WHERE hash = ? ORDER BY seq LIMIT 1"))
    .get(hash) as { seq: bigint } | undefined;
  return row ? { seq: Number(row.seq) } : null;
}

function nextRecord(store: Store, seq: number): { seq: number; prev_hash: string } | null {
  const row = bigSeqs(store.db.prepare(
    "SELECT seq, prev_hash FROM audit WHERE seq > ? ORDER BY seq LIMIT 1",
  )).get(seq) as { seq: bigint; prev_hash: string } | undefined;
  return row ? { seq: Number(row.seq), prev_hash: row.prev_hash } : null;
}

/** The seq with which `r`'s content hashes to its stored hash, if a nearby one does. */
function originalSeq(r: ChainRow, q: { seq: number } | null, maxShift: number): number | null {
  if (r.input === null) return null;
  // The record's own seq is the last `,"seq":` in its canonical text: actor and data (raw
  // JSON, which may contain that key) come before it, and quoted strings escape their quotes.
  const at = r.input.lastIndexOf(',"seq":');
  const end = r.input.indexOf(",", at + 7);
  if (at < 0 || end < 0) return null;
  const before = r.input.slice(0, at + 7);
  const after = r.input.slice(end);
  const fits = (seq: number) => seq >= 1 && sha256Hex(before + seq + after) === r.hash;
  if (q && q.seq + 1 !== r.seq && fits(q.seq + 1)) return q.seq + 1;
  for (let d = 1; d <= maxShift; d++) {
    if (fits(r.seq - d)) return r.seq - d;
    if (fits(r.seq + d)) return r.seq + d;
  }
  return null;
}
