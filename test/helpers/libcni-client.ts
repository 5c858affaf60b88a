/**
 * A runtime built on the reference Go libcni (../shared/tools/libcni-client): what
 * containerd, CRI-O and podman embed. Built once per machine into the temp dir.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const BUILD = resolve(import.meta.dir, "../../../shared/tools/libcni-client/build");

let built: string | undefined;

/** Path of the libcni-client binary, or undefined (with the reason) when it cannot be built here. */
export function libcniClient(): { path?: string; why?: string } {
  if (built) return { path: built };
  if (!existsSync(BUILD)) return { why: `${BUILD} not found` };
  const r = spawnSync("bash", [BUILD, join(tmpdir(), "libcni-client")], { encoding: "utf8" });
  if (r.status !== 0) return { why: `libcni-client build failed: ${r.stderr}` };
  built = r.stdout.trim().split("\n").pop();
  return { path: built };
}
