import assert from "node:assert/strict";
import { join } from "node:path";
import { inboundDecision } from "../../src/policy/inbound.ts";
import {
  isCaseInsensitiveFs,
  resolveCwd,
  resolveRoots,
  rootsCaseInsensitive,
} from "../../src/inbound/cwd_resolve.ts";
import { config, inboundInput } from "../policy/_helpers.ts";

/** A temp tree: root/app (allowed), root/app/link → outside, root/app/file, outside/. */
async function tree() {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "cmesh-cwd-" }));
  const app = join(base, "app");
  const outside = join(base, "outside");
  await Deno.mkdir(join(app, "sub"), { recursive: true });
  await Deno.mkdir(join(base, "app2"));
  await Deno.mkdir(outside);
  await Deno.writeTextFile(join(app, "file"), "x");
  await Deno.symlink(outside, join(app, "link"));
  await Deno.symlink(join(app, "sub"), join(base, "alias"));
  await Deno.symlink(join(base, "loop"), join(base, "loop"));
  return { base, app, outside, cleanup: () => Deno.remove(base, { recursive: true }) };
}

Deno.test("resolveCwd: table on a real tree", async (t) => {
  const { base, app, outside, cleanup } = await tree();
  try {
    const cases: [string, string, { real: string } | { reason: RegExp }][] = [
      ["the root itself", app, { real: app }],
      ["trailing slash", app + "/", { real: app }],
      ["a subdirectory", join(app, "sub"), { real: join(app, "sub") }],
      ["'..' is resolved", `${app}/sub/../..`, { real: base }],
      ["symlink resolves to its target", join(app, "link"), { real: outside }],
      ["symlink into the root resolves inside", join(base, "alias"), { real: join(app, "sub") }],
      ["non-existent", join(app, "nope"), { reason: /^does not exist$/ }],
      ["a file is not a directory", join(app, "file"), { reason: /^is not a directory$/ }],
      ["below a file", join(app, "file", "x"), { reason: /does not exist/ }],
      ["symlink loop", join(base, "loop"), { reason: /loop|could not be resolved/ }],
      ["relative", "app", { reason: /not an absolute path/ }],
      ["empty", "", { reason: /not a valid path/ }],
      ["NUL", `${app}\0x`, { reason: /not a valid path/ }],
    ];
    for (const [name, input, want] of cases) {
      await t.step(name, async () => {
        const r = await resolveCwd(input);
        if ("real" in want) assert.deepEqual(r, { ok: true, real: want.real });
        else {
          assert.equal(r.ok, false);
          if (!r.ok) assert.match(r.reason, want.reason);
        }
      });
    }
  } finally {
    await cleanup();
  }
});

Deno.test("resolveRoots keeps the config shape with nulls for missing roots", async () => {
  const { base, app, cleanup } = await tree();
  try {
    const roots = await resolveRoots([
      { cwd: [app, join(base, "missing")] },
      { cwd: [join(base, "alias")] },
      { cwd: [] },
    ]);
    assert.deepEqual(roots, [[app, null], [join(app, "sub")], []]);
  } finally {
    await cleanup();
  }
});

Deno.test("end to end: escapes through the file system are denied", async (t) => {
  const { base, app, outside, cleanup } = await tree();
  try {
    const cfg = config({ inbound: { allow: [{ peers: ["laptop"], cwd: [app] }] } });
    const rootsReal = await resolveRoots(cfg.inbound.allow);
    const decide = async (cwd: string) => {
      const r = await resolveCwd(cwd);
      return inboundDecision(inboundInput({
        config: cfg,
        rootsReal,
        request: r.ok
          ? { cwdReal: r.real, cwdRequested: cwd }
          : { cwdReal: null, cwdRequested: cwd, cwdProblem: r.reason },
      }));
    };
    const cases: [string, string, string, RegExp?][] = [
      ["inside", join(app, "sub"), "inbound.allow[0]"],
      [
        "symlink pointing outside",
        join(app, "link"),
        "inbound.allow[0].cwd",
        new RegExp(`resolves to ${outside}\\) is outside the allowed roots`),
      ],
      ["'..' climbing out", `${app}/../outside`, "inbound.allow[0].cwd"],
      ["prefix sibling app2", join(base, "app2"), "inbound.allow[0].cwd"],
      ["non-existent", join(app, "nope"), "cwd.not_found", /does not exist on this node/],
      ["a file", join(app, "file"), "cwd.not_found", /is not a directory on this node/],
      ["symlink from outside into the root is fine", join(base, "alias"), "inbound.allow[0]"],
    ];
    for (const [name, cwd, rule, reason] of cases) {
      await t.step(name, async () => {
        const d = await decide(cwd);
        assert.equal(d.rule, rule, d.reason);
        assert.equal(d.allow, rule === "inbound.allow[0]");
        if (reason) assert.match(d.reason, reason);
      });
    }
  } finally {
    await cleanup();
  }
});

Deno.test("end to end: a configured root that is a symlink is compared by its target", async () => {
  const { base, app, cleanup } = await tree();
  try {
    const viaLink = join(base, "alias"); // → app/sub
    const cfg = config({ inbound: { allow: [{ peers: ["laptop"], cwd: [viaLink] }] } });
    const rootsReal = await resolveRoots(cfg.inbound.allow);
    const r = await resolveCwd(join(app, "sub"));
    assert.ok(r.ok);
    const d = inboundDecision(
      inboundInput({ config: cfg, rootsReal, request: { cwdReal: r.real, cwdRequested: r.real } }),
    );
    assert.equal(d.rule, "inbound.allow[0]", d.reason);
  } finally {
    await cleanup();
  }
});

Deno.test("isCaseInsensitiveFs: probes the real file system", async () => {
  const { base, app, cleanup } = await tree();
  try {
    // Ground truth by experiment: does the upper-case spelling of `app` exist?
    let truth: boolean;
    try {
      await Deno.stat(join(base, "APP"));
      truth = true;
    } catch {
      truth = false;
    }
    assert.equal(await isCaseInsensitiveFs(app), truth);
    assert.equal(await rootsCaseInsensitive([[app, null]]), truth);
    // A sibling that differs only by case makes the answer "sensitive" for sure.
    if (!truth) {
      await Deno.mkdir(join(base, "App"));
      assert.equal(await isCaseInsensitiveFs(app), false);
    }
    assert.equal(await isCaseInsensitiveFs(join(base, "missing")), false);
    assert.equal(await rootsCaseInsensitive([[null]]), false);
    assert.equal(await rootsCaseInsensitive([]), false);
  } finally {
    await cleanup();
  }
});
