/** Fixture for tests/ci/summary_test.ts (not a *_test.ts file: the suite never runs it). */
Deno.test("fixture passes", () => {});
Deno.test({ name: "fixture ignored test", ignore: true, fn() {} });
Deno.test("fixture with steps", async (t) => {
  await t.step({ name: "fixture ignored step", ignore: true, fn() {} });
  await t.step("fixture step", () => {});
});
