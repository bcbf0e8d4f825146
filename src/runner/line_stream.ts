/**
 * @module
 * Split decoded text into lines with a hard cap on line length, so a child that prints one
 * endless line cannot make the supervisor buffer it. A line longer than the cap is cut to the
 * cap and flagged; the rest of it (up to the next newline) is discarded as it streams by.
 * The final line is delivered at end of input even without a trailing newline. A trailing
 * `\r` (CRLF) is removed.
 *
 * @example
 * ```ts
 * import { LineStream } from "./line_stream.ts";
 * const lines = ReadableStream.from(["a\nb", "c\nlast"])
 *   .pipeThrough(new LineStream({ maxLineChars: 1024 }));
 * for await (const line of lines) console.log(line.text, line.cut); // a, bc, last
 * ```
 */

/** One line of output. */
export interface Line {
  /** The line without its newline (cut to the maximum length when `cut`). */
  text: string;
  /** True when the line was longer than the maximum and `text` holds only its start. */
  cut: boolean;
}

/** Default maximum line length in UTF-16 code units (4 Mi). */
export const DEFAULT_MAX_LINE_CHARS = 4 * 1024 * 1024;

/**
 * The incremental splitter behind {@link LineStream}, usable directly in a read loop.
 *
 * @example
 * ```ts
 * const splitter = new LineSplitter(8);
 * splitter.push("hello\nworld, this is long\n"); // [{text:"hello",cut:false},{text:"world, t",cut:true}]
 * splitter.flush(); // []
 * ```
 */
export class LineSplitter {
  #pending = "";
  #pendingCut = false;
  #peakPendingChars = 0;
  #cutLines = 0;

  /** @param maxLineChars the longest line kept, in UTF-16 code units (≥ 1). */
  constructor(readonly maxLineChars: number = DEFAULT_MAX_LINE_CHARS) {
    if (!Number.isInteger(maxLineChars) || maxLineChars < 1) {
      throw new RangeError(`maxLineChars must be a positive integer, got ${maxLineChars}`);
    }
  }

  /** The most characters ever held for an unfinished line (never above `maxLineChars`). */
  get peakPendingChars(): number {
    return this.#peakPendingChars;
  }

  /** How many lines were cut so far. */
  get cutLines(): number {
    return this.#cutLines;
  }

