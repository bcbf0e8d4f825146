/**
 * @module
 * A small Server-Sent Events reader for a `fetch` response body: yields `{id, event, data}`
 * messages, bounded per message while it is read. A peer that sends an endless message (one
 * long line, or many `data:` lines with no blank line) is cut off at the bound with
 * {@link SseTooLarge}: the reader never holds more than about one message's worth.
 *
 * @example
 * ```ts
 * const res = await fetch("http://100.64.0.2:7435/v1/tasks/t_0123456789/events");
 * for await (const msg of readSse(res.body!, 1 << 20)) console.log(msg.event, msg.data);
 * ```
 */
import { byteChunks } from "../util/byte_chunks.ts";
import { CmeshError } from "../protocol/errors.ts";

/** One SSE message. */
export interface SseMessage {
  id: string | null;
  event: string;
  data: string;
}

/** Thrown when one message grows past the reader's bound (the stream is cancelled). */
export class SseTooLarge extends CmeshError<"sse_too_large"> {
  constructor(readonly maxMessageChars: number) {
    super("sse_too_large", `an event-stream message grew past ${maxMessageChars} characters`);
  }
}

/**
 * Parses an SSE stream. A message (its fields and the line being read) larger than
 * `maxMessageChars` characters ends the stream with {@link SseTooLarge}; `signal` ends it
 * quietly (the body is cancelled, so the connection closes).
 */
export async function* readSse(
  body: ReadableStream<Uint8Array>,
  maxMessageChars: number,
  signal?: AbortSignal,
): AsyncGenerator<SseMessage> {
  // One reused buffer for the whole stream; an abort cancels the body itself, even mid-read
  // (see util/byte_chunks.ts).
  const chunks = byteChunks(body, { signal });
  const decoder = new TextDecoder();
  let buf = "";
  let msg: { id: string | null; event: string; data: string[] } = {
    id: null,
    event: "message",
    data: [],
  };
  // Characters held for the current message: complete field lines plus the partial line.
  let held = 0;
  try {
    for (;;) {
      const { done, value } = await chunks.next();
      if (done || signal?.aborted) return;
      buf += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, "");
        buf = buf.slice(nl + 1);
        if (line === "") {
          if (msg.data.length) yield { id: msg.id, event: msg.event, data: msg.data.join("\n") };
          msg = { id: null, event: "message", data: [] };
          held = 0;
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "data") {
          msg.data.push(val);
          held += val.length + 1;
        } else if (field === "event") msg.event = val;
        else if (field === "id") msg.id = val;
        if (held > maxMessageChars) throw new SseTooLarge(maxMessageChars);
      }
      if (held + buf.length > maxMessageChars) throw new SseTooLarge(maxMessageChars);
    }
  } finally {
    await chunks.return(undefined).catch(() => {});
  }
}
