/**
 * @module
 * Server-Sent Events messages gathered into one write. A stream step that sends a task's new
 * events, its result and its `end` writes them together: one chunk on the wire, so the requester
 * wakes once for them, not once per message (and the worker awaits one write, not four). The
 * text is what Hono's `writeSSE` makes of a message whose data is one line, as JSON always is.
 *
 * @example
 * ```ts
 * import { SseBatch } from "./sse_batch.ts";
 * const batch = new SseBatch();
 * batch.add("task", JSON.stringify({ task_id: "t1234567", event: { seq: 1 } }));
 * batch.add("end", JSON.stringify({ task_id: "t1234567", state: "succeeded" }));
 * batch.take(); // "event: task\ndata: {...}\n\nevent: end\ndata: {...}\n\n"
 * ```
 */

/** Past this many characters a step writes what it has gathered before it gathers more. */
export const SSE_BATCH_MAX_CHARS = 64 * 1024;

/** SSE messages waiting to be written in one piece. */
export class SseBatch {
  #parts: string[] = [];
  #chars = 0;

  /**
   * Adds a message: `json` is its data (JSON text: one line), `id` its id when given. A line break
   * in any of them would split the message, so it is refused, as Hono's `writeSSE` does.
   */
  add(event: string, json: string, id?: string): void {
    if (/[\r\n]/.test(event + json + (id ?? ""))) {
      throw new Error(`an SSE message's event, data and id must not hold a line break`);
    }
    const idLine = id === undefined ? "" : `id: ${id}\n`;
    const text = `event: ${event}\ndata: ${json}\n${idLine}\n`;
    this.#parts.push(text);
    this.#chars += text.length;
  }

  /** Whether it has grown past {@link SSE_BATCH_MAX_CHARS} and should be written now. */
  get full(): boolean {
    return this.#chars > SSE_BATCH_MAX_CHARS;
  }

  /** Everything gathered, as one string ("" when nothing is), and empties the batch. */
  take(): string {
    const text = this.#parts.join("");
    this.#parts = [];
    this.#chars = 0;
    return text;
  }
}
