import { expect } from "bun:test";
import { NetNS } from "../sys/netns.ts";
import { rootTest, withNetns, type TestNetns } from "../../test/helpers/netns.ts";
import { gcIPMasqForNetwork, setupIPMasqForNetworks, teardownIPMasqForNetworks } from "./ipmasq-networks.ts";
import { masqChainName } from "./ipmasq.ts";

function inNode<T>(node: TestNetns, fn: () => T): T {
  using ns = NetNS.open(node.path);
  return ns.runIn(fn);
}
const masqLines = (node: TestNetns) =>
  ["iptables-save", "ip6tables-save"].flatMap((s) =>
    node
      .exec([s, "-t", "nat"])
      .split("\n")
      .filter((l) => l.includes("CNI-")),
  );
const nftMasq = (node: TestNetns) =>
  node
    .exec(["nft", "list", "chain", "inet", "cni_plugins_masquerade", "masq_checks"], { allowFail: true })
    .split("\n")
    .filter((l) => l.includes("masquerade comment"));

rootTest("iptables: GC removes exactly the chains of this network's stale containers; teardown is idempotent", () =>
  withNetns(1, (node) => {
    inNode(node, () => {
      setupIPMasqForNetworks(["10.7.0.2/24", "fd07::2/64"], { network: "n", ifname: "eth0", containerID: "a" }, "iptables");
      setupIPMasqForNetworks(["10.7.0.3/24"], { network: "n", ifname: "eth0", containerID: "b" }, "iptables");
      setupIPMasqForNetworks(["10.8.0.3/24"], { network: "m", ifname: "eth0", containerID: "b" }, "iptables");
    });
    const chains = () =>
      [
        ...new Set(
          masqLines(node)
            .filter((l) => l.startsWith(":CNI-"))
            .map((l) => l.slice(1).split(" ")[0]),
        ),
      ].sort();
    expect(chains()).toEqual([masqChainName("n", "a"), masqChainName("n", "b"), masqChainName("m", "b")].sort());
    inNode(node, () => gcIPMasqForNetwork("n", [{ containerID: "a", ifname: "eth0" }]));
    expect(chains()).toEqual([masqChainName("n", "a"), masqChainName("m", "b")].sort());
    // Both families of "a" are still there.
    expect(masqLines(node).filter((l) => l.includes("fd07::2/128")).length).toBe(1);
    inNode(node, () => teardownIPMasqForNetworks({ network: "n", ifname: "eth0", containerID: "a" }));
    inNode(node, () => teardownIPMasqForNetworks({ network: "n", ifname: "eth0", containerID: "a" }));
    expect(chains()).toEqual([masqChainName("m", "b")]);
  }),
);

rootTest("nftables: setup, GC and teardown through the same API; GC covers both backends", () =>
  withNetns(1, (node) => {
    inNode(node, () => {
      setupIPMasqForNetworks(["10.7.0.2/24"], { network: "n", ifname: "eth0", containerID: "a" }, "nftables");
      setupIPMasqForNetworks(["10.7.0.3/24"], { network: "n", ifname: "eth0", containerID: "b" }, "nftables");
      setupIPMasqForNetworks(["10.7.0.4/24"], { network: "n", ifname: "eth0", containerID: "c" }, "iptables");
    });
    expect(nftMasq(node).length).toBe(2);
    inNode(node, () => gcIPMasqForNetwork("n", [{ containerID: "a", ifname: "eth0" }]));
    expect(nftMasq(node).length).toBe(1);
    expect(masqLines(node)).toEqual([]);
    inNode(node, () => teardownIPMasqForNetworks({ network: "n", ifname: "eth0", containerID: "a" }));
    expect(nftMasq(node)).toEqual([]);
  }),
);