  /** Feeds a piece of text; returns the lines it completed. */
  push(text: string): Line[] {
    const lines: Line[] = [];
    let start = 0;
    for (;;) {
      const newline = text.indexOf("\n", start);
      if (newline === -1) {
        this.#append(text, start, text.length);
        break;
      }
      if (this.#pending.length === 0 && !this.#pendingCut) {
        // Fast path: the whole line sits inside this chunk.
        let end = newline;
        if (end > start && text.charCodeAt(end - 1) === 13) end--;
        if (end - start <= this.maxLineChars) {
          lines.push({ text: text.slice(start, end), cut: false });
        } else {
          this.#cutLines++;
          lines.push({ text: text.slice(start, start + this.maxLineChars), cut: true });
        }
      } else {
        let end = newline;
        const cr = end > start && text.charCodeAt(end - 1) === 13;
        if (cr) end--;
        this.#append(text, start, end);
        // One CR per line: if this piece ended with it, one left in the pending part stays.
        lines.push(this.#take(cr));
      }
      start = newline + 1;
    }
    return lines;
  }

  /** Ends the input: returns the last line if it had no newline. */
  flush(): Line[] {
    if (this.#pending.length === 0 && !this.#pendingCut) return [];
    return [this.#take()];
  }

  #append(text: string, from: number, to: number): void {
    if (this.#pendingCut || from >= to) return;
    const room = this.maxLineChars - this.#pending.length;
    if (to - from > room) {
      this.#pending += text.slice(from, from + room);
      this.#pendingCut = true;
    } else {
      this.#pending += text.slice(from, to);
    }
    if (this.#pending.length > this.#peakPendingChars) {
      this.#peakPendingChars = this.#pending.length;
    }
  }

  #take(crRemoved = false): Line {
    let text = this.#pending;
    const cut = this.#pendingCut;
    // A CR that was cut away with the rest of the line is already gone.
    if (!cut && !crRemoved && text.endsWith("\r")) text = text.slice(0, -1);
    if (cut) this.#cutLines++;
    this.#pending = "";
    this.#pendingCut = false;
    return { text, cut };
  }
}

/**
 * Keeps only the last non-empty line of a byte stream: for output past a cap, where no line is
 * delivered any more and only the last one may still matter (a result line). No line objects
 * are made and each chunk decodes at most its last non-empty line, so draining a flood of
 * output allocates next to nothing. Input must start at a line start (after a `\n`). The text
 * rules are {@link LineSplitter}'s: one trailing `\r` removed, lines cut at `maxLineChars`.
 *
 * @example
 * ```ts
 * const t = new LastLineTracker(1024);
 * t.push(new TextEncoder().encode("a\nlast\n\n"));
 * t.finish(); // "last"
 * ```
 */
export class LastLineTracker {
  #partial: Uint8Array[] = [];
  #partialBytes = 0;
  #partialCut = false;
  #last: string | null = null;
  readonly #maxBytes: number;
  readonly #decoder = new TextDecoder();

  /** @param maxLineChars the longest line kept, in UTF-16 code units (≥ 1). */
  constructor(readonly maxLineChars: number = DEFAULT_MAX_LINE_CHARS) {
    if (!Number.isInteger(maxLineChars) || maxLineChars < 1) {
      throw new RangeError(`maxLineChars must be a positive integer, got ${maxLineChars}`);
    }
    // A UTF-16 code unit takes at most 3 bytes of UTF-8; 3 more let a character that the cut
    // would split decode whole, as the splitter (which cuts decoded text) sees it.
    this.#maxBytes = maxLineChars * 3 + 3;
  }

  /** Feeds bytes (copied where kept: the caller may reuse its buffer). */
  push(chunk: Uint8Array): void {
    const end = chunk.lastIndexOf(10);
    if (end < 0) {
      this.#keep(chunk);
      return;
    }
    // Walk back from the last newline to the last non-empty line.
    for (let lineEnd = end;;) {
      const start = lineEnd === 0 ? 0 : chunk.lastIndexOf(10, lineEnd - 1) + 1;
      if (start === 0) {
        // This line began in an earlier chunk.
        this.#keep(chunk.subarray(0, lineEnd));
        this.#remember(this.#decodePartial());
        break;
      }
      if (this.#remember(this.#decode([chunk.subarray(start, lineEnd)], false))) break;
      lineEnd = start - 1;
    }
    this.#partial = [];
    this.#partialBytes = 0;
    this.#partialCut = false;
    this.#keep(chunk.subarray(end + 1));
  }

  /** Ends the input: the last non-empty line seen (including one without a newline), or null. */
  finish(): string | null {
    this.#remember(this.#decodePartial());
    this.#partial = [];
    this.#partialBytes = 0;
    this.#partialCut = false;
    return this.#last;
  }

  #remember(text: string): boolean {
    if (text === "") return false;
    this.#last = text;
    return true;
  }

  #keep(bytes: Uint8Array): void {
    if (this.#partialCut || bytes.length === 0) return;
    const room = this.#maxBytes - this.#partialBytes;
    if (bytes.length > room) {
      this.#partial.push(bytes.slice(0, room));
      this.#partialBytes += room;
      this.#partialCut = true;
    } else {
      this.#partial.push(bytes.slice());
      this.#partialBytes += bytes.length;
    }
  }

  #decodePartial(): string {
    return this.#decode(this.#partial, this.#partialCut);
  }

  #decode(parts: Uint8Array[], cut: boolean): string {
    let bytes: Uint8Array;
    if (parts.length === 1) bytes = parts[0];
    else {
      bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        bytes.set(p, at);
        at += p.length;
      }
    }
    let text = this.#decoder.decode(bytes);
    if (cut || text.length > this.maxLineChars) return text.slice(0, this.maxLineChars);
    if (text.endsWith("\r")) text = text.slice(0, -1);
    return text;
  }
}

/** Options for {@link LineStream}. */
export interface LineStreamOptions {
  /** The longest line kept, in UTF-16 code units (default {@link DEFAULT_MAX_LINE_CHARS}). */
  maxLineChars?: number;
}

/**
 * A `TransformStream` from text chunks to {@link Line}s. Pair it with `TextDecoderStream` for
 * byte streams.
 *
 * @example
 * ```ts
 * const child = new Deno.Command("/bin/echo", { args: ["hi"], stdout: "piped" }).spawn();
 * const lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(new LineStream());
 * for await (const line of lines) console.log(line.text);
 * ```
 */
export class LineStream extends TransformStream<string, Line> {
  /** The splitter doing the work (exposes `peakPendingChars` and `cutLines`). */
  readonly splitter: LineSplitter;

  constructor(options: LineStreamOptions = {}) {
    const splitter = new LineSplitter(options.maxLineChars ?? DEFAULT_MAX_LINE_CHARS);
    super({
      transform(chunk, controller) {
        for (const line of splitter.push(chunk)) controller.enqueue(line);
      },
      flush(controller) {
        for (const line of splitter.flush()) controller.enqueue(line);
      },
    });
    this.splitter = splitter;
  }
}
