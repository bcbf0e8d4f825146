/**
 * @module
 * A fixed-size ring buffer that keeps only the last N bytes written to it. Used for stderr
 * tails and for any output whose end matters more than its start: memory never exceeds the
 * capacity, however much is written.
 *
 * @example
 * ```ts
 * import { ByteTail } from "./byte_tail.ts";
 * const tail = new ByteTail(4);
 * tail.write(new TextEncoder().encode("hello world"));
 * tail.text(); // "orld"
 * tail.totalBytes; // 11
 * ```
 */

/** Keeps the last `capacity` bytes of everything written. */
export class ByteTail {
  readonly #ring: Uint8Array;
  #start = 0;
  #length = 0;
  #total = 0;

  /** @param capacity bytes kept (0 keeps nothing but still counts). */
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) {
      throw new RangeError(`ByteTail capacity must be a non-negative integer, got ${capacity}`);
    }
    this.#ring = new Uint8Array(capacity);
  }

  /** Bytes written in total (kept or not). */
  get totalBytes(): number {
    return this.#total;
  }

  /** Bytes currently kept (≤ capacity). */
  get keptBytes(): number {
    return this.#length;
  }

  /** True when some written bytes were dropped. */
  get overflowed(): boolean {
    return this.#total > this.#length;
  }

  /** Appends `chunk`, dropping the oldest bytes beyond the capacity. */
  write(chunk: Uint8Array): void {
    this.#total += chunk.byteLength;
    const cap = this.capacity;
    if (cap === 0 || chunk.byteLength === 0) return;
    if (chunk.byteLength >= cap) {
      this.#ring.set(chunk.subarray(chunk.byteLength - cap));
      this.#start = 0;
      this.#length = cap;
      return;
    }
    let writeAt = (this.#start + this.#length) % cap;
    let offset = 0;
    while (offset < chunk.byteLength) {
      const n = Math.min(cap - writeAt, chunk.byteLength - offset);
      this.#ring.set(chunk.subarray(offset, offset + n), writeAt);
      offset += n;
      writeAt = (writeAt + n) % cap;
    }
    const newLength = this.#length + chunk.byteLength;
    if (newLength > cap) {
      this.#start = (this.#start + newLength - cap) % cap;
      this.#length = cap;
    } else {
      this.#length = newLength;
    }
  }

  /** A copy of the kept bytes, oldest first. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.#length);
    const firstPart = Math.min(this.#length, this.capacity - this.#start);
    out.set(this.#ring.subarray(this.#start, this.#start + firstPart));
    out.set(this.#ring.subarray(0, this.#length - firstPart), firstPart);
    return out;
  }

  /**
   * The kept bytes decoded as UTF-8. When older bytes were dropped, a multi-byte character cut
   * at the start is skipped instead of showing up as a replacement character.
   */
  text(): string {
    let bytes = this.bytes();
    if (this.overflowed) {
      let skip = 0;
      while (skip < 3 && skip < bytes.length && (bytes[skip] & 0xc0) === 0x80) skip++;
      bytes = bytes.subarray(skip);
    }
    return new TextDecoder().decode(bytes);
  }
}
