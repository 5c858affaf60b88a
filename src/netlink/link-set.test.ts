import { describe, expect } from "bun:test";
import { rootTest, withNetns, type TestNetns } from "../../test/helpers/netns.ts";
import { NetNS } from "../sys/netns.ts";
import { NetlinkHandle } from "./handle.ts";
import { linkByName } from "./link.ts";
import {
  linkSetAlias,
  linkSetBridgePort,
  linkSetHairpin,
  linkSetMac,
  linkSetMaster,
  linkSetMtu,
  linkSetName,
  linkSetNoMaster,
  linkSetNs,
  linkSetPromisc,
} from "./link-set.ts";

const detail = (ns: TestNetns, name: string) => ns.ipJson("-d", "link", "show", "dev", name)[0];

describe("link setters", () => {
  rootTest("mtu, mac, name, alias, promisc", () =>
    withNetns(1, (ns) => {
      ns.exec(["ip", "link", "add", "a0", "type", "veth", "peer", "name", "a1"]);
      using h = NetlinkHandle.atPath(ns.path);
      linkSetMtu(h, "a0", 1234);
      linkSetMac(h, "a0", "02:aa:bb:cc:dd:ee");
      linkSetAlias(h, "a0", "uplink");
      expect(detail(ns, "a0")).toMatchObject({ mtu: 1234, address: "02:aa:bb:cc:dd:ee", ifalias: "uplink" });
      linkSetAlias(h, "a0", "");
      expect(detail(ns, "a0").ifalias).toBeUndefined();
      linkSetName(h, "a0", "renamed0");
      expect(detail(ns, "renamed0").mtu).toBe(1234);
      linkSetPromisc(h, "renamed0", true);
      expect(detail(ns, "renamed0").flags).toContain("PROMISC");
      expect(linkByName(h, "renamed0").promiscuity).toBe(1);
      linkSetPromisc(h, "renamed0", false);
      expect(detail(ns, "renamed0").flags).not.toContain("PROMISC");
      expect(() => linkSetMtu(h, "renamed0", 10)).toThrow(/Cannot set link "renamed0" mtu 10: EINVAL/);
    }),
  );

  rootTest("master, nomaster, hairpin and other port flags", () =>
    withNetns(1, (ns) => {
      ns.exec(["ip", "link", "add", "br0", "type", "bridge"]);
      ns.exec(["ip", "link", "add", "p0", "type", "veth", "peer", "name", "p1"]);
      using h = NetlinkHandle.atPath(ns.path);
      linkSetMaster(h, "p0", "br0");
      expect(detail(ns, "p0").master).toBe("br0");
      linkSetHairpin(h, "p0", true);
      expect(detail(ns, "p0").linkinfo.info_slave_data.hairpin).toBe(true);
      linkSetBridgePort(h, "p0", { hairpin: false, learning: false, isolated: true });
      expect(detail(ns, "p0").linkinfo.info_slave_data).toMatchObject({ hairpin: false, learning: false, isolated: true });
      linkSetNoMaster(h, "p0");
      expect(detail(ns, "p0").master).toBeUndefined();
      expect(() => linkSetHairpin(h, "p0", true)).toThrow(/Cannot set bridge port link "p0"/);
    }),
  );

  rootTest("moving a link to another namespace by fd", () =>
    withNetns(2, (a, b) => {
      a.exec(["ip", "link", "add", "m0", "type", "veth", "peer", "name", "m1"]);
      using h = NetlinkHandle.atPath(a.path);
      using nb = NetNS.open(b.path);
      linkSetNs(h, "m1", nb);
      expect(a.exec(["ip", "link", "show", "m1"], { allowFail: true })).toBe("");
      expect(detail(b, "m1").linkinfo.info_kind).toBe("veth");
      using hb = NetlinkHandle.at(nb);
      expect(linkByName(hb, "m1").netnsid).toBeDefined();
    }),
  );
});
