/**
 * @module
 * UTF-8 helpers that avoid allocating an encoded copy just to measure a string.
 *
 * @example
 * ```ts
 * import { utf8ByteLength } from "./utf8.ts";
 * utf8ByteLength("é€"); // 5
 * ```
 */

/**
 * The number of bytes `text` takes as UTF-8 (lone surrogates count as the 3-byte U+FFFD that
 * `TextEncoder` would write).
 *
 * @example
 * ```ts
 * utf8ByteLength("abc"); // 3
 * ```
 */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    } else bytes += 3;
  }
  return bytes;
}
