import { describe, expect } from "bun:test";
import { rootTest, withNetns, type TestNetns } from "../../test/helpers/netns.ts";
import { NetlinkError } from "./error.ts";
import { nftChainInfo, nftChainRules, nftCommentedRules, nftHandle, nftRemove, nftTableNames } from "./nftables.ts";
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

const hasNft = Bun.which("nft") !== null;

/** `count` rules in chains c1 and c2 of `inet t` (alternately), each commented "pod-<i>", written by nft itself; chain w for writers. */
function nftRules(node: TestNetns, count: number): void {
  const lines = ["add table inet t", "add chain inet t c1", "add chain inet t c2", "add chain inet t w"];
  for (let i = 0; i < count; i++) lines.push(`add rule inet t c${(i % 2) + 1} ip saddr 10.2.${i >> 8}.${i & 255} counter accept comment "pod-${i}"`);
  lines.push("add rule inet t c1 counter");
  node.exec(["nft", "-f", "-"], { input: `${lines.join("\n")}\n` });
}

/** nft's own listing: chain, handle and comment of every rule of `inet t`. */
function nftListed(node: TestNetns): { chain: string; handle: bigint; comment?: string }[] {
  const doc = JSON.parse(node.exec(["nft", "-j", "-a", "list", "table", "inet", "t"])) as {
    nftables: { rule?: { chain: string; handle: number; comment?: string } }[];
  };
  return doc.nftables.flatMap((o) =>
    o.rule ? [{ chain: o.rule.chain, handle: BigInt(o.rule.handle), ...(o.rule.comment === undefined ? {} : { comment: o.rule.comment }) }] : [],
  );
}

describe("rules with their comments over netlink (nftCommentedRules)", () => {
  rootTest.skipIf(!hasNft)("as nft lists them: a chain, a whole table, only the rules holding a text, nothing where there is no table", () =>
    withNetns(1, (node) => {
      nftRules(node, 400);
      using ns = NetNS.open(node.path);
      using h = ns.runIn(() => nftHandle());
      const all = nftListed(node);
      expect(nftCommentedRules(h, "inet", "t")).toEqual(all);
      expect(nftCommentedRules(h, "inet", "t", "c2")).toEqual(all.filter((r) => r.chain === "c2"));
      // Hundreds of rules over several datagrams; only those holding the text come back.
      expect(nftCommentedRules(h, "inet", "t", undefined, "pod-399")).toEqual(all.filter((r) => r.comment === "pod-399"));
      expect(nftCommentedRules(h, "inet", "t", "c1", "pod-39")).toEqual(all.filter((r) => r.chain === "c1" && r.comment?.startsWith("pod-39")));
      expect(nftCommentedRules(h, "inet", "t", undefined, "no-such-pod")).toEqual([]);
      // A rule without a comment has none.
      expect(all.filter((r) => r.comment === undefined).length).toBe(1);
      expect(nftCommentedRules(h, "inet", "none")).toEqual([]);
      expect(nftCommentedRules(h, "ip", "t")).toEqual([]);
      expect(() => nftCommentedRules(h, "nosuch", "t")).toThrow(RangeError);
    }),
  );

  rootTest.skipIf(!hasNft)("while other processes commit: every read finds exactly the rule asked for (an interrupted dump is read again)", async () =>
    withNetns(1, async (node) => {
      nftRules(node, 3000);
      using ns = NetNS.open(node.path);
      using h = ns.runIn(() => nftHandle());
      const want = nftListed(node).filter((r) => r.comment === "pod-2999");
      // Writers adding and deleting a rule of their own, back to back, while the reads run.
      const writers = [1, 2].map((w) =>
        Bun.spawn(["ip", "netns", "exec", node.name, "sh", "-c", `while :; do nft add rule inet t w counter comment "w${w}"; nft flush chain inet t w; done`], {
          stdout: "ignore",
          stderr: "ignore",
        }),
      );
      try {
        await Bun.sleep(100);
        expect(want.length).toBe(1);
        for (let i = 0; i < 30; i++) expect(nftCommentedRules(h, "inet", "t", undefined, "pod-2999")).toEqual(want);
      } finally {
        for (const w of writers) w.kill();
        await Promise.all(writers.map((w) => w.exited));
      }
    }),
  );
});
