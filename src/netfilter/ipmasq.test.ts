import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NetNS } from "../sys/netns.ts";
import { rootTest, sh, withNetns, type TestNetns } from "../../test/helpers/netns.ts";
import { masqChainName, masqComment, setupIPMasq, teardownIPMasq } from "./ipmasq.ts";
import { quoteToken } from "./rule-text.ts";
import { GO_PLUGINS } from "../../test/helpers/plugin-run.ts";

function natRules(node: TestNetns, family: 4 | 6 = 4): string[] {
  return node
    .exec([family === 4 ? "iptables-save" : "ip6tables-save", "-t", "nat"])
    .split("\n")
    .filter((l) => l.startsWith("-A ") || l.startsWith(":CNI-"));
}

/** Runs synchronous product code inside the node namespace: the iptables children it starts act there too. */
function inNode<T>(node: TestNetns, fn: () => T): T {
  using ns = NetNS.open(node.path);
  return ns.runIn(fn);
}

describe("rule text", () => {
  test("tokens are quoted as iptables-save prints them", () => {
    expect(quoteToken("ACCEPT")).toBe("ACCEPT");
    expect(quoteToken('name: "n" id: "x"')).toBe('"name: \\"n\\" id: \\"x\\""');
    expect(() => quoteToken("a\nb")).toThrow(RangeError);
  });

  test("chain names and comments follow the reference", () => {
    // sha512("mynet" + "abc") in hex starts with these 24 characters.
    const chain = masqChainName("mynet", "abc");
    expect(chain).toMatch(/^CNI-[0-9a-f]{24}$/);
    expect(chain).toBe(`CNI-${new Bun.CryptoHasher("sha512").update("mynetabc").digest("hex").slice(0, 24)}`);
    expect(masqComment("mynet", "abc")).toBe('name: "mynet" id: "abc"');
  });
});

// With iptables-nft, reads and removals go over netlink; CNI_TS_IPTABLES_NETLINK=0 keeps
// the iptables-save/-restore path that legacy iptables uses. Both must give the same rules.
for (const mode of ["netlink", "iptables-save"] as const)
  describe(`ipMasq (${mode})`, () => {
    beforeEach(() => {
      if (mode === "iptables-save") process.env.CNI_TS_IPTABLES_NETLINK = "0";
    });
    afterEach(() => {
      delete process.env.CNI_TS_IPTABLES_NETLINK;
    });

    rootTest("setup is idempotent and teardown leaves nothing", () =>
      withNetns(1, (node) => {
        const chain = masqChainName("masq", "ctr-1");
        const comment = masqComment("masq", "ctr-1");
        inNode(node, () => setupIPMasq(["10.99.0.2/24", "fd00:99::2/64"], chain, comment));
        const once = natRules(node);
        expect(once).toContain(`-A POSTROUTING -s 10.99.0.2/32 -m comment --comment "name: \\"masq\\" id: \\"ctr-1\\"" -j ${chain}`);
        expect(once).toContain(`-A ${chain} -d 10.99.0.0/24 -m comment --comment "name: \\"masq\\" id: \\"ctr-1\\"" -j ACCEPT`);
        expect(once).toContain(`-A ${chain} ! -d 224.0.0.0/4 -m comment --comment "name: \\"masq\\" id: \\"ctr-1\\"" -j MASQUERADE`);
        expect(natRules(node, 6)).toContain(`-A ${chain} ! -d ff00::/8 -m comment --comment "name: \\"masq\\" id: \\"ctr-1\\"" -j MASQUERADE`);
        inNode(node, () => setupIPMasq(["10.99.0.2/24"], chain, comment));
        expect(natRules(node)).toEqual(once);
        inNode(node, () => teardownIPMasq(chain));
        expect(natRules(node).filter((l) => l.includes("CNI-"))).toEqual([]);
        expect(natRules(node, 6).filter((l) => l.includes("CNI-"))).toEqual([]);
        inNode(node, () => teardownIPMasq(chain));
      }),
    );

    rootTest("the same rules as the Go bridge, and ours removes theirs", () =>
      withNetns(2, (node, pod) => {
        const data = mkdtempSync(join(tmpdir(), "cni-ts-masq-"));
        try {
          const conf = JSON.stringify({
            cniVersion: "1.0.0",
            name: "masqnet",
            type: "bridge",
            bridge: "cnimasq0",
            isGateway: true,
            ipMasq: true,
            ipam: { type: "host-local", subnet: "10.98.0.0/24", dataDir: data },
          });
          const env = { PATH: process.env.PATH!, CNI_COMMAND: "ADD", CNI_CONTAINERID: "go-ctr", CNI_NETNS: pod.path, CNI_IFNAME: "eth0", CNI_PATH: GO_PLUGINS };
          const res = JSON.parse(sh(["ip", "netns", "exec", node.name, `${GO_PLUGINS}/bridge`], { input: conf, env }));
          const address = res.ips[0].address as string;
          const theirs = natRules(node).filter((l) => l.includes("CNI-"));
          const chain = masqChainName("masqnet", "go-ctr");
          inNode(node, () => teardownIPMasq(chain));
          expect(natRules(node).filter((l) => l.includes("CNI-"))).toEqual([]);
          inNode(node, () => setupIPMasq([address], chain, masqComment("masqnet", "go-ctr")));
          expect(
            natRules(node)
              .filter((l) => l.includes("CNI-"))
              .sort(),
          ).toEqual([...theirs].sort());
          sh(["ip", "netns", "exec", node.name, `${GO_PLUGINS}/bridge`], { input: conf, env: { ...env, CNI_COMMAND: "DEL" } });
          expect(natRules(node).filter((l) => l.includes("CNI-"))).toEqual([]);
        } finally {
          rmSync(data, { recursive: true, force: true });
        }
      }),
    );
  });
