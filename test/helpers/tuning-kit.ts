/** Test fixtures for tuning: a node and a pod with eth0 (veth to the node), a backup dir; all removed afterwards. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestNetns } from "./netns.ts";
import { withNodeAndPod } from "./node.ts";

/** A pod with eth0 (the far end in the node), as a main plugin would leave it: the node kit's node and pod, its temp dir for the backups. */
export function withPod(fn: (node: TestNetns, pod: TestNetns, dataDir: string) => void | Promise<void>): Promise<void> {
  return withNodeAndPod(
    (node, pod, dataDir) => {
      node.exec(["ip", "link", "add", "tunhost", "type", "veth", "peer", "name", "eth0", "netns", pod.name]);
      pod.exec(["ip", "link", "set", "eth0", "up"]);
      return fn(node, pod, dataDir);
    },
    { prefix: "tun" },
  );
}

/** The prevResult a main plugin hands on. */
export const prev = (pod: TestNetns) => ({
  cniVersion: "1.0.0",
  interfaces: [{ name: "eth0", mac: "00:00:00:00:00:00", sandbox: pod.path }],
  ips: [{ interface: 0, address: "10.9.0.2/24" }],
});

/** A tuning config (network tun) with its backups in `dataDir`, the settings in `fields`, after `prevResult`. */
export function tuningConf<P, F extends object>(dataDir: string, prevResult: P, fields?: F) {
  return { cniVersion: "1.0.0", name: "tun", type: "tuning", dataDir, ...fields, prevResult };
}

/** Tuning with nothing to tune after an empty result (the benchmarks' no-op ADD), its backups in `dataDir`. */
export function noopTuningConf(dataDir: string) {
  return { cniVersion: "1.0.0", name: "noop", type: "tuning", dataDir, prevResult: { cniVersion: "1.0.0", interfaces: [], ips: [] } };
}

/**
 * A command prefix that runs the plugin in a private mount namespace whose /etc is an
 * overlay with /etc/cni/tuning/allowlist.conf holding `lines`: the machine's /etc is
 * never written. Call cleanup() afterwards.
 */
export function withAllowlist(lines: string[]): { wrap: string[]; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "cni-tuning-etc-"));
  mkdirSync(join(dir, "upper/cni/tuning"), { recursive: true });
  mkdirSync(join(dir, "work"));
  writeFileSync(join(dir, "upper/cni/tuning/allowlist.conf"), lines.join("\n") + "\n");
  const mount = `mount -t overlay overlay -o lowerdir=/etc,upperdir=${dir}/upper,workdir=${dir}/work /etc && exec "$0" "$@"`;
  return { wrap: ["unshare", "-m", "--propagation", "private", "sh", "-c", mount], cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
