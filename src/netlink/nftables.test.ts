import { describe, expect } from "bun:test";
import { rootTest, withNetns, type TestNetns } from "../../test/helpers/netns.ts";
import { NetlinkError } from "./error.ts";
import { nftChainInfo, nftChainRules, nftHandle, nftRemove, nftTableNames } from "./nftables.ts";
import { NetNS } from "../sys/netns.ts";

const canRun = Bun.which("iptables-restore") !== null && Bun.which("iptables-save") !== null;

/** Two chains in the nat table, written by iptables-restore (iptables-nft on this host): A with two rules, POSTROUTING jumping to A twice. */
function setUp(node: TestNetns): void {
  node.exec(["iptables-restore", "--noflush"], {
    input: [
      "*nat",
      ":NLT-A - [0:0]",
      ":NLT-B - [0:0]",
      '-A NLT-A -d 10.1.0.0/16 -m comment --comment "name: \\"n\\" id: \\"x\\"" -j ACCEPT',
      "-A NLT-A -j MASQUERADE",
      '-A POSTROUTING -s 10.1.0.2/32 -m comment --comment "name: \\"n\\" id: \\"x\\"" -j NLT-A',
      "-A POSTROUTING -s 10.1.0.3/32 -j NLT-B",
      "-A POSTROUTING -s 10.1.0.4/32 -g NLT-A",
      "COMMIT",
      "",
    ].join("\n"),
  });
}

function saved(node: TestNetns): string[] {
  return node
    .exec(["iptables-save", "-t", "nat"])
    .split("\n")
    .filter((l) => l.startsWith("-A") || l.startsWith(":NLT"));
}

const nftIptables = (() => {
  const r = Bun.spawnSync(["iptables", "--version"], { stdout: "pipe" });
  return r.success && r.stdout.toString().includes("nf_tables");
})();

describe("nf_tables over netlink", () => {
  rootTest.skipIf(!canRun || !nftIptables)("reads chains and rules that iptables-nft wrote, and removes them in one transaction", () =>
    withNetns(1, (node) => {
      setUp(node);
      using ns = NetNS.open(node.path);
      using h = ns.runIn(() => nftHandle());
      expect(nftTableNames(h)).toEqual(new Set(["ip nat"]));
      // The kernel's reference count: the chain's own rules and the jumps (and gotos) to it.
      expect(nftChainInfo(h, "ip", "nat", "NLT-A")?.use).toBe(4);
      expect(nftChainInfo(h, "ip", "nat", "NLT-B")?.use).toBe(1);
      expect(nftChainInfo(h, "ip", "nat", "NLT-NONE")?.use).toBeUndefined();
      expect(nftChainInfo(h, "ip6", "nat", "NLT-A")?.use).toBeUndefined();
      const post = nftChainRules(h, "ip", "nat", "POSTROUTING");
      expect(post.map((r) => r.exprs.find((e) => e.jumpTo)?.jumpTo)).toEqual(["NLT-A", "NLT-B", "NLT-A"]);
      expect(post[0]!.exprs.some((e) => e.xtName === "comment")).toBe(true);
      // Only the rules naming the text are decoded.
      expect(nftChainRules(h, "ip", "nat", "POSTROUTING", "NLT-B").length).toBe(1);
      const a = nftChainRules(h, "ip", "nat", "NLT-A");
      expect(a.length).toBe(2);
      expect(a[1]!.exprs.some((e) => e.xtName === "MASQUERADE" || e.name === "masq")).toBe(true);
      expect(nftChainRules(h, "ip", "nat", "NLT-NONE")).toEqual([]);
      const before = saved(node);
      // A chain still jumped to cannot go: the whole transaction fails, nothing changes.
      const jumpsToA = post.filter((r) => r.exprs.some((e) => e.jumpTo === "NLT-A"));
      expect(() => nftRemove(h, "ip", "nat", [{ rule: jumpsToA[0]!.handle, chain: "POSTROUTING" }, { flush: "NLT-A" }, { deleteChain: "NLT-A" }])).toThrow(
        NetlinkError,
      );
      expect(saved(node)).toEqual(before);
      nftRemove(h, "ip", "nat", [...jumpsToA.map((r) => ({ rule: r.handle, chain: "POSTROUTING" })), { flush: "NLT-A" }, { deleteChain: "NLT-A" }]);
      expect(saved(node)).toEqual(["-A POSTROUTING -s 10.1.0.3/32 -j NLT-B", ":NLT-B - [0:0]"].sort((x, y) => before.indexOf(x) - before.indexOf(y)));
      try {
        nftRemove(h, "ip", "nat", [{ deleteChain: "NLT-A" }]);
        throw new Error("no error");
      } catch (e) {
        expect((e as NetlinkError).code).toBe("ENOENT");
      }
    }),
  );
});
