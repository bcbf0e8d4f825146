/**
 * @module
 * Making text survive a round trip through `node:sqlite`.
 *
 * Two things change text on the way: SQLite stores UTF-8, so a lone UTF-16 surrogate becomes
 * U+FFFD; and Deno's `node:sqlite` reads a TEXT value only up to its first NUL character
 * (the bytes after it are stored but never come back). Free text (prompts, event text, audit
 * reasons) is therefore normalised before it is stored, so what is read back, and what the
 * audit hash covers, is exactly what was written. Identifiers must not be changed silently
 * (a lookup would then miss), so a NUL in one is refused instead.
 *
 * @example
 * ```ts
 * import { storableText } from "./text.ts";
 * storableText("a\u0000b"); // "a\uFFFDb"
 * ```
 */

/** `text` with lone surrogates and NUL characters replaced by U+FFFD. */
export function storableText(text: string): string {
  const wellFormed = text.toWellFormed();
  return wellFormed.includes("\0") ? wellFormed.replaceAll("\0", "\uFFFD") : wellFormed;
}

/** Like {@link storableText}, for optional values. */
export function storableTextOrNull(text: string | null | undefined): string | null {
  return text == null ? null : storableText(text);
}

/**
 * Throws when an identifier contains a NUL character (it could not be read back).
 *
 * @throws {RangeError} naming the field.
 */
export function assertNoNul(field: string, value: string | null | undefined): void {
  if (value != null && value.includes("\0")) {
    throw new RangeError(`${field} must not contain a NUL character`);
  }
}
