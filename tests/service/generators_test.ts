/**
 * The service definitions, checked for content: what runs (compiled binary or `deno run` with
 * cmesh's permission flags from source), with which environment, restart policy and log location; the
 * plist and task XML are also parsed as XML (by Python's plistlib / ElementTree when
 * python3 is installed).
 */
import assert from "node:assert/strict";
import { DAEMON_FLAGS, PERMISSION_FLAGS, RUNTIME_FLAGS } from "../../src/util/deno_permissions.ts";
import { launchdPlist, launchdPlistPath } from "../../src/service/launchd.ts";
import {
  carriedEnv,
  cmeshInvocation,
  daemonInvocation,
  type ServiceSpec,
} from "../../src/service/spec.ts";
import { systemdUnit, systemdUnitPath } from "../../src/service/systemd.ts";
import { utf16leWithBom, windowsTaskXml } from "../../src/service/windows_task.ts";
import { which } from "../setup/_helpers.ts";

const compiled = { standalone: true, execPath: "/home/ann/.local/bin/cmesh" };
const fromSource = {
  standalone: false,
  execPath: "/usr/bin/deno",
  repoRoot: "/home/ann/src/cmesh",
  os: "linux" as const,
};

function spec(over: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    invocation: daemonInvocation(compiled),
    env: { PATH: "/home/ann/.local/bin:/usr/bin:/bin" },
    workingDirectory: "/home/ann",
    logFile: "/home/ann/.local/state/cmesh/daemon.log",
    envFile: "/home/ann/.config/cmesh/service.env",
    version: "9.9.9",
    ...over,
  };
}

Deno.test("daemon invocation: the compiled binary alone, or deno run with the permission flags and the repo's deno.json", () => {
  assert.deepEqual(daemonInvocation(compiled), { program: compiled.execPath, args: ["daemon"] });
  assert.deepEqual(daemonInvocation(compiled, "/etc/cmesh.toml"), {
    program: compiled.execPath,
    args: ["daemon", "--config", "/etc/cmesh.toml"],
  });
  assert.deepEqual(daemonInvocation(fromSource), {
    program: "/usr/bin/deno",
    args: [
      "run",
      "--no-prompt",
      ...PERMISSION_FLAGS,
      ...RUNTIME_FLAGS,
      ...DAEMON_FLAGS,
      "--config",
      "/home/ann/src/cmesh/deno.json",
      "/home/ann/src/cmesh/src/main.ts",
      "daemon",
    ],
  });
  const win = cmeshInvocation(
    {
      standalone: false,
      execPath: "C:\\deno\\deno.exe",
      repoRoot: "C:\\src\\cmesh",
      os: "windows",
    },
    ["mcp"],
  );
  assert.equal(win.args[win.args.indexOf("--config") + 1], "C:\\src\\cmesh\\deno.json");
  assert.throws(() => cmeshInvocation({ standalone: false, execPath: "/usr/bin/deno" }, []));
});

Deno.test("carriedEnv keeps PATH and cmesh's location variables only", () => {
  assert.deepEqual(
    carriedEnv({
      PATH: "/bin",
      CMESH_HOME: "/h",
      ANTHROPIC_API_KEY: "secret",
      XDG_STATE_HOME: "",
      HOME: "/home/ann",
    }),
    { PATH: "/bin", CMESH_HOME: "/h" },
  );
});

