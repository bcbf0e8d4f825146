import assert from "node:assert/strict";
import { globProblem, matchAnyPathGlob, matchPathGlob } from "../../src/policy/glob.ts";

Deno.test("matchPathGlob: table", () => {
  const cases: [pattern: string, path: string, match: boolean][] = [
    // exact
    ["/srv/app", "/srv/app", true],
    ["/srv/app", "/srv/app/", true],
    ["/srv/app/", "/srv/app", true],
    ["/srv/app", "/srv/app2", false],
    ["/srv/app", "/srv/app/src", false],
    ["/srv/app", "/srv", false],
    // * within one segment
    ["/srv/*", "/srv/app", true],
    ["/srv/*", "/srv/.hidden", true],
    ["/srv/*", "/srv", false],
    ["/srv/*", "/srv/app/src", false],
    ["/srv/app-*", "/srv/app-1", true],
    ["/srv/app-*", "/srv/app-", true],
    ["/srv/app-*", "/srv/app", false],
    ["/srv/*-x", "/srv/a-b-x", true],
    ["/srv/*a*b*", "/srv/xxaybz", true],
    ["/srv/*a*b*", "/srv/xxbya", false],
    ["/home/*/src", "/home/ann/src", true],
    ["/home/*/src", "/home/ann/work/src", false],
    // ** across segments
    ["/**", "/", true],
    ["/**", "/etc/passwd", true],
    ["/srv/**", "/srv", true],
    ["/srv/**", "/srv/a/b/c", true],
    ["/srv/**", "/srv2/a", false],
    ["/home/**/src", "/home/src", true],
    ["/home/**/src", "/home/ann/work/src", true],
    ["/home/**/src", "/home/ann/work/src/x", false],
    ["/home/**/src/**", "/home/ann/src/x/y", true],
    ["/a/**/b/**/c", "/a/x/b/y/b/z/c", true],
    ["/a/**/b/**/c", "/a/x/c", false],
    // literal metacharacters
    ["/srv/a?c", "/srv/abc", false],
    ["/srv/a?c", "/srv/a?c", true],
    ["/srv/[ab]", "/srv/a", false],
    // invalid inputs never match
    ["srv/*", "/srv/app", false],
    ["/srv/*", "srv/app", false],
    ["/srv/**", "/srv/../etc", false],
    ["/srv/../**", "/etc", false],
    ["/srv/*", "/srv/..", false],
    // case
    ["/srv/App", "/srv/app", false],
    // Windows
    ["C:/Users/*/src", "C:\\Users\\ann\\src", true],
    ["C:/**", "D:\\x", false],
  ];
  for (const [pattern, path, match] of cases) {
    assert.equal(matchPathGlob(pattern, path), match, `${pattern} ~ ${path}`);
  }
});

Deno.test("matchPathGlob: case folding only when asked", () => {
  assert.equal(matchPathGlob("/Srv/*", "/srv/X", { caseInsensitive: true }), true);
  assert.equal(matchPathGlob("/Srv/*", "/srv/X", { caseInsensitive: false }), false);
});

// An exponential matcher would not finish these (a hung test); their speed is measured in
// `deno task bench`, not asserted here.
Deno.test("matchPathGlob: pathological patterns finish with the right answer", () => {
  const pattern = "/" + Array(30).fill("**").join("/") + "/x";
  const path = "/" + Array(200).fill("a").join("/");
  const star = "/" + "*a".repeat(5000) + "b";
  assert.equal(matchPathGlob(pattern, path), false);
  assert.equal(matchPathGlob(pattern, path + "/x"), true);
  assert.equal(matchPathGlob(star, "/" + "a".repeat(10000)), false);
  assert.equal(matchPathGlob(star, "/" + "a".repeat(10000) + "b"), true);
});

Deno.test("matchAnyPathGlob and globProblem", () => {
  assert.equal(matchAnyPathGlob(["/a/*", "/b/**"], "/b/c/d"), true);
  assert.equal(matchAnyPathGlob(["/a/*", "/b/*"], "/b/c/d"), false);
  assert.equal(matchAnyPathGlob([], "/"), false);
  assert.equal(globProblem("/srv/**"), null);
  assert.match(globProblem("srv/*") ?? "", /absolute/);
  assert.match(globProblem("/srv/../x") ?? "", /\.\./);
});
