import { expect } from "bun:test";
import { rootTest, withNetns, type TestNetns } from "../../test/helpers/netns.ts";
import { NetNS } from "../sys/netns.ts";
import { NftError, nftApply, nftChainExists, nftDelete, nftListTable } from "./nft.ts";

function inNode<T>(node: TestNetns, fn: () => T): T {
  using ns = NetNS.open(node.path);
  return ns.runIn(fn);
}

const SETUP = [
  "add table inet t",
  "add chain inet t base { type filter hook forward priority 0 ; }",
  "add chain inet t a",
  "add chain inet t b",
  'add rule inet t base jump a comment "x"',
  'add rule inet t base jump b comment "y"',
  'add rule inet t a jump b comment "x"',
  'add rule inet t b accept comment "x"',
];

rootTest("nftDelete: listed rules, then chains with their rules, in one transaction; all or nothing", () =>
  withNetns(1, (node) => {
    inNode(node, () => nftApply(SETUP));
    const listed = inNode(node, () => nftListTable("inet", "t"));
    const byComment = (chain: string, c: string) => listed.filter((r) => r.chain === chain && r.comment === c);
    // A rule that is not there (its handle deleted meanwhile) fails the whole transaction: nothing is deleted.
    const gone = { chain: "base", handle: 99999 };
    expect(() => inNode(node, () => nftDelete("inet", "t", [...byComment("base", "x"), gone], ["a"]))).toThrow(NftError);
    expect(inNode(node, () => nftListTable("inet", "t")).length).toBe(listed.length);
    // The jump to a, then a with its rule (its jump to b let go): b stays, with its rule and base's jump to it.
    inNode(node, () => nftDelete("inet", "t", byComment("base", "x"), ["a"]));
    expect(inNode(node, () => nftChainExists("inet", "t", "a"))).toBe(false);
    expect(inNode(node, () => nftChainExists("inet", "t", "b"))).toBe(true);
    const left = node.exec(["nft", "list", "table", "inet", "t"]);
    expect(left).toContain('jump b comment "y"');
    expect(left).toContain('accept comment "x"');
    expect(left).not.toContain("jump a");
    // Nothing to delete is no transaction and no error.
    inNode(node, () => nftDelete("inet", "t", []));
    expect(() => nftDelete("inet", "bad name", [])).toThrow(RangeError);
  }),
);
