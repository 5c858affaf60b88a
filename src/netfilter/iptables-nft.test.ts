import { describe, expect } from "bun:test";
import { rootTest, withNetns, type TestNetns } from "../../test/helpers/netns.ts";
import { nftChainInfo, nftHandle, nftRuleByHandle } from "../netlink/nftables.ts";
import { NetNS } from "../sys/netns.ts";
import { iptablesUsesNftables, NftIptablesTable, withLateNetfilterCloses, withNftIptables } from "./iptables-nft.ts";

const nftIptables = Bun.which("iptables-restore") !== null && iptablesUsesNftables(4);

function restore(node: TestNetns, lines: string[]): void {
  node.exec(["iptables-restore", "--noflush"], { input: ["*nat", ...lines, "COMMIT", ""].join("\n") });
}

function natRules(node: TestNetns): string[] {
  return node
    .exec(["iptables-save", "-t", "nat"])
    .split("\n")
    .filter((l) => l.startsWith("-A ") || l.startsWith(":NFT-"));
}

function inNode<T>(node: TestNetns, fn: () => T): T {
  using ns = NetNS.open(node.path);
  return ns.runIn(fn);
}

/** An ADD as ours and iptables-restore write it: the chain, its two rules and the jump to it in one transaction. */
const masq = (chain: string, addr: string) => [
  `:${chain} - [0:0]`,
  `-A ${chain} -d 10.5.0.0/16 -j ACCEPT`,
  `-A ${chain} ! -d 224.0.0.0/4 -j MASQUERADE`,
  `-A POSTROUTING -s ${addr}/32 -j ${chain}`,
];

describe("iptables-nft tables over netlink", () => {
  rootTest.skipIf(!nftIptables)("a chain made in one transaction: the jump to it is the handle after its rules", () =>
    withNetns(1, (node) => {
      restore(node, ["-A POSTROUTING -s 10.5.0.1/32 -j MASQUERADE", ...masq("NFT-A", "10.5.0.2")]);
      using ns = NetNS.open(node.path);
      using h = ns.runIn(() => nftHandle());
      const info = nftChainInfo(h, "ip", "nat", "NFT-A")!;
      expect(info.use).toBe(3);
      const jump = nftRuleByHandle(h, "ip", "nat", "POSTROUTING", info.handle + 3n);
      expect(jump?.exprs.find((e) => e.jumpTo)?.jumpTo).toBe("NFT-A");
      // Asked for in another chain, or a handle no rule has: nothing.
      expect(nftRuleByHandle(h, "ip", "nat", "NFT-A", info.handle + 3n)).toBeUndefined();
      expect(nftRuleByHandle(h, "ip", "nat", "POSTROUTING", info.handle + 100n)).toBeUndefined();
      expect(nftChainInfo(h, "ip", "nat", "NFT-NONE")).toBeUndefined();
    }),
  );

  rootTest.skipIf(!nftIptables)("removeChain removes the chain and every jump to it, found by handle or by reading the parent", () =>
    withNetns(1, (node) => {
      // A: one transaction. B: the jump added later, after other rules (handles not adjacent).
      // C: two jumps, one of them made later. D: jumped to from a chain that is not a parent.
      restore(node, [
        ...masq("NFT-A", "10.5.0.2"),
        ":NFT-B - [0:0]",
        "-A NFT-B -j ACCEPT",
        ":NFT-C - [0:0]",
        "-A NFT-C -j ACCEPT",
        ...masq("NFT-D", "10.5.0.9"),
      ]);
      restore(node, ["-A POSTROUTING -s 10.5.0.3/32 -j MASQUERADE", "-A POSTROUTING -s 10.5.0.4/32 -j NFT-B", "-A POSTROUTING -s 10.5.0.5/32 -j NFT-C"]);
      restore(node, ["-A POSTROUTING -s 10.5.0.6/32 -j NFT-C", ":NFT-OTHER - [0:0]", "-A NFT-OTHER -j NFT-D"]);
      const left = () => natRules(node).filter((l) => !l.includes("MASQUERADE") || l.startsWith("-A NFT-D"));
      inNode(node, () =>
        withNftIptables(4, "nat", (t) => {
          expect(t.removeChain("NFT-A", ["POSTROUTING"])).toBe(true);
          expect(t.removeChain("NFT-B", ["POSTROUTING"])).toBe(true);
          expect(t.removeChain("NFT-C", ["POSTROUTING"])).toBe(true);
          expect(t.removeChain("NFT-A", ["POSTROUTING"])).toBe(false);
          // Still jumped to from elsewhere: the transaction fails and changes nothing.
          expect(() => t.removeChain("NFT-D", ["POSTROUTING"])).toThrow();
        }),
      );
      expect(left()).toEqual([
        ":NFT-D - [0:0]",
        ":NFT-OTHER - [0:0]",
        "-A POSTROUTING -s 10.5.0.9/32 -j NFT-D",
        "-A NFT-D -d 10.5.0.0/16 -j ACCEPT",
        "-A NFT-D ! -d 224.0.0.0/4 -j MASQUERADE",
        "-A NFT-OTHER -j NFT-D",
      ]);
    }),
  );
});

describe("withLateNetfilterCloses", () => {
  rootTest.skipIf(!nftIptables)("a table closed inside keeps its socket until the function returns or throws", () =>
    withNetns(1, (node) => {
      restore(node, masq("NFT-A", "10.5.0.2"));
      const closedInside = (fail: boolean): NftIptablesTable => {
        let t: NftIptablesTable | undefined;
        const run = () =>
          withLateNetfilterCloses(() => {
            t = inNode(node, () => NftIptablesTable.open(4, "nat"))!;
            t.close();
            // Closed by its owner, the socket still answers until the scope ends.
            expect(t.hasChain("NFT-A")).toBe(true);
            if (fail) throw new Error("boom");
          });
        if (fail) expect(run).toThrow("boom");
        else run();
        return t!;
      };
      for (const fail of [false, true]) expect(() => closedInside(fail).hasChain("NFT-A")).toThrow("netlink handle is closed");
      // Outside any scope close() closes at once.
      const t = inNode(node, () => NftIptablesTable.open(4, "nat"))!;
      t.close();
      expect(() => t.hasChain("NFT-A")).toThrow("netlink handle is closed");
    }),
  );
});
