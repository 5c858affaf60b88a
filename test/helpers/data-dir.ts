/**
 * A host-local data dir for a test: one level down in a temp dir of its own, because the
 * owner index lives beside the data dir (src/ipam/store.ts, indexDirOf) and must go
 * with the temp dir, parents and all. Remove `tmp` afterwards.
 */
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function tempDataDir(prefix: string): { tmp: string; dataDir: string } {
  const tmp = mkdtempSync(join(tmpdir(), prefix));
  const dataDir = join(tmp, "data");
  mkdirSync(dataDir);
  return { tmp, dataDir };
}
