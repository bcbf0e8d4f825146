import assert from "node:assert/strict";
import {
  isInside,
  parseAbsolutePath,
  type ParsedPath,
  parseLexically,
} from "../../src/policy/path.ts";

function p(path: string): ParsedPath {
  const r = parseAbsolutePath(path);
  if (!r.ok) throw new Error(`${path}: ${r.problem}`);
  return r.path;
}

Deno.test("parseAbsolutePath: accepted forms", () => {
  const cases: [string, ParsedPath][] = [
    ["/", { root: "/", segments: [] }],
    ["/srv/app", { root: "/", segments: ["srv", "app"] }],
    ["/srv/app/", { root: "/", segments: ["srv", "app"] }],
    ["/srv//app///", { root: "/", segments: ["srv", "app"] }],
    ["//srv/app", { root: "/", segments: ["srv", "app"] }],
    ["/srv/a\\b", { root: "/", segments: ["srv", "a\\b"] }],
    ["/srv/.hidden/..x", { root: "/", segments: ["srv", ".hidden", "..x"] }],
    ["C:\\Users\\ann", { root: "C:", segments: ["Users", "ann"] }],
    ["c:/Users/ann/", { root: "C:", segments: ["Users", "ann"] }],
  ];
  for (const [input, want] of cases) assert.deepEqual(p(input), want, input);
});

Deno.test("parseAbsolutePath: refused forms", () => {
  const cases: [string, RegExp][] = [
    ["", /empty/],
    ["srv/app", /not an absolute path/],
    ["./srv", /not an absolute path/],
    ["~/src", /not an absolute path/],
    ["\\\\server\\share", /UNC network path/],
    ["C:relative", /not an absolute path/],
    ["/srv/../etc", /".." segment/],
    ["/srv/app/..", /".." segment/],
    ["/srv/./app", /"." segment/],
    ["/srv/app/.", /"." segment/],
    ["C:\\srv\\..\\Windows", /".." segment/],
    ["/srv/a\0b", /NUL/],
  ];
  for (const [input, problem] of cases) {
    const r = parseAbsolutePath(input);
    assert.equal(r.ok, false, JSON.stringify(input));
    if (!r.ok) assert.match(r.problem, problem, JSON.stringify(input));
  }
});

Deno.test("isInside: segment-aware containment", () => {
  const cases: [child: string, root: string, fold: boolean, inside: boolean][] = [
    ["/srv/app", "/srv/app", false, true],
    ["/srv/app/", "/srv/app", false, true],
    ["/srv/app", "/srv/app/", false, true],
    ["/srv/app/src/x", "/srv/app", false, true],
    ["/srv/app2", "/srv/app", false, false],
    ["/srv/app-evil", "/srv/app", false, false],
    ["/srv/ap", "/srv/app", false, false],
    ["/srv", "/srv/app", false, false],
    ["/etc", "/srv/app", false, false],
    ["/anything/at/all", "/", false, true],
    ["/SRV/App", "/srv/app", false, false],
    ["/SRV/App", "/srv/app", true, true],
    ["/SRV/App2", "/srv/app", true, false],
    ["C:\\Users\\ann\\src", "c:/Users/ann", false, true],
    ["D:\\Users\\ann", "C:\\Users\\ann", false, false],
    ["C:\\users\\ANN", "C:\\Users\\ann", true, true],
    ["/C:/x", "C:/x", false, false],
  ];
  for (const [child, root, fold, inside] of cases) {
    assert.equal(isInside(p(child), p(root), fold), inside, `${child} in ${root} fold=${fold}`);
  }
});

Deno.test("parseLexically folds dots (for deciding what a denial may reveal)", () => {
  const cases: [string, ParsedPath | null][] = [
    ["/srv/app/../x/./y", { root: "/", segments: ["srv", "x", "y"] }],
    ["/../..", { root: "/", segments: [] }],
    ["/srv/app/", { root: "/", segments: ["srv", "app"] }],
    ["C:\\a\\..\\b", { root: "C:", segments: ["b"] }],
    ["relative/..", null],
    ["", null],
  ];
  for (const [input, want] of cases) assert.deepEqual(parseLexically(input), want, input);
});

Deno.test("Windows: device, UNC and ambiguous drive-path forms are refused with a reason", () => {
  const refused: Array<[string, RegExp]> = [
    ["\\\\?\\C:\\src\\app", /device path/],
    ["\\\\.\\C:\\src\\app", /device path/],
    ["//?/C:/src/app", /device path/],
    ["\\\\.\\pipe\\tailscaled", /device path/],
    ["\\\\fileserver\\share\\app", /UNC network path/],
    ["C:\\src\\app:secret", /alternate data stream/],
    ["C:\\src\\app.", /ending in a dot or space/],
    ["C:\\src\\app \\x", /ending in a dot or space/],
    ["C:\\src\\CON", /Windows device "CON"/],
    ["C:\\src\\nul.txt", /Windows device "nul.txt"/],
    ["C:\\src\\COM1\\x", /Windows device "COM1"/],
    ["C:\\PROGRA~1\\app", /8.3 short name "PROGRA~1"/],
    ["C:\\Users\\RUNNER~1\\src", /8.3 short name/],
    ["C:\\src\\LONGNA~1.TXT", /8.3 short name/],
    ["C:src\\app", /not an absolute path/],
    ["\\src\\app", /not an absolute path/],
  ];
  for (const [path, problem] of refused) {
    const r = parseAbsolutePath(path);
    assert.equal(r.ok, false, path);
    if (!r.ok) assert.match(r.problem, problem, path);
  }
  for (
    const [path, segments] of [
      ["C:\\Program Files\\app", ["Program Files", "app"]],
      ["c:/src/my~app/x", ["src", "my~app", "x"]],
      ["D:\\src\\console\\conf.d", ["src", "console", "conf.d"]],
      ["C:\\src\\release-1.2", ["src", "release-1.2"]],
    ] as const
  ) {
    const r = parseAbsolutePath(path);
    assert.ok(r.ok, path);
    if (r.ok) assert.deepEqual(r.path.segments, segments, path);
  }
  // POSIX paths keep their own rules: a colon or a trailing dot is just a character there.
  assert.ok(parseAbsolutePath("/srv/app:1/x.").ok);
});

Deno.test("Windows: drive letters and segments compare case-insensitively when told to", () => {
  const p = (s: string) => {
    const r = parseAbsolutePath(s);
    if (!r.ok) throw new Error(r.problem);
    return r.path;
  };
  assert.ok(isInside(p("c:\\SRC\\App\\x"), p("C:\\src\\app"), true));
  assert.ok(!isInside(p("c:\\SRC\\App\\x"), p("C:\\src\\app"), false));
  assert.ok(isInside(p("c:\\src\\app\\x"), p("C:\\src\\app"), false)); // drive letter only
  assert.ok(!isInside(p("D:\\src\\app"), p("C:\\src\\app"), true));
  assert.ok(!isInside(p("C:\\src\\app2"), p("C:\\src\\app"), true));
});
