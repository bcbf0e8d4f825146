/**
 * @module
 * A small Server-Sent Events reader for a `fetch` response body: yields `{id, event, data}`
 * messages, bounded per message.
 *
 * @example
 * ```ts
 * for await (const msg of readSse(res.body!, 1 << 20)) console.log(msg.event, msg.data);
 * ```
 */

/** One SSE message. */
export interface SseMessage {
  id: string | null;
  event: string;
  data: string;
}

/** Parses an SSE stream. Messages larger than `maxMessageBytes` end the stream with an error. */
export async function* readSse(
  body: ReadableStream<Uint8Array>,
  maxMessageBytes: number,
): AsyncGenerator<SseMessage> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  let msg: { id: string | null; event: string; data: string[] } = {
    id: null,
    event: "message",
    data: [],
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buf += value;
      if (buf.length > maxMessageBytes) {
        throw new Error(`SSE message larger than ${maxMessageBytes} bytes`);
      }
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, "");
        buf = buf.slice(nl + 1);
        if (line === "") {
          if (msg.data.length) yield { id: msg.id, event: msg.event, data: msg.data.join("\n") };
          msg = { id: null, event: "message", data: [] };
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "data") msg.data.push(val);
        else if (field === "event") msg.event = val;
        else if (field === "id") msg.id = val;
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
