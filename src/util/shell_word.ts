/**
 * @module
 * Quoting for a POSIX shell (`sh -c` scripts the worker writes): one word, any bytes but NUL,
 * read back exactly as given.
 *
 * @example
 * ```ts
 * import { shellWord } from "./shell_word.ts";
 * shellWord("it's"); // "'it'\\''s'"
 * ```
 */

/**
 * `w` in single quotes (a `'` inside becomes `'\''`): the shell reads it as one word, unchanged.
 *
 * @example
 * ```ts
 * shellWord("a b"); // "'a b'"
 * ```
 */
export function shellWord(w: string): string {
  return `'${w.replaceAll("'", `'\\''`)}'`;
}

/** A POSIX shell variable name: the only kind `unset` and `export` take. */
export const SHELL_NAME: RegExp = /^[A-Za-z_][A-Za-z0-9_]*$/;
