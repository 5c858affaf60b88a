/** What the portmap tests share: ours and the Go plugin, their config, a pod's prevResult, the node's nat rules. */
import type { TestNetns } from "./netns.ts";
import { ours, reference } from "./plugin-run.ts";

export const OURS = ours("portmap");
export const REF = reference("portmap");

/** A portmap config (network pmnet) for `maps` after `prevResult`, with `extra` fields. */
export function portmapConf(prevResult: unknown, maps: unknown[], extra: Record<string, unknown> = {}) {
  return {
    cniVersion: "1.0.0",
    name: "pmnet",
    type: "portmap",
    capabilities: { portMappings: true },
    runtimeConfig: { portMappings: maps },
    ...extra,
    prevResult,
  };
}

/** A main plugin's result for a pod with 10.88.0.2/24 and fd00:88::2/64 on eth0. */
export function dualStackPrev(pod: TestNetns) {
  return {
    cniVersion: "1.0.0",
    interfaces: [{ name: "eth0", sandbox: pod.path }],
    ips: [
      { interface: 0, address: "10.88.0.2/24" },
      { interface: 0, address: "fd00:88::2/64" },
    ],
  };
}

/** The nat table's chains and rules (iptables, or ip6tables with `family` 6), in order, counters left out. */
export function natRules(node: TestNetns, family: 4 | 6 = 4): string[] {
  return node
    .exec([family === 4 ? "iptables-save" : "ip6tables-save", "-t", "nat"])
    .split("\n")
    .filter((l) => /^(-A|:CNI)/.test(l))
    .map((l) => l.replace(/ \[\d+:\d+\]$/, ""));
}
