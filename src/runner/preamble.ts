/**
 * @module
 * A run's stdout may begin with a preamble: bytes a wrapper inside the sandbox printed before it
 * `exec`ed the runner (the git snapshot taken in the run's own sandbox start, see evidence.ts).
 * It ends with `\0<boundary> <exit code>\0`, the boundary random per run and gone from the
 * process (the wrapper holds it in a shell variable, not in the runner's argv or environment)
 * before the runner starts. Nothing the runner prints can land before the end mark, so the
 * preamble is the wrapper's alone.
 *
 * @example
 * ```ts
 * import { readPreamble } from "./preamble.ts";
 * const out = ReadableStream.from([new TextEncoder().encode("snap\0b0b0 0\0runner says hi\n")]);
 * const p = await readPreamble(out.values(), "b0b0", { marks: 1, maxBytes: 1024 });
 * // p.body = "snap\0b0b0 0\0" (bytes), p.rest = "runner says hi\n" (bytes)
 * ```
 */

/** What {@link readPreamble} read. */
export interface Preamble {
  /** The preamble's bytes up to and including its last end mark; null when it did not end (EOF) or was over the cap. */
  body: Uint8Array | null;
  /** Why `body` is null. */
  reason: string | null;
  /** Bytes read after the preamble (the runner's own output begins here). */
  rest: Uint8Array;
}

/**
 * Reads `chunks` (`util/byte_chunks.ts`; each is copied) until `marks` end marks with `boundary` have gone by. Past `maxBytes` the
 * preamble's bytes are dropped as they come (only the end marks are still looked for), so what the
 * runner prints afterwards is never taken for preamble, nor the preamble for the runner's. The
 * iterator stays usable for the rest of the stream.
 */
export async function readPreamble(
  chunks: AsyncIterator<Uint8Array>,
  boundary: string,
  opts: { marks: number; maxBytes: number },
): Promise<Preamble> {
  const mark = endMarkBytes(boundary);
  // A mark not yet whole lies in the last `longest` bytes; over the cap only those are kept.
  const longest = mark.length + 4;
  // Bytes so far in a buffer that doubles (no copy of everything per chunk).
  let data = new Uint8Array(64 * 1024);
  let len = 0;
  let searchFrom = 0;
  let seen = 0;
  let dropped = false;
  for (;;) {
    const buf = data.subarray(0, len);
    for (
      let m = findEndMark(buf, mark, searchFrom);
      m !== null;
      m = findEndMark(buf, mark, searchFrom)
    ) {
      searchFrom = m.end;
      if (++seen === opts.marks) {
        return dropped
          ? { body: null, reason: `over ${opts.maxBytes} bytes`, rest: buf.slice(m.end) }
          : { body: buf.slice(0, m.end), reason: null, rest: buf.slice(m.end) };
      }
    }
    // Nothing whole before here is left to find: the next search starts where a mark may begin.
    searchFrom = Math.max(searchFrom, len - longest);
    if (len > opts.maxBytes) {
      dropped = true;
      data.copyWithin(0, searchFrom, len);
      len -= searchFrom;
      searchFrom = 0;
    }
    let chunk: IteratorResult<Uint8Array>;
    try {
      chunk = await chunks.next();
    } catch {
      chunk = { done: true, value: undefined };
    }
    if (chunk.done || !chunk.value) {
      return {
        body: null,
        reason: "the output ended before the snapshot did",
        rest: new Uint8Array(0),
      };
    }
    if (len + chunk.value.length > data.length) {
      const grown = new Uint8Array(Math.max(data.length * 2, len + chunk.value.length));
      grown.set(data.subarray(0, len));
      data = grown;
    }
    data.set(chunk.value, len);
    len += chunk.value.length;
  }
}

/**
 * The start of the end mark for `boundary` (`\0<boundary> `), as {@link findEndMark} takes it.
 *
 * @example
 * ```ts
 * endMarkBytes("b0b0"); // the bytes of "\0b0b0 "
 * ```
 */
export function endMarkBytes(boundary: string): Uint8Array {
  return new TextEncoder().encode(`\0${boundary} `);
}

/**
 * The first whole end mark (`\0<boundary> <exit code>\0`) in `buf` at or after `from`: where it
 * starts, where the bytes after it start, and the exit code it carries; null when there is none
 * (yet).
 *
 * @example
 * ```ts
 * const buf = new TextEncoder().encode("out\0b0b0 1\0");
 * findEndMark(buf, endMarkBytes("b0b0")); // { at: 3, end: 11, code: 1 }
 * ```
 */
export function findEndMark(
  buf: Uint8Array,
  mark: Uint8Array,
  from = 0,
): { at: number; end: number; code: number } | null {
  for (let i = buf.indexOf(0, from); i >= 0; i = buf.indexOf(0, i + 1)) {
    if (i + mark.length > buf.length) return null;
    let j = 1;
    while (j < mark.length && buf[i + j] === mark[j]) j++;
    if (j < mark.length) continue;
    const close = buf.indexOf(0, i + mark.length);
    if (close < 0) return null;
    const digits = new TextDecoder().decode(buf.subarray(i + mark.length, close));
    if (!/^\d{1,3}$/.test(digits)) continue;
    return { at: i, end: close + 1, code: Number(digits) };
  }
  return null;
}
