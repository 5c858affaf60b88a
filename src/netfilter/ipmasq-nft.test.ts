import { expect, test } from "bun:test";
import { rootTest, withNetns, type TestNetns } from "../../test/helpers/netns.ts";
import { NetNS } from "../sys/netns.ts";
import { gcIPMasqNft, hashForInstance, nftMasqComment, setupIPMasqNft, teardownIPMasqNft } from "./ipmasq-nft.ts";

function inNode<T>(node: TestNetns, fn: () => T): T {
  using ns = NetNS.open(node.path);
  return ns.runIn(fn);
}
const rules = (node: TestNetns) =>
  node
    .exec(["nft", "list", "chain", "inet", "cni_plugins_masquerade", "masq_checks"], { allowFail: true })
    .split("\n")
    .filter((l) => l.includes("masquerade comment"));

test("comments start with the attachment's hash, as the reference's", () => {
  expect(nftMasqComment("net1", "eth0", "ctr")).toBe(`${hashForInstance("net1", "eth0", "ctr")}, net: net1, if: eth0, id: ctr`);
  expect(hashForInstance("net1", "eth0", "ctr")).toMatch(/^[0-9a-f]{16}-[0-9a-f]{16}$/);
});

rootTest("setup replaces an attachment's rules, teardown and GC remove exactly theirs", () =>
  withNetns(1, (node) => {
    inNode(node, () => {
      setupIPMasqNft(["10.5.0.2/24", "fd05::2/64"], "n", "eth0", "a");
      setupIPMasqNft(["10.5.0.3/24"], "n", "eth0", "b");
      setupIPMasqNft(["10.5.0.4/24"], "n", "eth0", "c");
      setupIPMasqNft(["10.5.0.2/24", "fd05::2/64"], "n", "eth0", "a");
    });
    expect(rules(node).length).toBe(4);
    expect(rules(node).join("\n")).toContain("ip6 saddr fd05::2 ip6 daddr != fd05::/64 masquerade");
    inNode(node, () => teardownIPMasqNft("n", "eth0", "a"));
    expect(rules(node).length).toBe(2);
    inNode(node, () => gcIPMasqNft("n", [{ containerID: "b", ifname: "eth0" }]));
    expect(rules(node).map((l) => l.includes("10.5.0.3"))).toEqual([true]);
    inNode(node, () => teardownIPMasqNft("n", "eth0", "b"));
    inNode(node, () => teardownIPMasqNft("n", "eth0", "b"));
    expect(rules(node)).toEqual([]);
  }),
);

rootTest("teardown and GC where the table was never made: nothing to do, and nothing made", () =>
  withNetns(1, (node) => {
    inNode(node, () => {
      teardownIPMasqNft("n", "eth0", "a");
      gcIPMasqNft("n", []);
    });
    expect(node.exec(["nft", "list", "tables"])).not.toContain("cni_plugins_masquerade");
  }),
);

rootTest("setup makes what the reference's nft script makes (tables, chains, rules, comments), over netlink", () =>
  withNetns(2, (ours, ref) => {
    const ipns = ["10.5.0.2/24", "fd05::2/64", "10.9.0.2/13", "fd06::2/60", "10.8.0.1/32", "10.6.0.7/0"];
    inNode(ours, () => setupIPMasqNft(ipns, "net1", "eth0", "ctr1"));
    const T = "inet cni_plugins_masquerade";
    const c = `"${nftMasqComment("net1", "eth0", "ctr1")}"`;
    const script = [
      `add table ${T} { comment "Masquerading for plugins from github.com/containernetworking/plugins" ; }`,
      `add chain ${T} masq_checks { comment "Masquerade traffic from certain IPs to any (non-multicast) IP outside their subnet" ; }`,
      `add chain ${T} postrouting { type nat hook postrouting priority 100 ; }`,
      `flush chain ${T} postrouting`,
      `add rule ${T} postrouting ip daddr == 224.0.0.0/4 return`,
      `add rule ${T} postrouting ip6 daddr == ff00::/8 return`,
      `add rule ${T} postrouting goto masq_checks`,
      `add rule ${T} masq_checks ip saddr == 10.5.0.2 ip daddr != 10.5.0.0/24 masquerade comment ${c}`,
      `add rule ${T} masq_checks ip6 saddr == fd05::2 ip6 daddr != fd05::/64 masquerade comment ${c}`,
      `add rule ${T} masq_checks ip saddr == 10.9.0.2 ip daddr != 10.8.0.0/13 masquerade comment ${c}`,
      `add rule ${T} masq_checks ip6 saddr == fd06::2 ip6 daddr != fd06::/60 masquerade comment ${c}`,
      `add rule ${T} masq_checks ip saddr == 10.8.0.1 ip daddr != 10.8.0.1/32 masquerade comment ${c}`,
      `add rule ${T} masq_checks ip saddr == 10.6.0.7 ip daddr != 0.0.0.0/0 masquerade comment ${c}`,
    ];
    ref.exec(["nft", "-f", "-"], { input: script.join("\n") + "\n" });
    expect(ours.nftListing()).toBe(ref.nftListing());
    expect(ours.nftListing()).toContain("[ masq ]");
  }),
);
