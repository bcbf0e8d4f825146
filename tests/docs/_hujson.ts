/**
 * @module
 * A small HuJSON ("human JSON", JSON with comments and trailing commas, the format of a
 * Tailscale policy file) reader for the example checks. It removes `//` and block comments
 * outside strings and commas before `}` or `]`, then hands the rest to `JSON.parse`, so any
 * other deviation from JSON is still an error.
 *
 * @example
 * ```ts
 * import { parseHuJson } from "./_hujson.ts";
 * parseHuJson('{ "a": [1, 2,], // two\n }'); // { a: [1, 2] }
 * ```
 */

/** Parses HuJSON text; throws a SyntaxError naming the problem. */
export function parseHuJson(text: string): unknown {
  return JSON.parse(standardize(text));
}

/** The same text as standard JSON: comments and trailing commas removed (strings untouched). */
export function standardize(text: string): string {
  return dropTrailingCommas(dropComments(text));
}

/**
 * Walks `text`, copying string literals as they are and handing every other position to
 * `step`, which appends what it keeps to `out` and returns the position to go on from.
 */
function outsideStrings(text: string, step: (i: number, out: string[]) => number): string {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === '"') {
      const end = stringEnd(text, i);
      out.push(text.slice(i, end));
      i = end;
    } else i = step(i, out);
  }
  return out.join("");
}

function dropComments(text: string): string {
  return outsideStrings(text, (i, out) => {
    if (text[i] === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      return i;
    }
    if (text[i] === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      if (end < 0) throw new SyntaxError(`unterminated /* comment at offset ${i}`);
      out.push(" ");
      return end + 2;
    }
    out.push(text[i]);
    return i + 1;
  });
}

/** Removes a comma followed only by whitespace and a closing `}` or `]`. */
function dropTrailingCommas(text: string): string {
  return outsideStrings(text, (i, out) => {
    if (text[i] === ",") {
      let j = i + 1;
      while (j < text.length && /\s/.test(text[j])) j++;
      if (text[j] === "}" || text[j] === "]") return i + 1;
    }
    out.push(text[i]);
    return i + 1;
  });
}

/** Index just after the string literal starting at `start` (a `"`). */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    if (text[i] === "\\") i += 2;
    else if (text[i] === '"') return i + 1;
    else if (text[i] === "\n") break;
    else i++;
  }
  throw new SyntaxError(`unterminated string at offset ${start}`);
}
