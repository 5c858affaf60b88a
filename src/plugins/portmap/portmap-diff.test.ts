/**
 * Differential tests against Debian's Go portmap (v1.1.1): the same config through
 * theirs and ours leaves the same nat tables (IPv4 and IPv6), and a DEL by either
 * removes what the other added. Every command runs inside a node namespace.
 */
import { describe, expect } from "bun:test";
import { rootTest, type TestNetns } from "../../../test/helpers/netns.ts";
import { withNode } from "../../../test/helpers/node.ts";
import { dualStackPrev, natRules, OURS, portmapConf, REF } from "../../../test/helpers/portmap-kit.ts";
import { runIn, type Call } from "../../../test/helpers/plugin-run.ts";

/** Both nat tables, rules in order, chain counters left out. */
function natTables(node: TestNetns): string[] {
  return ([4, 6] as const).flatMap((family) => [`# ip${family === 6 ? "6" : ""}tables-save`, ...natRules(node, family)]);
}

/** Empties both nat tables of a node and removes the CNI chains, so the next plugin starts from scratch. */
function resetNat(node: TestNetns): void {
  for (const t of ["iptables", "ip6tables"]) {
    node.exec([t, "-t", "nat", "-F"]);
    for (const l of node.exec([`${t}-save`, "-t", "nat"]).split("\n")) if (l.startsWith(":CNI-")) node.exec([t, "-t", "nat", "-X", l.slice(1).split(" ")[0]!]);
  }
}

const tcp = (hostPort: number, containerPort: number, extra: Record<string, unknown> = {}) => ({ hostPort, containerPort, protocol: "tcp", ...extra });

const CASES: [string, unknown[], Record<string, unknown>][] = [
  [
    "tcp and udp, hostIP in either family, 0.0.0.0",
    [
      tcp(8080, 80),
      tcp(9090, 90, { hostIP: "192.168.5.5" }),
      tcp(9091, 91, { hostIP: "2001:DB8::0001" }),
      { hostPort: 53, containerPort: 53, protocol: "udp", hostIP: "0.0.0.0" },
    ],
    {},
  ],
  ["conditions", [tcp(8080, 80)], { conditionsV4: ["-s", "1.2.3.4", "!", "-i", "lo"], conditionsV6: ["-s", "2001:db8::5"] }],
  ["externalSetMarkChain", [tcp(8080, 80)], { externalSetMarkChain: "KUBE-MARK-MASQ" }],
  ["markMasqBit", [tcp(8080, 80)], { markMasqBit: 5 }],
  ["snat off, a mapping listed twice", [tcp(8080, 80), tcp(8080, 80)], { snat: false }],
  [
    "sctp and 17 tcp ports (multiport takes 15)",
    [{ hostPort: 8080, containerPort: 80, protocol: "sctp" }, ...Array.from({ length: 17 }, (_, i) => tcp(10000 + i, 80))],
    {},
  ],
];

function setup(node: TestNetns, extra: Record<string, unknown>): void {
  if (!extra.externalSetMarkChain) return;
  for (const t of ["iptables", "ip6tables"]) node.exec([t, "-t", "nat", "-N", String(extra.externalSetMarkChain)]);
}

describe("portmap against the Go portmap", () => {
  for (const [name, maps, extra] of CASES) {
    rootTest(`${name}: same rules, CHECK passes, DEL leaves what theirs leaves`, () =>
      withNode(1, (node, [pod]) => {
        setup(node, extra);
        const conf = portmapConf(dualStackPrev(pod!), maps, extra);
        const call = (argv: string[], command: Call["command"]) => runIn(node, argv, { command, netns: pod!.path, containerID: "ctr1", conf });
        expect(call(REF, "ADD").code).toBe(0);
        const theirs = natTables(node);
        expect(call(REF, "DEL").code).toBe(0);
        const afterTheirDel = natTables(node);
        resetNat(node);

        const add = call(OURS, "ADD");
        expect(add.stderr).toBe("");
        expect(natTables(node)).toEqual(theirs);
        expect(call(OURS, "CHECK").code).toBe(0);
        expect(call(OURS, "DEL").code).toBe(0);
        expect(natTables(node)).toEqual(afterTheirDel);
        expect(call(OURS, "DEL").code).toBe(0);
      }),
    );
  }

  // A node that has its shared chains already: ours reads only a few chains over netlink
  // (iptables-nft) instead of the whole table, and must still add exactly what theirs adds;
  // with another mark than the node's it falls back to comparing the whole table.
  for (const [name, extra] of [
    ["on a node the Go portmap set up", {}],
    ["with another markMasqBit than the node's", { markMasqBit: 5 }],
  ] as const) {
    for (const wrap of [[], ["env", "CNI_TS_IPTABLES_NETLINK=0"]]) {
      rootTest(`a second container ${name}${wrap.length ? " (iptables-save path)" : ""}: same rules, DEL leaves what theirs leaves`, () =>
        withNode(1, (node, [pod]) => {
          const prev = dualStackPrev(pod!);
          const call = (argv: string[], command: Call["command"], id: string, more: Record<string, unknown>) =>
            runIn(node, argv, { command, netns: pod!.path, containerID: id, conf: portmapConf(prev, [tcp(8080, 80)], more), wrap: argv === OURS ? wrap : [] });
          expect(call(REF, "ADD", "first", {}).code).toBe(0);
          expect(call(REF, "ADD", "second", extra).code).toBe(0);
          const theirs = natTables(node);
          expect(call(REF, "DEL", "second", extra).code).toBe(0);
          const afterTheirDel = natTables(node);
          expect(call(OURS, "ADD", "second", extra).stderr).toBe("");
          expect(natTables(node)).toEqual(theirs);
          expect(call(OURS, "CHECK", "second", extra).code).toBe(0);
          expect(call(OURS, "DEL", "second", extra).code).toBe(0);
          expect(natTables(node)).toEqual(afterTheirDel);
        }),
      );
    }
  }

  rootTest("a DEL by either removes what the other's ADD made", () =>
    withNode(1, (node, [pod]) => {
      const conf = portmapConf(dualStackPrev(pod!), [tcp(8080, 80), tcp(8443, 443)]);
      const call = (argv: string[], command: Call["command"], id: string) => runIn(node, argv, { command, netns: pod!.path, containerID: id, conf });
      const leftovers = () => natTables(node).filter((l) => l.includes("CNI-DN-") || l.includes("dnat name"));
      expect(call(REF, "ADD", "go-made").code).toBe(0);
      expect(call(OURS, "ADD", "ours-made").code).toBe(0);
      expect(leftovers().length).toBeGreaterThan(0);
      expect(call(OURS, "DEL", "go-made").code).toBe(0);
      expect(call(REF, "DEL", "ours-made").code).toBe(0);
      expect(leftovers()).toEqual([]);
    }),
  );
});
