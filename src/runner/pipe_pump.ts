/**
 * @module
 * Draining a child's pipe for the supervisor: counted, split into bounded lines, and past the
 * output cap only the last line tracked. One reused buffer per stream.
 *
 * @example
 * ```ts
 * import { byteChunks } from "../util/byte_chunks.ts";
 * import { LineSplitter } from "./line_stream.ts";
 * import { pump } from "./pipe_pump.ts";
 * const child = new Deno.Command("/bin/echo", { args: ["hi"], stdout: "piped" }).spawn();
 * await pump(byteChunks(child.stdout), () => {}, new LineSplitter(1024), (l) => console.log(l.text));
 * ```
 */
import type { LastLineTracker, Line, LineSplitter } from "./line_stream.ts";

/** Once `active()`, lines are no longer split; `tracker` keeps only the last one. */
export interface DrainMode {
  active(): boolean;
  tracker: LastLineTracker;
  onLast(text: string): void;
}

/**
 * Reads a pipe's chunks (`util/byte_chunks.ts`: one buffer reused for every read, so draining a
 * flood of output allocates no new memory per chunk) to the end, counting bytes and splitting
 * lines (when a splitter is given); `onBytes` must copy what it keeps. `initial` comes first. With
 * `drain`, once it is active the line in progress is finished by the splitter (so a character
 * split across reads is decoded whole) and everything after it goes to the tracker.
 */
export async function pump(
  chunks: AsyncIterator<Uint8Array>,
  onBytes: (n: number, chunk: Uint8Array) => void,
  splitter: LineSplitter | null,
  onLine: (line: Line) => void,
  drain?: DrainMode,
  initial?: Uint8Array,
): Promise<void> {
  const decoder = new TextDecoder();
  let draining = false;
  let first = initial && initial.length > 0 ? initial : null;
  try {
    for (;;) {
      const { value, done } = first ? { value: first, done: false } : await chunks.next();
      first = null;
      if (done || !value) break;
      onBytes(value.byteLength, value);
      if (draining) drain!.tracker.push(value);
      else if (splitter && drain?.active()) {
        const newline = value.indexOf(10);
        const head = newline < 0 ? value : value.subarray(0, newline + 1);
        for (const line of splitter.push(decoder.decode(head, { stream: true }))) onLine(line);
        if (newline >= 0) {
          draining = true;
          drain.tracker.push(value.subarray(newline + 1));
        }
      } else if (splitter) {
        for (const line of splitter.push(decoder.decode(value, { stream: true }))) onLine(line);
      }
    }
  } catch {
    // A cancelled or broken pipe ends the stream; whatever was read is kept.
  }
  if (draining) {
    const last = drain!.tracker.finish();
    if (last !== null) drain!.onLast(last);
  } else if (splitter) {
    for (const line of splitter.push(decoder.decode())) onLine(line);
    for (const line of splitter.flush()) onLine(line);
  }
}
