/**
 * @module
 * Program: times commands from inside a namespace. With an argument `{argv, runs}` it runs
 * the command N times and prints `{ms, firstOutput, failures}`; with no argument it serves:
 * each stdin line is a JSON argv, answered by one line `{ms, code, out}` once it finished, so
 * a benchmark can interleave these runs with its own (see {@link CommandTimer}).
 */
async function timeOnce(argv: string[]) {
  const t = performance.now();
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const ms = performance.now() - t;
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { ms, code: out.code, out: text.slice(0, 2000) };
}

if (Deno.args[0]) {
  const { argv, runs } = JSON.parse(Deno.args[0]) as { argv: string[]; runs: number };
  const ms: number[] = [];
  let firstOutput = "";
  let failures = 0;
  for (let i = 0; i < runs; i++) {
    const r = await timeOnce(argv);
    ms.push(r.ms);
    if (r.code !== 0) failures++;
    if (i === 0) firstOutput = r.out;
  }
  console.log(JSON.stringify({ ms, firstOutput, failures }));
} else {
  let buf = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim()) console.log(JSON.stringify(await timeOnce(JSON.parse(line))));
    }
  }
}
