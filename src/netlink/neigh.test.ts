import { describe, expect } from "bun:test";
import { rootTest, withNetns, type TestNetns } from "../../test/helpers/netns.ts";
import { NetlinkHandle } from "./handle.ts";
import { isExists, isNotFound } from "./error.ts";
import { linkByName } from "./link.ts";
import { fdbAdd, fdbAppend, fdbDel, fdbList, fdbReplace, neighAdd, neighDel, neighList, neighReplace } from "./neigh.ts";
import { NTF_MASTER, NTF_SELF, NUD_NOARP, NUD_PERMANENT, NUD_REACHABLE } from "./nl/neigh-consts.ts";

const fdbWitness = (ns: TestNetns, dev: string) => JSON.parse(ns.exec(["bridge", "-j", "fdb", "show", "dev", dev]) || "[]") as any[];

describe("neighbours", () => {
  rootTest("add, replace, list, delete ARP and NDP entries, checked with ip -j neigh", () =>
    withNetns(1, (ns) => {
      ns.exec(["ip", "link", "add", "n0", "type", "veth", "peer", "name", "n1"]);
      ns.exec(["ip", "link", "set", "n0", "up"]);
      using h = NetlinkHandle.atPath(ns.path);
      neighAdd(h, { link: "n0", ip: "10.7.0.5", mac: "02:00:00:00:00:05" });
      neighAdd(h, { link: "n0", ip: "fd07::5", mac: "02:00:00:00:00:06", state: NUD_REACHABLE });
      const w = ns.ipJson("neigh", "show", "dev", "n0") as any[];
      expect(w.find((n) => n.dst === "10.7.0.5")).toMatchObject({ lladdr: "02:00:00:00:00:05", state: ["PERMANENT"] });
      expect(w.find((n) => n.dst === "fd07::5")).toMatchObject({ lladdr: "02:00:00:00:00:06", state: ["REACHABLE"] });
      const mine = neighList(h, { link: "n0" });
      expect(mine.find((n) => n.ip === "10.7.0.5")).toMatchObject({
        family: "inet",
        mac: "02:00:00:00:00:05",
        state: NUD_PERMANENT,
        index: linkByName(h, "n0").index,
      });
      expect(neighList(h, { family: 6, link: "n0" }).map((n) => n.ip)).toContain("fd07::5");
      expect(neighList(h, { family: 4 }).every((n) => n.family === "inet")).toBe(true);
      try {
        neighAdd(h, { link: "n0", ip: "10.7.0.5", mac: "02:00:00:00:00:07" });
        throw new Error("no error");
      } catch (e) {
        expect(isExists(e)).toBe(true);
      }
      neighReplace(h, { link: "n0", ip: "10.7.0.5", mac: "02:00:00:00:00:07" });
      expect((ns.ipJson("neigh", "show", "dev", "n0") as any[]).find((n) => n.dst === "10.7.0.5").lladdr).toBe("02:00:00:00:00:07");
      neighDel(h, { link: "n0", ip: "10.7.0.5" });
      neighDel(h, { link: "n0", ip: "fd07::5" });
      expect((ns.ipJson("neigh", "show", "dev", "n0") as any[]).filter((n) => n.dst === "10.7.0.5" || n.dst === "fd07::5")).toEqual([]);
      try {
        neighDel(h, { link: "n0", ip: "10.7.0.5" });
        throw new Error("no error");
      } catch (e) {
        expect(isNotFound(e)).toBe(true);
        expect((e as Error).message).toStartWith('Cannot delete neighbour 10.7.0.5 on link "n0": ENOENT');
      }
    }),
  );
});

