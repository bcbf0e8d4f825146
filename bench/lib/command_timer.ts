/**
 * @module
 * A long-lived timing helper inside a namespace (`time_cmd.ts` in serve mode): each
 * {@link CommandTimer.time} runs one command there and returns its spawn-to-exit time, so
 * ssh runs can be interleaved one by one with cmesh runs in the same window.
 *
 * @example
 * ```ts
 * import { CommandTimer } from "./command_timer.ts";
 * const t = new CommandTimer(["ip", "netns", "exec", "ns1"]);
 * const { ms } = await t.time(["/bin/true"]);
 * await t.close();
 * ```
 */

/** One timed run. */
export interface TimedRun {
  ms: number;
  code: number;
  out: string;
}

/** A helper process that times commands on request. */
export class CommandTimer {
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #lines: AsyncIterator<string>;

  constructor(wrap: string[]) {
    const helper = new URL("./time_cmd.ts", import.meta.url).pathname;
    const argv = [...wrap, Deno.execPath(), "run", "-A", "--quiet", helper];
    this.#child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#lines = lines(this.#child.stdout)[Symbol.asyncIterator]();
  }

  /** Runs `argv` once and times it. */
  async time(argv: string[]): Promise<TimedRun> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify(argv) + "\n"));
    const next = await this.#lines.next();
    if (next.done) throw new Error("the timing helper exited");
    return JSON.parse(next.value);
  }

  /** Ends the helper. */
  async close(): Promise<void> {
    await this.#writer.close().catch(() => {});
    await this.#child.status;
  }
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buf = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      yield buf.slice(0, nl);
      buf = buf.slice(nl + 1);
    }
  }
}
