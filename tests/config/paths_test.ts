/**
 * @module
 * Per-OS config and state locations, computed purely from an OS name and an environment.
 */
import assert from "node:assert/strict";
import { cmeshPaths, currentPaths } from "../../src/config/paths.ts";

Deno.test("linux without XDG variables: ~/.config and ~/.local/state", () => {
  assert.deepEqual(cmeshPaths({ os: "linux", env: { HOME: "/home/ann" } }), {
    configDir: "/home/ann/.config/cmesh",
    configFile: "/home/ann/.config/cmesh/config.toml",
    runnersDir: "/home/ann/.config/cmesh/runners",
    stateDir: "/home/ann/.local/state/cmesh",
  });
});

Deno.test("linux with XDG variables", () => {
  assert.deepEqual(
    cmeshPaths({
      os: "linux",
      env: { HOME: "/home/ann", XDG_CONFIG_HOME: "/cfg", XDG_STATE_HOME: "/st" },
    }),
    {
      configDir: "/cfg/cmesh",
      configFile: "/cfg/cmesh/config.toml",
      runnersDir: "/cfg/cmesh/runners",
      stateDir: "/st/cmesh",
    },
  );
});

Deno.test("linux with only XDG_CONFIG_HOME: state falls back to ~/.local/state", () => {
  const p = cmeshPaths({ os: "linux", env: { HOME: "/home/ann", XDG_CONFIG_HOME: "/cfg" } });
  assert.equal(p.configFile, "/cfg/cmesh/config.toml");
  assert.equal(p.stateDir, "/home/ann/.local/state/cmesh");
});

Deno.test("linux: empty or relative XDG variables are ignored (XDG spec)", () => {
  const p = cmeshPaths({
    os: "linux",
    env: { HOME: "/home/ann", XDG_CONFIG_HOME: "", XDG_STATE_HOME: "relative/state" },
  });
  assert.equal(p.configFile, "/home/ann/.config/cmesh/config.toml");
  assert.equal(p.stateDir, "/home/ann/.local/state/cmesh");
});

Deno.test("linux: both XDG variables are enough without HOME", () => {
  const p = cmeshPaths({ os: "linux", env: { XDG_CONFIG_HOME: "/c", XDG_STATE_HOME: "/s" } });
  assert.equal(p.configFile, "/c/cmesh/config.toml");
  assert.equal(p.stateDir, "/s/cmesh");
});

Deno.test("linux without HOME or XDG: an error that says to set CMESH_HOME", () => {
  assert.throws(() => cmeshPaths({ os: "linux", env: {} }), /set CMESH_HOME/);
  assert.throws(
    () => cmeshPaths({ os: "linux", env: { XDG_CONFIG_HOME: "/c" } }),
    /cannot find \$HOME/,
  );
});

Deno.test("other unixes use the XDG layout too", () => {
  for (const os of ["freebsd", "netbsd", "solaris", "illumos", "aix", "android"] as const) {
    assert.equal(
      cmeshPaths({ os, env: { HOME: "/u/ann" } }).configFile,
      "/u/ann/.config/cmesh/config.toml",
    );
  }
});

Deno.test("macOS: ~/Library/Application Support/cmesh, state inside it", () => {
  assert.deepEqual(
    cmeshPaths({ os: "darwin", env: { HOME: "/Users/ann", XDG_CONFIG_HOME: "/ignored" } }),
    {
      configDir: "/Users/ann/Library/Application Support/cmesh",
      configFile: "/Users/ann/Library/Application Support/cmesh/config.toml",
      runnersDir: "/Users/ann/Library/Application Support/cmesh/runners",
      stateDir: "/Users/ann/Library/Application Support/cmesh/state",
    },
  );
  assert.throws(() => cmeshPaths({ os: "darwin", env: {} }), /set CMESH_HOME/);
});

Deno.test("windows: %APPDATA%\\cmesh, state under %LOCALAPPDATA%, backslashes", () => {
  assert.deepEqual(
    cmeshPaths({
      os: "windows",
      env: {
        USERPROFILE: "C:\\Users\\ann",
        APPDATA: "C:\\Users\\ann\\AppData\\Roaming",
        LOCALAPPDATA: "C:\\Users\\ann\\AppData\\Local",
      },
    }),
    {
      configDir: "C:\\Users\\ann\\AppData\\Roaming\\cmesh",
      configFile: "C:\\Users\\ann\\AppData\\Roaming\\cmesh\\config.toml",
      runnersDir: "C:\\Users\\ann\\AppData\\Roaming\\cmesh\\runners",
      stateDir: "C:\\Users\\ann\\AppData\\Local\\cmesh\\state",
    },
  );
});

Deno.test("windows: without %LOCALAPPDATA% state goes under %APPDATA%", () => {
  const p = cmeshPaths({ os: "windows", env: { APPDATA: "D:\\roam" } });
  assert.equal(p.configFile, "D:\\roam\\cmesh\\config.toml");
  assert.equal(p.stateDir, "D:\\roam\\cmesh\\state");
});

Deno.test("windows: without %APPDATA%, USERPROFILE\\AppData\\Roaming (not an MSYS HOME)", () => {
  const p = cmeshPaths({
    os: "windows",
    env: { USERPROFILE: "C:\\Users\\ann", HOME: "/c/Users/ann" },
  });
  assert.equal(p.configFile, "C:\\Users\\ann\\AppData\\Roaming\\cmesh\\config.toml");
  assert.throws(() => cmeshPaths({ os: "windows", env: {} }), /cannot find %APPDATA%/);
});

Deno.test("CMESH_HOME overrides everything on every OS", () => {
  for (const os of ["linux", "darwin"] as const) {
    assert.deepEqual(
      cmeshPaths({
        os,
        env: { CMESH_HOME: "/opt/cm", HOME: "/home/ann", XDG_CONFIG_HOME: "/cfg" },
      }),
      {
        configDir: "/opt/cm",
        configFile: "/opt/cm/config.toml",
        runnersDir: "/opt/cm/runners",
        stateDir: "/opt/cm/state",
      },
    );
  }
  assert.deepEqual(
    cmeshPaths({ os: "windows", env: { CMESH_HOME: "E:\\cm", APPDATA: "C:\\x" } }),
    {
      configDir: "E:\\cm",
      configFile: "E:\\cm\\config.toml",
      runnersDir: "E:\\cm\\runners",
      stateDir: "E:\\cm\\state",
    },
  );
});

Deno.test("an empty CMESH_HOME counts as unset", () => {
  const p = cmeshPaths({ os: "linux", env: { CMESH_HOME: "", HOME: "/home/ann" } });
  assert.equal(p.configFile, "/home/ann/.config/cmesh/config.toml");
});

Deno.test("currentPaths reads this process's environment", () => {
  const before = Deno.env.get("CMESH_HOME");
  try {
    Deno.env.set("CMESH_HOME", "/tmp/cmesh-paths-test");
    assert.equal(
      currentPaths().configFile.replaceAll("\\", "/"),
      "/tmp/cmesh-paths-test/config.toml",
    );
  } finally {
    if (before === undefined) Deno.env.delete("CMESH_HOME");
    else Deno.env.set("CMESH_HOME", before);
  }
});
