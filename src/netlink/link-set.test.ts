import { describe, expect } from "bun:test";
import { rootTest, withNetns, type TestNetns } from "../../test/helpers/netns.ts";
import { NetNS } from "../sys/netns.ts";
import { NetlinkHandle } from "./handle.ts";
import { ipv4Conf, ipv6AcceptRa, ipv6Conf, linkByName } from "./link.ts";
import { DEVCONF_DISABLE_IPV6, IPV4_DEVCONF_ARP_NOTIFY, IPV4_DEVCONF_ROUTE_LOCALNET } from "./nl/link-consts.ts";
import { netconfForwarding } from "./netconf.ts";
import {
  linkSetAlias,
  linkSetBridgePort,
  linkSetHairpin,
  linkSetInetConf,
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
  rootTest("arp_notify set and accept_ra and forwarding read by netlink agree with /proc/sys", () =>
    withNetns(1, (ns) => {
      ns.exec(["ip", "link", "add", "c0", "type", "veth", "peer", "name", "c1"]);
      const sysctl = (k: string) => ns.exec(["sysctl", "-n", k]).trim();
      using h = NetlinkHandle.atPath(ns.path);
      expect(sysctl("net.ipv4.conf.c0.arp_notify")).toBe("0");
      linkSetInetConf(h, "c0", { arpNotify: 1 });
      expect(sysctl("net.ipv4.conf.c0.arp_notify")).toBe("1");
      expect(ipv4Conf(linkByName(h, "c0"), IPV4_DEVCONF_ARP_NOTIFY)).toBe(1);
      for (const v of ["1", "0"]) {
        ns.exec(["sysctl", "-qw", `net.ipv4.conf.c1.route_localnet=${v}`]);
        expect(ipv4Conf(linkByName(h, "c1"), IPV4_DEVCONF_ROUTE_LOCALNET)).toBe(Number(v));
      }
      expect(sysctl("net.ipv4.conf.c1.arp_notify")).toBe("0");
      linkSetInetConf(h, "c0", { arpNotify: 0 });
      expect(sysctl("net.ipv4.conf.c0.arp_notify")).toBe("0");
      for (const v of ["0", "2", "1"]) {
        ns.exec(["sysctl", "-qw", `net.ipv6.conf.c0.accept_ra=${v}`]);
        expect(ipv6AcceptRa(linkByName(h, "c0"))).toBe(Number(v));
      }
      for (const v of ["1", "0"]) {
        ns.exec(["sysctl", "-qw", `net.ipv6.conf.c0.disable_ipv6=${v}`]);
        expect(ipv6Conf(linkByName(h, "c0"), DEVCONF_DISABLE_IPV6)).toBe(Number(v));
      }
      for (const v of ["1", "0"]) {
        ns.exec(["sysctl", "-qw", `net.ipv4.ip_forward=${v}`, `net.ipv6.conf.all.forwarding=${v}`]);
        expect([netconfForwarding(h, 4), netconfForwarding(h, 6)]).toEqual([v === "1", v === "1"]);
      }
    }),
  );

  rootTest("mtu, mac, name, alias (with up), promisc", () =>
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
      // The alias and up in one request.
      expect(detail(ns, "renamed0").flags).not.toContain("UP");
      linkSetAlias(h, "renamed0", "both", { up: true });
      expect(detail(ns, "renamed0")).toMatchObject({ ifalias: "both", flags: expect.arrayContaining(["UP"]) });
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
