/**
 * Kernel features some tests need and this host's kernel may lack (its kernel has no
 * dummy, vlan, ipvlan or vrf links and no bridge VLAN filtering). A test file that
 * needs one is named `*.vm.test.ts` and declares its tests with `kernelTest`: where the
 * kernel lacks the feature they are skipped with the reason, and test/vm/vm.test.ts
 * runs the same files in a VM on Debian's stock kernel, which has them all.
 */
import { test } from "bun:test";
import { spawnSync } from "node:child_process";

export type KernelFeature = "dummy" | "vlan" | "ipvlan" | "vrf" | "tap" | "bridge-vlan-filtering" | "ipip" | "wireguard";

/** One `ip` command per feature, run in a throwaway network namespace after making a veth pair. */
const PROBES: Record<KernelFeature, string> = {
  dummy: "ip link add probe0 type dummy",
  vlan: "ip link add link probe-a name probe0 type vlan id 5",
  ipvlan: "ip link add link probe-a name probe0 type ipvlan mode l2",
  vrf: "ip link add probe0 type vrf table 10",
  tap: "ip tuntap add mode tap name probe0",
  "bridge-vlan-filtering": "ip link add probe0 type bridge vlan_filtering 1",
  ipip: "ip link add probe0 type ipip local 10.0.0.1",
  wireguard: "ip link add probe0 type wireguard",
};

const known = new Map<KernelFeature, boolean>();

/** Whether the running kernel has the feature (probed once, as root, in a namespace that is gone after). */
export function kernelHas(feature: KernelFeature): boolean {
  let has = known.get(feature);
  if (has === undefined) {
    const script = `ip link add probe-a type veth peer name probe-b && ${PROBES[feature]}`;
    const r = spawnSync("unshare", ["-n", "sh", "-c", script], { encoding: "utf8" });
    has = r.status === 0;
    known.set(feature, has);
  }
  return has;
}

/** True inside the VM that test/vm/vm.test.ts boots. */
export const inVm = process.env.CNI_TS_IN_VM === "1";

/** `test` when running as root on a kernel with every feature; otherwise a skip that says why and where they run. */
export function kernelTest(...features: KernelFeature[]): typeof test {
  let reason: string | undefined;
  if (process.getuid?.() !== 0) reason = "needs root";
  else {
    const missing = features.filter((f) => !kernelHas(f));
    if (missing.length) reason = `this kernel lacks ${missing.join(", ")}: runs in the VM through test/vm/vm.test.ts`;
  }
  if (!reason) return test;
  const skip = (name: string, ...rest: unknown[]) => test.skip(`${name} (${reason})`, ...(rest as []));
  return skip as unknown as typeof test;
}
