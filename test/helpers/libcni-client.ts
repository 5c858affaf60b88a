/**
 * A runtime built on the reference Go libcni (test/oracle/libcni-client, built here
 * against Debian's golang-github-appc-cni-dev): what containerd, CRI-O and podman
 * embed, one exec per plugin. Built once per machine into the temp dir.
 */
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { TestNetns } from "./netns.ts";

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

/** Where and how libcniRuntime runs the client. */
export interface LibcniRun {
  /** CNI_PATH. */
  bin: string;
  /** The pod's namespace path and container id every command names. */
  netns: string;
  containerID: string;
  /** The client runs in this namespace (`ip netns exec`); in the test's own when absent. */
  node?: TestNetns;
  /** CNI_IFNAME; eth0 by default. */
  ifName?: string;
  /** CAP_ARGS of every command (a command may pass its own). */
  capArgs?: unknown;
}

/**
 * The libcni runtime for one network list: `list` written into a new conf dir under
 * `work` (NETCONFPATH, with a result cache dir beside it), and a runner of `VERB NETWORK
 * NETNS CONTAINERID` as a container runtime would call it.
 */
export function libcniRuntime(
  work: string,
  list: { name: string },
  run: LibcniRun,
): (verb: "add" | "check" | "del", capArgs?: unknown) => SpawnSyncReturns<string> {
  const client = libcniClientPath();
  const confDir = mkdtempSync(join(work, "net.d-"));
  writeFileSync(join(confDir, `10-${list.name}.conflist`), JSON.stringify(list));
  const env = { PATH: process.env.PATH!, NETCONFPATH: confDir, CNI_PATH: run.bin, CNI_IFNAME: run.ifName ?? "eth0", CNI_CACHE_DIR: `${confDir}-cache` };
  return (verb, capArgs = run.capArgs) => {
    const argv = [client, verb, list.name, run.netns, run.containerID];
    const withCaps = capArgs === undefined ? env : { ...env, CAP_ARGS: JSON.stringify(capArgs) };
    return run.node
      ? spawnSync("ip", ["netns", "exec", run.node.name, ...argv], { env: withCaps, encoding: "utf8" })
      : spawnSync(argv[0]!, argv.slice(1), { env: withCaps, encoding: "utf8" });
  };
}
