/**
 * Rules found again over netlink (NftIptablesTable.findRules/findEach) among rules iptables itself
 * wrote: exactly the wanted ones, by expression, never a rule that only mentions the same
 * address; and a conntrack rule written over netlink that iptables prints as its own.
 */
import { describe, expect } from "bun:test";
import { rootTest, withNetns, type TestNetns } from "../../test/helpers/netns.ts";
import { nftAppend, nftHandle } from "../netlink/nftables.ts";
import { cidrOf } from "../spec/ip.ts";
import { NetNS } from "../sys/netns.ts";
import type { Family, Rule } from "./iptables.ts";
import { iptablesUsesNftables, withNftIptables } from "./iptables-nft.ts";
import { encodeIptablesRule } from "./iptables-nft-rule.ts";
import { ruleLine } from "./rule-text.ts";

const nftIptables = Bun.which("iptables-restore") !== null && Bun.which("ip6tables-restore") !== null && iptablesUsesNftables(4);
const CHAIN = "CNI-FORWARD";
const HOST: Record<Family, [string, string]> = { 4: ["10.66.0.5/32", "10.66.0.6/32"], 6: ["fd66::5/128", "fd66::6/128"] };

/** The firewall plugin's accept pair of one address. */
const pair = (host: string): Rule[] => [
  { chain: CHAIN, tokens: ["-d", host, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"] },
  { chain: CHAIN, tokens: ["-s", host, "-j", "ACCEPT"] },
];

/** Rules that mention the address and are not the pair. */
const decoys = (host: string): Rule[] => [
  { chain: CHAIN, tokens: ["-d", host, "-m", "conntrack", "--ctstate", "NEW", "-j", "ACCEPT"] },
  { chain: CHAIN, tokens: ["-s", host, "-p", "tcp", "-j", "ACCEPT"] },
  { chain: CHAIN, tokens: ["-s", host, "-m", "comment", "--comment", "admin", "-j", "ACCEPT"] },
  { chain: CHAIN, tokens: ["-s", host, "-j", "DROP"] },
];

function restore(node: TestNetns, family: Family, rules: Rule[]): void {
  const text = ["*filter", `:${CHAIN} - [0:0]`, ...rules.map((r) => ruleLine("-A", r.chain, r.tokens)), "COMMIT", ""].join("\n");
  node.exec([family === 4 ? "iptables-restore" : "ip6tables-restore", "--noflush"], { input: text });
}

function saved(node: TestNetns, family: Family): string[] {
  return node
    .exec([family === 4 ? "iptables-save" : "ip6tables-save", "-t", "filter"])
    .split("\n")
    .filter((l) => l.startsWith(`-A ${CHAIN} `));
}

describe("rules found again over netlink", () => {
  for (const family of [4, 6] as const) {
    rootTest.skipIf(!nftIptables)(`IPv${family}: the pair iptables wrote, and nothing that only mentions its address`, () =>
      withNetns(1, (node) => {
        const [a, b] = HOST[family];
        restore(node, family, [...decoys(a), ...pair(b), ...pair(a), ...decoys(b)]);
        using ns = NetNS.open(node.path);
        const holding = (host: string, wanted: Rule[]) => wanted.map((rule) => ({ rule, containing: cidrOf(host).ip }));
        const find = (host: string, wanted: Rule[]) => ns.runIn(() => withNftIptables(family, "filter", (t) => t.findRules(CHAIN, holding(host, wanted))));
        expect(find(a, pair(a))?.length).toBe(2);
        // Only rules that mention the address but are not the pair: iptables must judge.
        expect(find(a, [{ chain: CHAIN, tokens: ["-s", a, "-m", "conntrack", "--ctstate", "INVALID", "-j", "ACCEPT"] }])).toBeUndefined();
        // An address no rule holds: nothing to delete.
        expect(find(family === 4 ? "10.66.0.9/32" : "fd66::9/128", pair(family === 4 ? "10.66.0.9/32" : "fd66::9/128"))).toEqual([]);
        // A shape encodeIptablesRule does not know: iptables must judge.
        expect(find(a, [{ chain: CHAIN, tokens: ["-s", a, "-j", "DROP"] }])).toBeUndefined();
        ns.runIn(() => withNftIptables(family, "filter", (t) => t.deleteRules(CHAIN, t.findRules(CHAIN, holding(a, pair(a)))!)));
        const want = [...decoys(a), ...pair(b), ...decoys(b)].map((r) => ruleLine("-A", r.chain, r.tokens));
        expect(saved(node, family)).toEqual(want);
      }),
    );

    rootTest.skipIf(!nftIptables)(`IPv${family}: a conntrack rule written over netlink is the one iptables writes`, () =>
      withNetns(2, (byRestore, byNetlink) => {
        const rules = pair(HOST[family][0]);
        restore(byRestore, family, rules);
        restore(byNetlink, family, []);
        {
          using ns = NetNS.open(byNetlink.path);
          using h = ns.runIn(() => nftHandle());
          nftAppend(
            h,
            family === 4 ? "ip" : "ip6",
            "filter",
            [],
            rules.map((r) => encodeIptablesRule(family, r)!),
          );
        }
        expect(saved(byNetlink, family)).toEqual(saved(byRestore, family));
        expect(saved(byNetlink, family).length).toBe(2);
      }),
    );
  }
});
