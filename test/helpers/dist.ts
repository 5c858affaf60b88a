/**
 * The compiled binary, which every test that runs cni-ts as a process uses (as a runtime
 * or the kubelet would, and without Bun compiling the sources at every plugin start).
 * `npm test` builds it first; a bare `bun test` builds it here, once, when it is missing
 * or older than a source file, so a test never runs a stale binary.
 */
import { afterAll, beforeAll } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { spawnSync } from "node:child_process";

const ROOT = resolve(import.meta.dir, "../..");
export const DIST = resolve(ROOT, "dist/cni-ts");

/** The newest modification time of the files under `dir` (ms). */
function newestIn(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestIn(p) : statSync(p).mtimeMs);
  }
  return newest;
}

let checked = false;

/** Path of dist/cni-ts, built when it is missing or older than src/ (checked once per test process). */
export function ensureBuilt(): string {
  if (checked) return DIST;
  const stale = !existsSync(DIST) || statSync(DIST).mtimeMs < Math.max(newestIn(join(ROOT, "src")), statSync(join(ROOT, "package.json")).mtimeMs);
  if (stale) {
    const r = spawnSync(process.execPath, ["run", "build"], { cwd: ROOT, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`build failed: ${r.stderr}`);
  }
  checked = true;
  return DIST;
}

/**
 * A temp dir with one link per plugin type, as `cni-ts install` makes them (to
 * dist/cni-ts-shim, which runs dist/cni-ts), or with `direct` to dist/cni-ts itself;
 * remove it with the returned cleanup.
 */
export function installedBinDir(opts: { direct?: boolean } = {}): { dir: string; cleanup: () => void } {
  const bin = ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), "cni-ts-bin-"));
  const r = spawnSync(bin, ["install", "--bin-dir", dir, ...(opts.direct ? ["--direct"] : [])], { encoding: "utf8" });
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
