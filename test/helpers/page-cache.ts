/** The page cache of a file as tests and benchmarks see and reset it (cni-ts-shim reads the binary through after a boot). */
import { statSync } from "node:fs";
import { dirname, join } from "node:path";

/** Bytes of `file` in the page cache (util-linux's fincore). */
export function residentBytes(file: string): number {
  const r = Bun.spawnSync(["fincore", "--bytes", "--noheadings", "--output", "RES", file]);
  if (!r.success) throw new Error(`fincore ${file}: ${r.stderr}`);
  return Number(r.stdout.toString().trim());
}

/** `file`'s pages out of the page cache, as after a boot (written back first: the kernel keeps a dirty page). */
export function dropPageCache(file: string): void {
  for (const argv of [
    ["sync", file],
    ["dd", `if=${file}`, "iflag=nocache", "count=0", "status=none"],
  ]) {
    const r = Bun.spawnSync(argv);
    if (!r.success) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
  }
}

/**
 * `file` in the page cache as a read leaves it (large folios), whatever filled it before: a
 * build's writes, or a run's own page faults, which leave small folios that every later run
 * of an executable pays for (src/shim/cni-ts-shim.c). Pages a process has mapped stay as they are.
 */
export function readThrough(file: string): void {
  dropPageCache(file);
  const r = Bun.spawnSync(["dd", `if=${file}`, "of=/dev/null", "bs=2M", "status=none"]);
  if (!r.success) throw new Error(`reading ${file}: ${r.stderr}`);
}

/** The mark cni-ts-shim leaves beside the daemon socket `socket` once it has read the binary `exe` through (src/shim/cni-ts-shim.c, warm_page_cache). */
export function pageCacheMark(exe: string, socket: string): string {
  const st = statSync(exe, { bigint: true });
  const ns = 1_000_000_000n;
  return join(dirname(socket), `page-cache.${st.dev.toString(16)}.${st.ino.toString(16)}.${st.mtimeNs / ns}.${st.mtimeNs % ns}`);
}
