import { describe, expect } from "bun:test";
import { rootTest, withNetns, type TestNetns } from "../../test/helpers/netns.ts";
import { NetlinkHandle } from "./handle.ts";
import { addrAdd, addrDel, addrList, addrReplace, waitForDad } from "./addr.ts";
import { isNotFound, isExists } from "./error.ts";
import { linkByName, linkSetUp } from "./link.ts";
import { encodeIfAddrmsg } from "./nl/ifaddrmsg.ts";
import { AF_INET, NLM_F_DUMP_FILTERED } from "./nl/netlink-consts.ts";
import { RTM_GETADDR, RTM_NEWADDR } from "./nl/rtnetlink-consts.ts";
import { IFA_F_NODAD, IFA_F_NOPREFIXROUTE, IFA_F_PERMANENT, IFA_F_TENTATIVE } from "./nl/addr-consts.ts";

/** A bridge to hang addresses on (this kernel has no dummy links). */
function withBridge(ns: TestNetns, name = "br0"): void {
  ns.exec(["ip", "link", "add", name, "type", "bridge"]);
}

describe("addresses", () => {
  rootTest("add, list and delete v4 and v6, checked with ip -j addr", () =>
    withNetns(1, (ns) => {
      withBridge(ns);
      using h = NetlinkHandle.atPath(ns.path);
      addrAdd(h, "br0", "10.1.2.3/24", { label: "br0:x" });
      addrAdd(h, "br0", "10.9.0.1/32", { peer: "10.9.0.2/32" });
      addrAdd(h, "br0", "fd00::5/64", { flags: IFA_F_NODAD | IFA_F_NOPREFIXROUTE });
      const w = ns.ipJson("addr", "show", "dev", "br0")[0].addr_info as any[];
      const v4 = w.find((a) => a.local === "10.1.2.3");
      expect(v4).toMatchObject({ family: "inet", prefixlen: 24, broadcast: "10.1.2.255", label: "br0:x", scope: "global" });
      expect(w.find((a) => a.local === "10.9.0.1")).toMatchObject({ address: "10.9.0.2", prefixlen: 32 });
      const v6 = w.find((a) => a.local === "fd00::5");
      expect(v6).toMatchObject({ family: "inet6", prefixlen: 64, nodad: true, noprefixroute: true });

      const mine = addrList(h, { link: "br0" });
      expect(mine.map((a) => a.cidr).sort()).toEqual(["10.1.2.3/24", "10.9.0.1/32", "fd00::5/64"]);
      const a4 = mine.find((a) => a.ip === "10.1.2.3")!;
      expect(a4).toMatchObject({ family: 4, prefix: 24, broadcast: "10.1.2.255", label: "br0:x", validLft: 0xffffffff });
      expect(a4.flags & IFA_F_PERMANENT).toBeTruthy();
      expect(mine.find((a) => a.ip === "10.9.0.1")!.peer).toBe("10.9.0.2");
      expect(mine.find((a) => a.ip === "fd00::5")!.flags & IFA_F_NOPREFIXROUTE).toBeTruthy();
      expect(addrList(h, { family: 6, link: "br0" }).map((a) => a.cidr)).toEqual(["fd00::5/64"]);
      expect(addrList(h).length).toBeGreaterThanOrEqual(3);

      try {
        addrAdd(h, "br0", "10.1.2.3/24");
        throw new Error("no error");
      } catch (e) {
        expect(isExists(e)).toBe(true);
      }
      addrReplace(h, "br0", "10.1.2.3/24", { validLft: 300, preferredLft: 200 });
      expect(ns.ipJson("addr", "show", "dev", "br0")[0].addr_info.find((a: any) => a.local === "10.1.2.3").valid_life_time).toBeLessThanOrEqual(300);

      addrDel(h, "br0", "10.1.2.3/24");
      addrDel(h, "br0", "fd00::5/64");
      addrDel(h, "br0", "10.9.0.1/32", { peer: "10.9.0.2/32" });
      expect(ns.ipJson("addr", "show", "dev", "br0")[0].addr_info.filter((a: any) => a.scope === "global")).toEqual([]);
      try {
        addrDel(h, "br0", "10.1.2.3/24");
        throw new Error("no error");
      } catch (e) {
        expect(isNotFound(e)).toBe(true);
        expect((e as Error).message).toStartWith('Cannot delete address "10.1.2.3/24" from link "br0": EADDRNOTAVAIL');
      }
      expect(() => addrAdd(h, "br0", "10.1.2.300/24")).toThrow(RangeError);
    }),
  );

  rootTest("one link's addresses come from a dump the kernel filters, strict checking off again after it; a link gone has none", () =>
    withNetns(1, (ns) => {
      withBridge(ns, "br0");
      withBridge(ns, "br1");
      using h = NetlinkHandle.atPath(ns.path);
      addrAdd(h, "br0", "10.1.0.1/24");
      addrAdd(h, "br1", "10.2.0.1/24");
      const body = encodeIfAddrmsg({ family: AF_INET, index: linkByName(h, "br0").index });
      const filtered = h.dumpFiltered(RTM_GETADDR, body, "list").filter((m) => m.header.type === RTM_NEWADDR);
      expect(filtered.length).toBe(1);
      expect(filtered[0]!.header.flags & NLM_F_DUMP_FILTERED).toBe(NLM_F_DUMP_FILTERED);
      // The same request on the same socket without strict checking: every link's.
      expect(h.dump(RTM_GETADDR, body, "list").filter((m) => m.header.type === RTM_NEWADDR).length).toBe(2);
      expect(addrList(h, { link: "br0", family: 4 }).map((a) => a.cidr)).toEqual(["10.1.0.1/24"]);
      const gone = linkByName(h, "br1").index;
      ns.exec(["ip", "link", "del", "br1"]);
      expect(addrList(h, { link: gone })).toEqual([]);
    }),
  );

  rootTest("broadcast follows the Go library: computed up to /30, none for /31 and /32 or when null", () =>
    withNetns(1, (ns) => {
      withBridge(ns);
      using h = NetlinkHandle.atPath(ns.path);
      addrAdd(h, "br0", "10.0.0.1/30");
      addrAdd(h, "br0", "10.0.1.0/31");
      addrAdd(h, "br0", "10.0.2.1/24", { broadcast: null });
      const byIp = Object.fromEntries(addrList(h, { link: "br0", family: 4 }).map((a) => [a.ip, a.broadcast]));
      expect(byIp).toEqual({ "10.0.0.1": "10.0.0.3", "10.0.1.0": undefined, "10.0.2.1": undefined });
    }),
  );

  rootTest("waitForDad waits for tentative addresses to settle", () =>
    withNetns(1, async (ns) => {
      ns.exec(["ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1"]);
      ns.exec(["sysctl", "-qw", "net.ipv6.conf.v0.dad_transmits=1"]);
      using h = NetlinkHandle.atPath(ns.path);
      addrAdd(h, "v0", "fd01::1/64");
      linkSetUp(h, "v1");
      linkSetUp(h, "v0");
      expect(addrList(h, { link: "v0", family: 6 }).some((a) => a.flags & IFA_F_TENTATIVE)).toBe(true);
      await waitForDad(h, "v0", { timeoutMs: 5000 });
      expect(addrList(h, { link: "v0", family: 6 }).some((a) => a.flags & IFA_F_TENTATIVE)).toBe(false);
      // Without carrier (its peer is down) DAD never runs: the wait times out naming the address.
      ns.exec(["ip", "link", "add", "w0", "type", "veth", "peer", "name", "w1"]);
      addrAdd(h, "w0", "fd02::1/64");
      linkSetUp(h, "w0");
      expect(addrList(h, { link: "w0", family: 6 }).some((a) => a.flags & IFA_F_TENTATIVE)).toBe(true);
      await expect(waitForDad(h, "w0", { timeoutMs: 200 })).rejects.toThrow('Cannot settle addresses of link "w0": fd02::1/64 still tentative after 200 ms');
    }),
  );
});
