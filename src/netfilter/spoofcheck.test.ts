import { expect } from "bun:test";
import { rootTest, withNetns, type TestNetns } from "../../test/helpers/netns.ts";
import { NetNS } from "../sys/netns.ts";
import { setupSpoofCheck, teardownSpoofCheck } from "./spoofcheck.ts";

function inNode<T>(node: TestNetns, fn: () => T): T {
  using ns = NetNS.open(node.path);
  return ns.runIn(fn);
}

rootTest("setup makes over netlink what the reference's nft script makes; a second setup replaces the jump; teardown removes it all", () =>
  withNetns(2, (ours, ref) => {
    inNode(ours, () => setupSpoofCheck("veth1234abcd", "0A:58:0a:01:02:03", "c1-eth0"));
    const ic = "cni-br-iface-c1-eth0";
    const c = 'comment "macspoofchk-c1-eth0"';
    ref.exec(["nft", "-f", "-"], {
      input: `${[
        "add table bridge nat",
        "add chain bridge nat PREROUTING { type filter hook prerouting priority -300 ; policy accept ; }",
        `add chain bridge nat ${ic}`,
        `add chain bridge nat ${ic}-mac`,
        `add rule bridge nat PREROUTING iifname "veth1234abcd" jump ${ic} ${c}`,
        `add rule bridge nat ${ic} jump ${ic}-mac ${c}`,
        `add rule bridge nat ${ic}-mac ether saddr 0a:58:0a:01:02:03 return ${c}`,
        `add rule bridge nat ${ic}-mac drop ${c}`,
      ].join("\n")}\n`,
    });
    expect(ours.nftListing()).toBe(ref.nftListing());
    // Again (a retried ADD): one jump, the chains refilled.
    inNode(ours, () => setupSpoofCheck("veth1234abcd", "0a:58:0a:01:02:03", "c1-eth0"));
    expect(ours.nftListing()).toBe(ref.nftListing());
    inNode(ours, () => teardownSpoofCheck("c1-eth0"));
    const left = ours.exec(["nft", "list", "table", "bridge", "nat"]);
    expect(left).not.toContain("macspoofchk");
    expect(left).not.toContain(ic);
    // Nothing there: nothing to do.
    inNode(ours, () => teardownSpoofCheck("c1-eth0"));
  }),
);
