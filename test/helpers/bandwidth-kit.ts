/** What the bandwidth tests share: ours and the Go plugin, the host veth they shape, a config with limits both ways, tc's view. */
import type { TestNetns } from "./netns.ts";
import { podVeth } from "./node.ts";
import { ours, reference } from "./plugin-run.ts";

export const OURS = ours("bandwidth");
export const REF = reference("bandwidth");

/** The pod's veth as a main plugin would have made it: `bwhost` in the node (made again when it is there), eth0 in the pod. */
export function setUp(node: TestNetns, pod: TestNetns): void {
  node.exec(["ip", "link", "del", "bwhost"], { allowFail: true });
  podVeth(node, pod, "bwhost");
}

/** A bandwidth config (network bwnet) of version `cniVersion` with ingress 8 Mbit/s and egress 4 Mbit/s, after `prevResult`. */
export function shapedConf(cniVersion: string, prevResult: unknown) {
  return {
    cniVersion,
    name: "bwnet",
    type: "bandwidth",
    ingressRate: 8_000_000,
    ingressBurst: 80_000,
    egressRate: 4_000_000,
    egressBurst: 40_000,
    prevResult,
  };
}

/** tc's qdiscs of `dev` (none when it is gone), without counters and reference counts. */
export function qdiscs(node: TestNetns, dev: string): { kind: string; handle: string; root?: boolean; options?: unknown }[] {
  return JSON.parse(node.exec(["tc", "-j", "qdisc", "show", "dev", dev], { allowFail: true }) || "[]").map((q: any) => ({
    kind: q.kind,
    handle: q.handle,
    root: q.root,
    options: q.options,
  }));
}
