import { describe, expect } from "bun:test";
import { rootTest, withNetns, type TestNetns } from "../../test/helpers/netns.ts";
import { NetlinkHandle } from "./handle.ts";
import { isExists, isNotFound } from "./error.ts";
import { linkByName } from "./link.ts";
import { routeAdd, routeAddEcmp, routeDel, routeList, routeReplace } from "./route.ts";
import { RTNH_F_ONLINK, RTPROT_BOOT, RT_SCOPE_LINK, RT_SCOPE_UNIVERSE } from "./nl/rtnetlink-consts.ts";

/** A namespace with an up veth "r0" carrying 10.7.0.1/24 and fd07::1/64. */
function setup(ns: TestNetns): void {
  ns.exec(["ip", "link", "add", "r0", "type", "veth", "peer", "name", "r1"]);
  ns.exec(["ip", "addr", "add", "10.7.0.1/24", "dev", "r0"]);
  ns.exec(["ip", "addr", "add", "fd07::1/64", "dev", "r0", "nodad"]);
  ns.exec(["ip", "link", "set", "r1", "up"]);
  ns.exec(["ip", "link", "set", "r0", "up"]);
}

const witness = (ns: TestNetns, ...args: string[]) => ns.ipJson("route", "show", ...args) as any[];

describe("routes", () => {
  rootTest("routeAddEcmp: a default route beside one of another device (IPv4: two routes; IPv6: two next hops); EEXIST only for the same one", () =>
    withNetns(1, (ns) => {
      setup(ns);
      ns.exec(["ip", "link", "add", "s0", "type", "veth", "peer", "name", "s1"]);
      ns.exec(["ip", "addr", "add", "10.6.0.1/24", "dev", "s0"]);
      ns.exec(["ip", "addr", "add", "fd06::1/64", "dev", "s0", "nodad"]);
      ns.exec(["ip", "link", "set", "s1", "up"]);
      ns.exec(["ip", "link", "set", "s0", "up"]);
      using h = NetlinkHandle.atPath(ns.path);
      for (const [gw, dev] of [
        ["10.7.0.254", "r0"],
        ["10.6.0.254", "s0"],
        ["fd07::fe", "r0"],
        ["fd06::fe", "s0"],
      ] as const) {
        const dst = gw.includes(":") ? "::/0" : "0.0.0.0/0";
        routeAddEcmp(h, { dst, gw, link: dev });
        expect(() => routeAdd(h, { dst, gw: gw, link: dev })).toThrow(/EEXIST/);
      }
      expect(
        witness(ns, "default")
          .map((r) => [r.gateway, r.dev])
          .sort(),
      ).toEqual([
        ["10.6.0.254", "s0"],
        ["10.7.0.254", "r0"],
      ]);
      const [v6] = ns.ipJson("-6", "route", "show", "default") as any[];
      expect(v6.nexthops.map((n: any) => [n.gateway, n.dev]).sort()).toEqual([
        ["fd06::fe", "s0"],
        ["fd07::fe", "r0"],
      ]);
      expect(() => routeAddEcmp(h, { dst: "0.0.0.0/0", gw: "10.6.0.254", link: "s0" })).toThrow(/EEXIST/);
      expect(() => routeAddEcmp(h, { dst: "::/0", gw: "fd06::fe", link: "s0" })).toThrow(/EEXIST/);
    }),
  );

  rootTest("add, list, replace and delete v4 routes, checked with ip -j route", () =>
    withNetns(1, (ns) => {
      setup(ns);
      using h = NetlinkHandle.atPath(ns.path);
      routeAdd(h, { dst: "10.8.0.0/16", gw: "10.7.0.254", priority: 100, mtu: 1400, advmss: 1360 });
      routeAdd(h, { dst: "10.9.0.0/24", link: "r0", src: "10.7.0.1" });
      routeAdd(h, { gw: "10.7.0.254", link: "r0" });
      const w = witness(ns);
      expect(w.find((r) => r.dst === "10.8.0.0/16")).toMatchObject({ gateway: "10.7.0.254", dev: "r0", metric: 100, metrics: [{ mtu: 1400, advmss: 1360 }] });
      expect(w.find((r) => r.dst === "10.9.0.0/24")).toMatchObject({ dev: "r0", scope: "link", prefsrc: "10.7.0.1" });
      expect(w.find((r) => r.dst === "default")).toMatchObject({ gateway: "10.7.0.254", dev: "r0" });

      const mine = routeList(h, { family: 4 });
      const r0 = linkByName(h, "r0").index;
      expect(mine.find((r) => r.dst === "10.8.0.0/16")).toMatchObject({
        family: 4,
        gw: "10.7.0.254",
        linkIndex: r0,
        priority: 100,
        mtu: 1400,
        advmss: 1360,
        protocol: RTPROT_BOOT,
        scope: RT_SCOPE_UNIVERSE,
        table: 254,
      });
      expect(mine.find((r) => r.dst === "10.9.0.0/24")).toMatchObject({ scope: RT_SCOPE_LINK, src: "10.7.0.1" });
      expect(mine.find((r) => r.dst === undefined)).toMatchObject({ gw: "10.7.0.254" });
      expect(routeList(h, { link: "r0", family: 4 }).length).toBe(mine.length);

      try {
        routeAdd(h, { dst: "10.8.0.0/16", gw: "10.7.0.254", priority: 100 });
        throw new Error("no error");
      } catch (e) {
        expect(isExists(e)).toBe(true);
        expect((e as Error).message).toStartWith('Cannot add route "10.8.0.0/16" via 10.7.0.254: EEXIST');
      }
      routeReplace(h, { dst: "10.8.0.0/16", gw: "10.7.0.253", priority: 100 });
      expect(
        witness(ns)
          .filter((r) => r.dst === "10.8.0.0/16")
          .map((r) => r.gateway),
      ).toEqual(["10.7.0.253"]);

      routeDel(h, { dst: "10.8.0.0/16" });
      routeDel(h, { dst: "10.9.0.0/24", link: "r0" });
      routeDel(h, { family: 4 });
      expect(witness(ns).map((r) => r.dst)).toEqual(["10.7.0.0/24"]);
      try {
        routeDel(h, { dst: "10.8.0.0/16" });
        throw new Error("no error");
      } catch (e) {
        expect(isNotFound(e)).toBe(true);
      }
    }),
  );

  rootTest("v6 routes, other tables, onlink gateways", () =>
    withNetns(1, (ns) => {
      setup(ns);
      using h = NetlinkHandle.atPath(ns.path);
      routeAdd(h, { dst: "fd08::/64", gw: "fd07::fe", priority: 5 });
      const w6 = ns.ipJson("-6", "route", "show") as any[];
      expect(w6.find((r) => r.dst === "fd08::/64")).toMatchObject({ gateway: "fd07::fe", dev: "r0", metric: 5 });
      expect(routeList(h, { family: 6 }).find((r) => r.dst === "fd08::/64")).toMatchObject({ family: 6, gw: "fd07::fe", priority: 5 });

      routeAdd(h, { dst: "10.10.0.0/16", gw: "10.7.0.9", table: 1000 });
      routeAdd(h, { gw: "192.168.255.1", link: "r0", onlink: true, table: 100 });
      expect(witness(ns, "table", "1000")).toMatchObject([{ dst: "10.10.0.0/16", gateway: "10.7.0.9" }]);
      expect(witness(ns, "table", "100")[0]).toMatchObject({ dst: "default", gateway: "192.168.255.1", flags: ["onlink"] });
      expect(routeList(h, { table: 1000 })).toMatchObject([{ dst: "10.10.0.0/16", table: 1000 }]);
      expect(routeList(h, { table: 100 })[0]!.flags & RTNH_F_ONLINK).toBeTruthy();
      expect(routeList(h, { table: 0 }).some((r) => r.table === 255)).toBe(true);
      expect(routeList(h).some((r) => r.table !== 254)).toBe(false);
      routeDel(h, { dst: "10.10.0.0/16", table: 1000 });
      expect(witness(ns, "table", "1000")).toEqual([]);

      expect(() => routeAdd(h, {})).toThrow(/give dst, gw or family/);
      expect(() => routeAdd(h, { dst: "10.0.0.0/8", gw: "fd07::1" })).toThrow(/gateway of another family/);
      expect(() => routeAdd(h, { dst: "10.0.0.0/33" })).toThrow(RangeError);
    }),
  );
});
