import { describe, expect, test } from "bun:test";
import { rootTest, withNetns } from "../../test/helpers/netns.ts";
import { NetNS } from "../sys/netns.ts";
import { filterAddMirredRedirect, filterListIngress, mirredRedirectBody } from "./filter.ts";
import { NetlinkHandle } from "./handle.ts";
import { linkAdd } from "./link-add.ts";
import { linkByName } from "./link.ts";
import { hex } from "../../test/helpers/hex.ts";
import { TCA_EGRESS_REDIR, TC_ACT_STOLEN } from "./nl/tc-mirred.ts";
import { qdiscAddIngress } from "./qdisc.ts";

describe("filter messages", () => {
  test("the redirect filter on ifindex 2 to ifindex 3: the reference's bytes through its first action (strace)", () => {
    const head = "00 00 00 00 02 00 00 00 00 00 00 00 00 00 ff ff 00 03 01 00";
    const kind = " 08 00 01 00 75 33 32 00";
    const opts =
      " 68 00 02 00 24 00 05 00 01 00 01 00" +
      " 00".repeat(28) +
      " 08 00 01 00 01 00 01 00" +
      " 38 00 07 00 34 00 01 00 0b 00 01 00 6d 69 72 72 65 64 00 00 24 00 02 00 20 00 02 00" +
      " 00 00 00 00 00 00 00 00 04 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00 03 00 00 00";
    expect(hex(mirredRedirectBody(2, 3))).toBe(head + kind + opts);
  });
});

rootTest("the redirect filter as tc shows it and as we list it", () =>
  withNetns(1, (ns) => {
    ns.exec(["ip", "link", "add", "v1", "type", "veth", "peer", "name", "v2"]);
    using n = NetNS.open(ns.path);
    using h = NetlinkHandle.at(n);
    linkAdd(h, { kind: "ifb", name: "ifb9", up: true });
    qdiscAddIngress(h, "v1");
    filterAddMirredRedirect(h, "v1", "ifb9");
    const shown = ns.exec(["tc", "filter", "show", "dev", "v1", "ingress"]);
    expect(shown).toContain("protocol all pref 1 u32");
    expect(shown).toContain("match 00000000/00000000 at 0");
    expect(shown).toContain("flowid 1:1");
    expect(shown).toContain("mirred (Egress Redirect to device ifb9) stolen");
    const ifb = linkByName(h, "ifb9").index;
    const withAction = filterListIngress(h, "v1").filter((f) => f.mirred.length > 0);
    expect(withAction).toHaveLength(1);
    expect(withAction[0]).toMatchObject({ kind: "u32", priority: 1, classid: 0x10001 });
    expect(withAction[0]!.mirred).toMatchObject([{ action: TC_ACT_STOLEN, eaction: TCA_EGRESS_REDIR, ifindex: ifb }]);
  }),
);
