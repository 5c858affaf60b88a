import { describe, expect, test } from "bun:test";
import { NetNS } from "../sys/netns.ts";
import { rootTest, withNetns, type TestNetns } from "../../test/helpers/netns.ts";
import { TableBatch, ruleExists, saveTable, type Rule } from "./iptables.ts";

const SAVED = [
  "*nat",
  ":PREROUTING ACCEPT [0:0]",
  ":POSTROUTING ACCEPT [0:0]",
  ":CNI-OLD - [0:0]",
  "-A PREROUTING -m comment --comment keep -j CNI-OLD",
  "-A CNI-OLD -j ACCEPT",
  "COMMIT",
  "",
].join("\n");
const r = (chain: string, ...tokens: string[]): Rule => ({ chain, tokens });

/** Runs synchronous product code inside the node namespace: the iptables children it starts act there too. */
function inNode<T>(node: TestNetns, fn: () => T): T {
  using ns = NetNS.open(node.path);
  return ns.runIn(fn);
}

describe("TableBatch", () => {
  test("builds against the saved state: only what is missing is added, only what is there deleted", () => {
    const b = new TableBatch(4, "nat", SAVED)
      .ensureChain("CNI-NEW")
      .ensureChain("CNI-OLD")
      .appendUnique(r("CNI-OLD", "-j", "ACCEPT"))
      .appendUnique(r("CNI-NEW", "-j", "ACCEPT"))
      .appendUnique(r("CNI-NEW", "-j", "ACCEPT"))
      .insertUnique(r("POSTROUTING", "-j", "CNI-NEW"))
      .deleteIfPresent(r("POSTROUTING", "-j", "NOPE"))
      .deleteByComment("PREROUTING", "keep")
      .deleteByComment("PREROUTING", "keep");
    expect(b.text()).toBe(
      [
        "*nat",
        ":CNI-NEW - [0:0]",
        "-A CNI-NEW -j ACCEPT",
        "-I POSTROUTING 1 -j CNI-NEW",
        "-D PREROUTING -m comment --comment keep -j CNI-OLD",
        "COMMIT",
        "",
      ].join("\n"),
    );
  });

  test("a reset chain's saved rules no longer count; a removed chain is gone", () => {
    const b = new TableBatch(4, "nat", SAVED).resetChain("CNI-OLD").appendUnique(r("CNI-OLD", "-j", "ACCEPT"));
    expect(b.text()).toContain("-F CNI-OLD\n-A CNI-OLD -j ACCEPT");
    const d = new TableBatch(4, "nat", SAVED).deleteMatching("PREROUTING", " -j CNI-OLD").deleteChain("CNI-OLD").deleteChain("CNI-OLD");
    expect(d.text()).toBe(["*nat", "-D PREROUTING -m comment --comment keep -j CNI-OLD", "-F CNI-OLD", "-X CNI-OLD", "COMMIT", ""].join("\n"));
    expect(d.hasChain("CNI-OLD")).toBe(false);
    expect(new TableBatch(4, "nat", SAVED).deleteChain("CNI-NONE").dirty).toBe(false);
  });

  rootTest("applied in a node namespace: idempotent, strings round-trip exactly, iptables -C compares parsed rules", () =>
    withNetns(1, (node) => {
      const odd = `it's "odd" \\ text; $(x) ${"`"}y${"`"}`;
      const rules = [
        r("CNI-T", "-s", "10.0.0.1", "-m", "comment", "--comment", odd, "-j", "ACCEPT"),
        r("POSTROUTING", "-m", "comment", "--comment", "to t", "-j", "CNI-T"),
      ];
      const apply = () =>
        inNode(node, () => {
          const b = new TableBatch(4, "nat").ensureChain("CNI-T");
          for (const x of rules) b.appendUnique(x);
          b.commit();
        });
      apply();
      const once = node
        .exec(["iptables-save", "-t", "nat"])
        .split("\n")
        .filter((l) => l.startsWith("-A"));
      apply();
      expect(
        node
          .exec(["iptables-save", "-t", "nat"])
          .split("\n")
          .filter((l) => l.startsWith("-A")),
      ).toEqual(once);
      // The comment comes back as it went in: nothing was interpreted by a shell.
      expect(
        node.exec(["iptables", "-t", "nat", "-C", "CNI-T", "-s", "10.0.0.1/32", "-m", "comment", "--comment", odd, "-j", "ACCEPT"], { allowFail: false }),
      ).toBe("");
      // The text differs ("-p TCP" is saved as "-p tcp -m tcp"), iptables still finds it.
      inNode(node, () => new TableBatch(4, "nat").append(r("CNI-T", "-p", "tcp", "-m", "tcp", "--dport", "80", "-j", "ACCEPT")).commit());
      const spelled = r("CNI-T", "-p", "TCP", "--dport", "80", "-j", "ACCEPT");
      expect(
        new TableBatch(
          4,
          "nat",
          inNode(node, () => saveTable(4, "nat")),
        ).hasRule(spelled),
      ).toBe(false);
      expect(inNode(node, () => ruleExists(4, "nat", spelled))).toBe(true);
      expect(inNode(node, () => ruleExists(4, "nat", r("CNI-T", "-j", "RETURN")))).toBe(false);
      inNode(node, () => new TableBatch(4, "nat").deleteMatching("POSTROUTING", " -j CNI-T").deleteChain("CNI-T").commit());
      expect(node.exec(["iptables-save", "-t", "nat"])).not.toContain("CNI-T");
    }),
  );
});
