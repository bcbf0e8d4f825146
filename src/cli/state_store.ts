/**
 * @module
 * Opening this machine's store from a CLI command (audit, inbound tasks): works whether or not
 * the daemon runs (SQLite WAL allows a second connection).
 */
import { join } from "node:path";
import { openStore, type Store } from "../store/db.ts";
import { StoreError } from "../store/errors.ts";
import { loadConfigFor, stateDirOf } from "./context.ts";
import { CliError, type CommonOptions, EXIT } from "./output.ts";

/** Opens `<state dir>/cmesh.db`, with a clear error when it does not exist yet. */
export async function openStateStore(opts: CommonOptions): Promise<Store> {
  const dir = stateDirOf(await loadConfigFor(opts));
  const path = join(dir, "cmesh.db");
  try {
    await Deno.stat(path);
  } catch {
    throw new CliError(
      `no cmesh database at ${path}: the daemon has not run with this state dir yet`,
      EXIT.FAILURE,
      "no_database",
    );
  }
  try {
    return openStore(path);
  } catch (e) {
    if (e instanceof StoreError) throw new CliError(e.message, EXIT.FAILURE, `store_${e.code}`);
    throw e;
  }
}
