/**
 * @module
 * The fake model server as a program, for trying a CLI by hand:
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-read --allow-write tests/support/fake_model/main.ts \
 *   --script tests/testdata/fake_model/read_then_answer.json [--port 0] [--host 127.0.0.1] \
 *   [--log requests.jsonl] [--port-file port.txt] [--var workdir=/var/tmp/w]
 * ```
 *
 * It prints `{"listening":"http://127.0.0.1:PORT","port":PORT}` and serves until SIGINT/SIGTERM.
 * The script file is re-read on every request, so it can be edited while the server runs.
 */
import { parseArgs } from "node:util";
import { startFakeModel } from "./server.ts";

if (import.meta.main) {
  const { values: args } = parseArgs({
    args: Deno.args,
    options: {
      script: { type: "string" },
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "0" },
      log: { type: "string" },
      "port-file": { type: "string" },
      var: { type: "string", multiple: true, default: [] },
    },
  });
  if (!args.script) {
    console.error(
      "usage: main.ts --script FILE [--port N] [--host H] [--log FILE] [--port-file FILE] [--var k=v]...",
    );
    Deno.exit(2);
  }
  const vars: Record<string, string> = {};
  for (const kv of args.var ?? []) {
    const at = kv.indexOf("=");
    if (at > 0) vars[kv.slice(0, at)] = kv.slice(at + 1);
  }
  const fake = await startFakeModel({
    script: args.script,
    host: args.host,
    port: Number(args.port),
    logFile: args.log,
    vars,
  });
  if (args["port-file"]) await Deno.writeTextFile(args["port-file"], String(fake.port));
  console.log(JSON.stringify({ listening: fake.url, port: fake.port }));
  const stop = async () => {
    await fake.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}
