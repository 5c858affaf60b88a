import { expect } from "bun:test";
import { rootTest, withNetns, type TestNetns } from "../../../test/helpers/netns.ts";
import { NetNS } from "../../sys/netns.ts";
import type { PortMapConf } from "./_conf.ts";
import { type NftPortMapInput, forwardScript, nftBackend } from "./_nft.ts";

function inNode<T>(node: TestNetns, fn: () => T): T {
  using ns = NetNS.open(node.path);
  return ns.runIn(fn);
}

const mappings = [
  { hostPort: 8080, containerPort: 80, protocol: "tcp" },
  { hostPort: 5353, containerPort: 53, protocol: "udp", hostIP: "192.0.2.5" },
  { hostPort: 9000, containerPort: 9000, protocol: "sctp", hostIP: "2001:db8::5" },
  { hostPort: 7000, containerPort: 70, protocol: "tcp", hostIP: "0.0.0.0" },
];

for (const [what, snat, masqAll] of [
  ["snat", true, false],
  ["snat, masqAll", true, true],
  ["no snat", false, false],
] as const) {
  rootTest(`without conditions, ADD makes over netlink what the reference's nft script makes (${what})`, () =>
    withNetns(2, (ours, ref) => {
      const conf = { backend: "nftables", snat, masqAll, conditionsV4: [], conditionsV6: [], mappings } as unknown as PortMapConf;
      const addrs = new Map<4 | 6, string>([
        [4, "10.9.0.3/24"],
        [6, "fd09::3/64"],
      ]);
      inNode(ours, () => nftBackend.forward(conf, "ctr1", addrs));
      const script: string[] = [];
      for (const [family, addr] of addrs) {
        const d: NftPortMapInput = { family, containerID: "ctr1", ip: addr.split("/")[0]!, mappings, snat, masqAll, conditions: [] };
        script.push(...forwardScript(d, []));
      }
      ref.exec(["nft", "-f", "-"], { input: script.join("\n") + "\n" });
      expect(ours.nftListing()).toBe(ref.nftListing());
      expect(ours.nftListing()).toContain("[ nat dnat ip6 addr_min reg 1 addr_max reg 1 proto_min reg 2 proto_max reg 2 flags 0x3 ]");
      // A second ADD of the same container replaces its rules (no doubles), as the script's would.
      inNode(ours, () => nftBackend.forward(conf, "ctr1", addrs));
      expect(ours.nftListing()).toBe(ref.nftListing());
    }),
  );
}