Deno.test("systemd unit: ExecStart, environment, restart policy, default.target", () => {
  const text = systemdUnit(spec({ env: { PATH: "/usr/bin", CMESH_HOME: "/srv/50% cmesh" } }));
  assert.match(text, /^ExecStart=\/home\/ann\/\.local\/bin\/cmesh daemon$/m);
  assert.match(text, /^Environment="PATH=\/usr\/bin"$/m);
  assert.match(text, /^Environment="CMESH_HOME=\/srv\/50%% cmesh"$/m);
  assert.match(text, /^EnvironmentFile=-\/home\/ann\/\.config\/cmesh\/service\.env$/m);
  assert.match(text, /^Restart=on-failure$/m);
  assert.match(text, /^KillSignal=SIGTERM$/m);
  assert.match(text, /^WantedBy=default\.target$/m);
  assert.match(text, /cmesh 9\.9\.9/);
  assert.doesNotMatch(text, /^Environment="ANTHROPIC/m);
  const src = systemdUnit(spec({ invocation: daemonInvocation(fromSource) }));
  assert.match(
    src,
    /^ExecStart=\/usr\/bin\/deno run --no-prompt --allow-read --allow-write --allow-net --allow-run --allow-env --allow-sys --deny-ffi --deny-import --v8-flags=--max-semi-space-size=1,--no-short-builtin-calls --no-code-cache --config \/home\/ann\/src\/cmesh\/deno\.json \/home\/ann\/src\/cmesh\/src\/main\.ts daemon$/m,
  );
});

Deno.test("systemd unit path honours XDG_CONFIG_HOME (absolute only)", () => {
  assert.equal(
    systemdUnitPath({ HOME: "/home/ann" }),
    "/home/ann/.config/systemd/user/cmesh.service",
  );
  assert.equal(
    systemdUnitPath({ HOME: "/home/ann", XDG_CONFIG_HOME: "/cfg" }),
    "/cfg/systemd/user/cmesh.service",
  );
  assert.equal(
    systemdUnitPath({ HOME: "/home/ann", XDG_CONFIG_HOME: "rel" }),
    "/home/ann/.config/systemd/user/cmesh.service",
  );
});

async function python(code: string, input: Uint8Array): Promise<string | null> {
  if (!which("python3")) return null;
  const child = new Deno.Command("python3", {
    args: ["-c", code],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(input);
  await w.close();
  const out = await child.output();
  const dec = new TextDecoder();
  if (!out.success) throw new Error(dec.decode(out.stderr));
  return dec.decode(out.stdout);
}

Deno.test("launchd plist: label, program arguments, env, KeepAlive, log paths; valid plist", async () => {
  const s = spec({
    env: { PATH: "/usr/bin", CMESH_HOME: "/Users/ann/a&b" },
    invocation: daemonInvocation({ standalone: true, execPath: "/Users/ann/bin/<cmesh>" }),
  });
  const xml = launchdPlist(s);
  assert.match(xml, /<key>Label<\/key>\n\s*<string>dev\.cmesh\.daemon<\/string>/);
  assert.match(
    xml,
    /<string>\/Users\/ann\/bin\/&lt;cmesh&gt;<\/string>\n\s*<string>daemon<\/string>/,
  );
  assert.match(xml, /<key>CMESH_HOME<\/key>\n\s*<string>\/Users\/ann\/a&amp;b<\/string>/);
  assert.match(xml, /<key>SuccessfulExit<\/key>\n\s*<false\/>/);
  assert.match(xml, /<key>RunAtLoad<\/key>\n\s*<true\/>/);
  assert.equal(
    launchdPlistPath({ HOME: "/Users/ann" }),
    "/Users/ann/Library/LaunchAgents/dev.cmesh.daemon.plist",
  );
  const parsed = await python(
    "import plistlib,sys,json; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))",
    new TextEncoder().encode(xml),
  );
  if (parsed === null) {
    console.warn("python3 not installed: plist parsed by regex checks only");
    return;
  }
  const p = JSON.parse(parsed);
  assert.deepEqual(p.ProgramArguments, ["/Users/ann/bin/<cmesh>", "daemon"]);
  assert.deepEqual(p.EnvironmentVariables, { PATH: "/usr/bin", CMESH_HOME: "/Users/ann/a&b" });
  assert.equal(p.StandardErrorPath, s.logFile);
  assert.deepEqual(p.KeepAlive, { SuccessfulExit: false });
});

Deno.test("Windows task: logon trigger for the user, exec with quoted arguments, UTF-16 with BOM; valid XML", async () => {
  const s = spec({
    invocation: cmeshInvocation(
      {
        standalone: false,
        execPath: "C:\\Program Files\\deno\\deno.exe",
        repoRoot: "C:\\Users\\Ann Lee\\cmesh",
        os: "windows",
      },
      ["daemon"],
    ),
    workingDirectory: "C:\\Users\\Ann Lee",
  });
  const xml = windowsTaskXml(s, "DESKTOP-1\\ann");
  assert.match(
    xml,
    /<LogonTrigger>\r\n\s*<Enabled>true<\/Enabled>\r\n\s*<UserId>DESKTOP-1\\ann<\/UserId>/,
  );
  // A console program started through the headless console host: no window at logon.
  assert.match(xml, /<Command>%SystemRoot%\\System32\\conhost\.exe<\/Command>/);
  assert.match(
    xml,
    /<Arguments>--headless &quot;C:\\Program Files\\deno\\deno\.exe&quot; run --no-prompt --allow-read --allow-write --allow-net --allow-run --allow-env --allow-sys --deny-ffi --deny-import --v8-flags=--max-semi-space-size=1,--no-short-builtin-calls --no-code-cache --config &quot;C:\\Users\\Ann Lee\\cmesh\\deno\.json&quot; &quot;C:\\Users\\Ann Lee\\cmesh\\src\\main\.ts&quot; daemon<\/Arguments>/,
  );
  assert.match(xml, /<ExecutionTimeLimit>PT0S<\/ExecutionTimeLimit>/);
  assert.match(xml, /<RestartOnFailure>/);
  assert.match(xml, /<LogonType>InteractiveToken<\/LogonType>/);
  const bytes = utf16leWithBom(xml);
  assert.deepEqual([...bytes.slice(0, 4)], [0xff, 0xfe, 0x3c, 0x00]);
  assert.equal(new TextDecoder("utf-16le").decode(bytes.slice(2)), xml);
  const parsed = await python(
    [
      "import sys, xml.etree.ElementTree as ET",
      "root = ET.fromstring(sys.stdin.buffer.read().decode('utf-16'))",
      "ns = {'t': 'http://schemas.microsoft.com/windows/2004/02/mit/task'}",
      "print(root.find('t:Actions/t:Exec/t:Arguments', ns).text)",
    ].join("\n"),
    bytes,
  );
  if (parsed === null) {
    console.warn("python3 not installed: task XML checked by regex only");
    return;
  }
  assert.equal(
    parsed.trim(),
    '--headless "C:\\Program Files\\deno\\deno.exe" run --no-prompt --allow-read --allow-write --allow-net --allow-run --allow-env --allow-sys --deny-ffi --deny-import --v8-flags=--max-semi-space-size=1,--no-short-builtin-calls --no-code-cache --config "C:\\Users\\Ann Lee\\cmesh\\deno.json" "C:\\Users\\Ann Lee\\cmesh\\src\\main.ts" daemon',
  );
});
