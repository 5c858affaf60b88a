/**
 * A runtime built on the reference Go libcni (test/oracle/libcni-client, built here
 * against Debian's golang-github-appc-cni-dev): what containerd, CRI-O and podman
 * embed, one exec per plugin. Built once per machine into the temp dir.
 */
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ORACLE = resolve(import.meta.dir, "../oracle");

let built: string | undefined;

/** Path of the libcni-client binary, or undefined (with the reason) when it cannot be built here. */
export function libcniClient(): { path?: string; why?: string } {
  if (built) return { path: built };
  const r = spawnSync("bash", [join(ORACLE, "build"), join(tmpdir(), "cnits-libcni-client"), join(ORACLE, "libcni-client")], {
    encoding: "utf8",
  });
  if (r.status !== 0) return { why: `libcni-client build failed: ${r.stderr}` };
  built = r.stdout.trim().split("\n").pop();
  return { path: built };
}

/** The project's libcni-based runtime (what a kubelet's runtime embeds); throws when it cannot be built. */
export function libcniClientPath(): string {
  const c = libcniClient();
  if (!c.path) throw new Error(`cannot build the libcni client: ${c.why}`);
  return c.path;
}