describe("fdb", () => {
  rootTest("VXLAN entries with a remote VTEP, as flannel writes them", () =>
    withNetns(1, (ns) => {
      ns.exec(["ip", "link", "add", "u0", "type", "veth", "peer", "name", "u1"]);
      ns.exec(["ip", "addr", "add", "10.5.0.1/24", "dev", "u0"]);
      ns.exec(["ip", "link", "add", "vx0", "type", "vxlan", "id", "1", "dev", "u0", "local", "10.5.0.1", "dstport", "8472", "nolearning"]);
      using h = NetlinkHandle.atPath(ns.path);
      fdbReplace(h, { link: "vx0", mac: "02:00:00:00:0a:01", dst: "10.5.0.2", flags: NTF_SELF });
      fdbAppend(h, { link: "vx0", mac: "00:00:00:00:00:00", dst: "10.5.0.2", flags: NTF_SELF });
      fdbAppend(h, { link: "vx0", mac: "00:00:00:00:00:00", dst: "10.5.0.3", flags: NTF_SELF, port: 4789, vni: 9 });
      const w = fdbWitness(ns, "vx0");
      expect(w.find((f) => f.mac === "02:00:00:00:0a:01")).toMatchObject({ dst: "10.5.0.2", flags: ["self"], state: "permanent" });
      expect(
        w
          .filter((f) => f.mac === "00:00:00:00:00:00")
          .map((f) => f.dst)
          .sort(),
      ).toEqual(["10.5.0.2", "10.5.0.3"]);
      expect(w.find((f) => f.dst === "10.5.0.3")).toMatchObject({ port: 4789, vni: 9 });

      const mine = fdbList(h, { link: "vx0" });
      expect(mine.find((f) => f.mac === "02:00:00:00:0a:01")).toMatchObject({ family: "bridge", ip: "10.5.0.2", flags: NTF_SELF, state: NUD_PERMANENT });
      expect(mine.find((f) => f.ip === "10.5.0.3")).toMatchObject({ port: 4789, vni: 9 });
      fdbReplace(h, { link: "vx0", mac: "02:00:00:00:0a:01", dst: "10.5.0.9", flags: NTF_SELF });
      expect(fdbWitness(ns, "vx0").find((f) => f.mac === "02:00:00:00:0a:01").dst).toBe("10.5.0.9");
      // A remote is named by address, port and VNI: without the same port and VNI the kernel deletes nothing.
      fdbDel(h, { link: "vx0", mac: "00:00:00:00:00:00", dst: "10.5.0.3", flags: NTF_SELF, port: 4789, vni: 9 });
      expect(
        fdbWitness(ns, "vx0")
          .filter((f) => f.mac === "00:00:00:00:00:00")
          .map((f) => f.dst),
      ).toEqual(["10.5.0.2"]);
      fdbDel(h, { link: "vx0", mac: "02:00:00:00:0a:01", flags: NTF_SELF });
      expect(fdbWitness(ns, "vx0").some((f) => f.mac === "02:00:00:00:0a:01")).toBe(false);
      expect(() => fdbDel(h, { link: "vx0", mac: "02:00:00:00:0a:01", flags: NTF_SELF })).toThrow(
        /Cannot delete fdb entry 02:00:00:00:0a:01 on link "vx0": ENOENT/,
      );
    }),
  );

  rootTest("static entries of a bridge port", () =>
    withNetns(1, (ns) => {
      ns.exec(["ip", "link", "add", "br0", "type", "bridge"]);
      ns.exec(["ip", "link", "add", "bp0", "master", "br0", "type", "veth", "peer", "name", "bp1"]);
      using h = NetlinkHandle.atPath(ns.path);
      fdbAdd(h, { link: "bp0", mac: "02:00:00:00:0b:01", flags: NTF_MASTER, state: NUD_NOARP });
      expect(fdbWitness(ns, "bp0").find((f) => f.mac === "02:00:00:00:0b:01")).toMatchObject({ master: "br0", state: "static" });
      expect(fdbList(h, { link: "bp0" }).find((f) => f.mac === "02:00:00:00:0b:01")).toMatchObject({ master: linkByName(h, "br0").index, state: NUD_NOARP });
      expect(() => fdbAdd(h, { link: "bp0", mac: "02:00:00:00:0b:01", flags: NTF_MASTER, state: NUD_NOARP })).toThrow(/EEXIST/);
      // The default, as with `bridge fdb add`: permanent, i.e. an address of the host.
      fdbAdd(h, { link: "bp0", mac: "02:00:00:00:0b:02", flags: NTF_MASTER });
      expect(fdbWitness(ns, "bp0").find((f) => f.mac === "02:00:00:00:0b:02").state).toBe("permanent");
      fdbDel(h, { link: "bp0", mac: "02:00:00:00:0b:01", flags: NTF_MASTER });
      expect(fdbWitness(ns, "bp0").some((f) => f.mac === "02:00:00:00:0b:01")).toBe(false);
    }),
  );
});
