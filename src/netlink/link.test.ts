import { describe, expect } from "bun:test";
import { rootTest, withNetns } from "../../test/helpers/netns.ts";
import { NetlinkHandle } from "./handle.ts";
import { NetlinkError } from "./error.ts";
import { isUp, linkByIndex, linkByName, linkFind, linkList, linkSetDown, linkSetUp } from "./link.ts";

describe("links", () => {
  rootTest("lookups agree with ip -j link", async () => {
    await withNetns(1, (ns) => {
      ns.exec(["ip", "link", "add", "br0", "type", "bridge"]);
      // No dummy here: this machine's kernel is built without CONFIG_DUMMY.
      ns.exec(["ip", "link", "add", "d0", "mtu", "1400", "address", "02:00:00:00:00:aa", "master", "br0", "type", "veth", "peer", "name", "d1"]);
      ns.exec(["ip", "link", "set", "d0", "alias", "my dummy"]);
      using h = NetlinkHandle.atPath(ns.path);
      const witness: any[] = ns.ipJson("-d", "link", "show");
      const links = linkList(h);
      expect(links.map((l) => [l.index, l.name]).sort()).toEqual(witness.map((w) => [w.ifindex, w.ifname]).sort());
      const d0 = linkByName(h, "d0");
      const w = witness.find((x) => x.ifname === "d0");
      expect(d0).toMatchObject({ kind: "veth", index: w.ifindex, mtu: 1400, mac: "02:00:00:00:00:aa", alias: "my dummy", slaveKind: "bridge" });
      expect(d0.parentIndex).toBe(linkByName(h, "d1").index);
      expect(d0.master).toBe(linkByName(h, "br0").index);
      expect(linkByName(h, "br0").kind).toBe("bridge");
      const lo = linkByIndex(h, 1);
      expect(lo).toMatchObject({ kind: "device", name: "lo", mac: "00:00:00:00:00:00", operstate: "down" });
      expect(() => linkByName(h, "nope0")).toThrow(NetlinkError);
      expect(() => linkByName(h, "nope0")).toThrow('Cannot find link "nope0": ENODEV');
      expect(linkFind(h, "nope0")).toBeUndefined();
      expect(linkFind(h, 1)?.name).toBe("lo");
      expect(() => linkByName(h, "a-name-too-long-for-linux")).toThrow(RangeError);
    });
  });

  rootTest("up and down", async () => {
    await withNetns(1, (ns) => {
      using h = NetlinkHandle.atPath(ns.path);
      expect(isUp(linkByName(h, "lo"))).toBe(false);
      linkSetUp(h, "lo");
      expect(ns.ipJson("link", "show", "lo")[0].flags).toContain("UP");
      expect(isUp(linkByName(h, "lo"))).toBe(true);
      linkSetDown(h, linkByName(h, "lo"));
      expect(ns.ipJson("link", "show", "lo")[0].flags).not.toContain("UP");
      expect(() => linkSetUp(h, 999)).toThrow(/Cannot set link 999 up: ENODEV/);
    });
  });

  rootTest("a dump larger than one datagram arrives whole", () =>
    withNetns(1, (ns) => {
      const names = Array.from({ length: 150 }, (_, i) => `b${i}`);
      ns.exec(["ip", "-batch", "-"], { input: names.map((n) => `link add ${n} type bridge\n`).join("") });
      using h = NetlinkHandle.atPath(ns.path);
      const got = linkList(h).map((l) => l.name);
      expect(got.length).toBe(151);
      expect(new Set(got)).toEqual(new Set(["lo", ...names]));
    }),
  );
});
