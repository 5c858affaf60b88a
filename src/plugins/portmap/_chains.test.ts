import { describe, expect, test } from "bun:test";
import { dnatChainName, dnatComment, dnatRules, hostIPIn, markDef, type DnatInput } from "./_chains.ts";

const base: DnatInput = {
  net: "n",
  containerID: "c",
  containerAddr: "10.1.0.2/24",
  containerNet: "10.1.0.0/24",
  family: 4,
  mappings: [{ hostPort: 80, containerPort: 8080, protocol: "tcp" }],
  snat: true,
  masqAll: false,
  setMarkChain: "CNI-HOSTPORT-SETMARK",
  conditions: [],
};
const texts = (d: DnatInput) => dnatRules(d).rules.map((r) => r.tokens.join(" "));

describe("portmap rule sets", () => {
  test("hairpin, localhost, then DNAT", () => {
    expect(texts(base)).toEqual([
      "-s 10.1.0.0/24 -p tcp -m tcp --dport 80 -j CNI-HOSTPORT-SETMARK",
      "-s 127.0.0.1/32 -p tcp -m tcp --dport 80 -j CNI-HOSTPORT-SETMARK",
      "-p tcp -m tcp --dport 80 -j DNAT --to-destination 10.1.0.2:8080",
    ]);
  });

  test("masqAll marks every source and needs no localhost rule (the reference since v1.2)", () => {
    expect(texts({ ...base, masqAll: true })).toEqual([
      "-p tcp -m tcp --dport 80 -j CNI-HOSTPORT-SETMARK",
      "-p tcp -m tcp --dport 80 -j DNAT --to-destination 10.1.0.2:8080",
    ]);
    expect(texts({ ...base, masqAll: true, family: 6, containerAddr: "fd00::2/64", containerNet: "fd00::/64" })).toEqual([
      "-p tcp -m tcp --dport 80 -j CNI-HOSTPORT-SETMARK",
      "-p tcp -m tcp --dport 80 -j DNAT --to-destination [fd00::2]:8080",
    ]);
  });

  test("hostIP: the other family skipped, unspecified means any, written as iptables-save does", () => {
    expect(hostIPIn({ hostPort: 1, containerPort: 1, protocol: "tcp", hostIP: "2001:DB8::0001" }, 6)).toBe("2001:db8::1");
    expect(hostIPIn({ hostPort: 1, containerPort: 1, protocol: "tcp", hostIP: "2001:db8::1" }, 4)).toBeUndefined();
    expect(hostIPIn({ hostPort: 1, containerPort: 1, protocol: "tcp", hostIP: "::ffff:0.0.0.0" }, 4)).toBe("");
    expect(hostIPIn({ hostPort: 1, containerPort: 1, protocol: "tcp", hostIP: "::" }, 6)).toBe("");
    expect(hostIPIn({ hostPort: 1, containerPort: 1, protocol: "tcp" }, 6)).toBe("");
  });

  test("entry rules list every mapping's port, also one bound to the other family", () => {
    const d = dnatRules({ ...base, mappings: [...base.mappings, { hostPort: 81, containerPort: 1, protocol: "tcp", hostIP: "fd00::1" }] });
    expect(d.entries.map((e) => e.tokens.join(" "))).toEqual([`-p tcp -m comment --comment dnat name: "n" id: "c" -m multiport --dports 80,81 -j ${d.chain}`]);
    expect(d.rules.length).toBe(3);
  });

  test("names, marks and comments", () => {
    expect(dnatChainName("n", "c")).toBe(`CNI-DN-${new Bun.CryptoHasher("sha512").update("nc").digest("hex").slice(0, 21)}`);
    expect(markDef(13)).toBe("0x2000/0x2000");
    expect(markDef(31)).toBe("0x80000000/0x80000000");
    const long = dnatComment("n", "x".repeat(300));
    expect(long.length).toBe(256);
    expect(long.endsWith("...")).toBe(true);
  });
});
