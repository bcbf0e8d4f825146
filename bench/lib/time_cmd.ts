/**
 * @module
 * Program: runs a command N times and prints `{ms, firstOutput, failures}` as JSON. Started by
 * {@link timeCommand} inside the namespace whose view of the network it should have.
 */
const { argv, runs } = JSON.parse(Deno.args[0]) as { argv: string[]; runs: number };
const ms: number[] = [];
let firstOutput = "";
let failures = 0;
for (let i = 0; i < runs; i++) {
  const t = performance.now();
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  ms.push(performance.now() - t);
  if (out.code !== 0) failures++;
  if (i === 0) {
    firstOutput = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  }
}
console.log(JSON.stringify({ ms, firstOutput, failures }));
