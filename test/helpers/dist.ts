/**
 * The compiled binary for tests that run cni-ts as a process (as a runtime or the
 * kubelet would). `npm test` builds it first; a bare `bun test` builds it here once.
 */
import { afterAll, beforeAll } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { spawnSync } from "node:child_process";

export const DIST = resolve(import.meta.dir, "../../dist/cni-ts");

/** Path of dist/cni-ts, building it when it is missing. */
export function ensureBuilt(): string {
  if (!existsSync(DIST)) {
    const r = spawnSync(process.execPath, ["run", "build"], { cwd: resolve(import.meta.dir, "../.."), encoding: "utf8" });
    if (r.status !== 0) throw new Error(`build failed: ${r.stderr}`);
  }
  return DIST;
}

/** A temp dir with one link per plugin type to dist/cni-ts (`cni-ts install`); remove it with the returned cleanup. */
export function installedBinDir(): { dir: string; cleanup: () => void } {
  const bin = ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), "cni-ts-bin-"));
  const r = spawnSync(bin, ["install", "--bin-dir", dir], { encoding: "utf8" });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`install failed: ${r.stderr}`);
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A CNI_PATH dir of links to the built binary, made before and removed after the file's tests. */
export function useBinDir(): { readonly dir: string } {
  let bin: { dir: string; cleanup: () => void } | undefined;
  beforeAll(() => {
    bin = installedBinDir();
  });
  afterAll(() => bin?.cleanup());
  return {
    get dir() {
      return bin!.dir;
    },
  };
}
