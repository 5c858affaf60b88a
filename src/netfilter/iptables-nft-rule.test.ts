import { describe, expect, test } from "bun:test";
import { rootTest, withNetns, type TestNetns } from "../../test/helpers/netns.ts";
import { nftAppend, nftChainRules, nftHandle } from "../netlink/nftables.ts";
import { NetNS } from "../sys/netns.ts";
import type { Family, Rule } from "./iptables.ts";
import { iptablesUsesNftables } from "./iptables-nft.ts";
import { encodeIptablesRule } from "./iptables-nft-rule.ts";
import { ruleLine } from "./rule-text.ts";

const nftIptables = Bun.which("iptables-restore") !== null && Bun.which("ip6tables-restore") !== null && iptablesUsesNftables(4);

const C = ["-m", "comment", "--comment", 'name: "net" id: "ctr"'];
const D = ["-m", "comment", "--comment", 'dnat name: "net" id: "ctr"'];

/** Every rule shape ipMasq and portmap write, with prefixes on and off byte bounds. */
const RULES: Record<Family, Rule[]> = {
  4: [
    ...["10.5.0.0/16", "10.5.0.0/24", "10.5.0.0/20", "10.5.0.128/25", "10.0.0.0/8", "10.16.0.0/12", "10.5.0.7/32"].map((n) => ({
      chain: "NFT-M",
      tokens: ["-d", n, ...C, "-j", "ACCEPT"],
    })),
    { chain: "NFT-M", tokens: ["!", "-d", "224.0.0.0/4", ...C, "-j", "MASQUERADE"] },
    { chain: "POSTROUTING", tokens: ["-s", "10.5.0.7/32", ...C, "-j", "NFT-M"] },
    { chain: "NFT-P", tokens: ["-p", "tcp", ...D, "-m", "multiport", "--dports", "8080", "-j", "NFT-D"] },
    { chain: "NFT-P", tokens: ["-p", "udp", ...D, "-m", "multiport", "--dports", Array.from({ length: 15 }, (_, i) => 2000 + i).join(","), "-j", "NFT-D"] },
    { chain: "NFT-D", tokens: ["-s", "10.5.0.0/16", "-p", "tcp", "-m", "tcp", "--dport", "8080", "-j", "NFT-MARK"] },
    { chain: "NFT-D", tokens: ["-s", "127.0.0.1/32", "-d", "192.0.2.1/32", "-p", "tcp", "-m", "tcp", "--dport", "8080", "-j", "NFT-MARK"] },
    { chain: "NFT-D", tokens: ["-d", "192.0.2.1/32", "-p", "tcp", "-m", "tcp", "--dport", "8080", "-j", "DNAT", "--to-destination", "10.5.0.7:80"] },
    { chain: "NFT-D", tokens: ["-p", "udp", "-m", "udp", "--dport", "53", "-j", "DNAT", "--to-destination", "10.5.0.7:5353"] },
  ],
  6: [
    ...["fd05::/64", "fd05::/56", "fd05::/60", "fd05::/127", "fd05::7/128"].map((n) => ({ chain: "NFT-M", tokens: ["-d", n, ...C, "-j", "ACCEPT"] })),
    { chain: "NFT-M", tokens: ["!", "-d", "ff00::/8", ...C, "-j", "MASQUERADE"] },
    { chain: "POSTROUTING", tokens: ["-s", "fd05::7/128", ...C, "-j", "NFT-M"] },
    { chain: "NFT-P", tokens: ["-p", "tcp", ...D, "-m", "multiport", "--dports", "8080,9090", "-j", "NFT-D"] },
    { chain: "NFT-D", tokens: ["-s", "fd05::/64", "-p", "tcp", "-m", "tcp", "--dport", "8080", "-j", "NFT-MARK"] },
    { chain: "NFT-D", tokens: ["-d", "2001:db8::1/128", "-p", "udp", "-m", "udp", "--dport", "53", "-j", "DNAT", "--to-destination", "[fd05::7]:53"] },
  ],
};
const CHAINS = ["NFT-M", "NFT-P", "NFT-D", "NFT-MARK"];

function save(node: TestNetns, family: Family): string[] {
  return node
    .exec([family === 4 ? "iptables-save" : "ip6tables-save", "-t", "nat"])
    .split("\n")
    .filter((l) => l.startsWith("-A ") || l.startsWith(":NFT-"));
}

/** Each rule's expressions as the kernel lists them: name and bytes. */
function exprs(node: TestNetns, family: Family): string[][] {
  using ns = NetNS.open(node.path);
  using h = ns.runIn(() => nftHandle());
  const fam = family === 4 ? "ip" : "ip6";
  return ["POSTROUTING", ...CHAINS].flatMap((c) =>
    nftChainRules(h, fam, "nat", c).map((r) => r.exprs.map((e) => `${e.name} ${Buffer.from(e.data).toString("hex")}`)),
  );
}

describe("iptables rules written over netlink", () => {
  test("shapes it does not know are left to iptables-restore", () => {
    const no: string[][] = [
      ["-p", "sctp", "-m", "sctp", "--dport", "80", "-j", "DNAT", "--to-destination", "10.0.0.1:80"],
      ["-p", "tcp", "-m", "tcp", "--dport", "80:90", "-j", "ACCEPT"],
      ["-p", "tcp", ...D, "-m", "mark", "--mark", "1", "-j", "X"],
      ["-j", "MARK", "--set-xmark", "0x2000/0x2000"],
      ["-j", "RETURN"],
      ["-m", "tcp", "--dport", "80", "-j", "ACCEPT"],
      ["-d", "0.0.0.0/0", "-j", "ACCEPT"],
      ["-d", "fd00::/8", "-j", "ACCEPT"],
      ["-j", "ACCEPT", "-s", "10.0.0.1/32"],
      ["-m", "comment", "--comment", "x".repeat(256), "-j", "ACCEPT"],
    ];
    for (const tokens of no) expect(encodeIptablesRule(4, { chain: "X", tokens })).toBeUndefined();
    expect(encodeIptablesRule(4, { chain: "X", tokens: ["-j", "KUBE-MARK-MASQ"] })).toBeDefined();
  });

  for (const family of [4, 6] as const)
    rootTest.skipIf(!nftIptables)(`IPv${family}: the same nf_tables expressions as iptables-restore, and the same iptables-save text`, () =>
      withNetns(2, (byRestore, byNetlink) => {
        const rules = RULES[family];
        const restore = family === 4 ? "iptables-restore" : "ip6tables-restore";
        const text = ["*nat", ...CHAINS.map((c) => `:${c} - [0:0]`), ...rules.map((r) => ruleLine("-A", r.chain, r.tokens)), "COMMIT", ""].join("\n");
        byRestore.exec([restore, "--noflush"], { input: text });
        // The nat table and its POSTROUTING exist on any node where a plugin ran; here iptables makes them.
        byNetlink.exec([restore, "--noflush"], { input: "*nat\n-A POSTROUTING -j RETURN\n-D POSTROUTING -j RETURN\nCOMMIT\n" });
        {
          using ns = NetNS.open(byNetlink.path);
          using h = ns.runIn(() => nftHandle());
          nftAppend(
            h,
            family === 4 ? "ip" : "ip6",
            "nat",
            CHAINS,
            rules.map((r) => encodeIptablesRule(family, r)!),
          );
        }
        expect(save(byNetlink, family)).toEqual(save(byRestore, family));
        expect(save(byNetlink, family).length).toBe(rules.length + CHAINS.length);
        expect(exprs(byNetlink, family)).toEqual(exprs(byRestore, family));
      }),
    );
});
