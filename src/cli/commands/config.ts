/**
 * @module
 * `cmesh config init|show|validate|path`.
 */
import { dirname } from "node:path";
import { stringify } from "smol-toml";
import { currentPaths } from "../../config/paths.ts";
import { CONFIG_TEMPLATE } from "../../config/template.ts";
import { pruneBackups } from "../../util/backups.ts";
import { configFileFor, loadConfigFor, stateDirOf } from "../context.ts";
import { CliError, type CommonOptions, emit, EXIT } from "../output.ts";

/** `cmesh config path`: where config and state live. */
export async function configPath(opts: CommonOptions): Promise<void> {
  const paths = currentPaths();
  const file = configFileFor(opts);
  let stateDir = paths.stateDir;
  try {
    stateDir = stateDirOf(await loadConfigFor(opts));
  } catch { /* an invalid config still has paths */ }
  const value = { config_file: file, runners_dir: paths.runnersDir, state_dir: stateDir };
  emit(
    opts,
    value,
    () => `config file: ${file}\nrunners dir: ${paths.runnersDir}\nstate dir:   ${stateDir}`,
  );
}

/** `cmesh config init`: writes the starter config (refuses to overwrite without `--force`). */
export async function configInit(opts: CommonOptions & { force?: boolean }): Promise<void> {
  const file = configFileFor(opts, { mayBeMissing: true });
  let backup: string | null = null;
  try {
    await Deno.stat(file);
    if (!opts.force) {
      throw new CliError(
        `${file} already exists; use --force to replace it (a backup is kept)`,
        EXIT.FAILURE,
        "exists",
      );
    }
    backup = `${file}.bak-${new Date().toISOString().replace(/[:.]/g, "-")}`;
    await Deno.copyFile(file, backup);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  await Deno.mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(file, CONFIG_TEMPLATE, { mode: 0o600 });
  if (backup) await pruneBackups(file, ".bak-");
  emit(
    opts,
    { written: file, backup },
    () => `wrote ${file}${backup ? ` (previous file kept as ${backup})` : ""}`,
  );
}

/** `cmesh config show`: the effective config, defaults filled in. */
export async function configShow(opts: CommonOptions): Promise<void> {
  const loaded = await loadConfigFor(opts);
  emit(
    opts,
    { file: loaded.file, exists: loaded.exists, config: loaded.config },
    () =>
      `# effective configuration (${
        loaded.exists ? loaded.file : `defaults: ${loaded.file} does not exist`
      })\n` +
      stringify(loaded.config),
  );
}

/** `cmesh config validate`: exit 0 when valid, else the located problems and exit 1. */
export async function configValidate(opts: CommonOptions): Promise<void> {
  const loaded = await loadConfigFor(opts);
  emit(
    opts,
    { file: loaded.file, valid: true, exists: loaded.exists },
    () =>
      loaded.exists ? `${loaded.file}: valid` : `${loaded.file} does not exist: defaults are valid`,
  );
}
