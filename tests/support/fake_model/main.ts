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
import { announceUntilSignal, keyValuePairs, PROGRAM_OPTIONS, requireScript } from "./http.ts";
import { startFakeModel } from "./server.ts";

if (import.meta.main) {
  const { values: args } = parseArgs({
    args: Deno.args,
    options: { ...PROGRAM_OPTIONS, "port-file": { type: "string" } },
  });
  const script = requireScript(
    args.script,
    "main.ts --script FILE [--port N] [--host H] [--log FILE] [--port-file FILE] [--var k=v]...",
  );
  const fake = await startFakeModel({
    script,
    host: args.host,
    port: Number(args.port),
    logFile: args.log,
    vars: Object.fromEntries(keyValuePairs(args.var ?? [])),
  });
  if (args["port-file"]) await Deno.writeTextFile(args["port-file"], String(fake.port));
  announceUntilSignal(fake);
}
