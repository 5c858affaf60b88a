import { describe, expect, test } from "bun:test";
import { rootTest, withNetns, type TestNetns } from "../../test/helpers/netns.ts";
import { NetNS } from "../sys/netns.ts";
import { NetlinkHandle } from "./handle.ts";
import { NetlinkError } from "./error.ts";
import { linkBody, linkByName, linkFind } from "./link.ts";
import { RTM_DELLINK } from "./nl/rtnetlink-consts.ts";
import { linkAdd, linkAddBody, linkDel, linkDelUnwaited } from "./link-add.ts";
import { libcBackend } from "../sys/libc.ts";
import { hex } from "../../test/helpers/hex.ts";
import { tuntapAdd } from "../sys/tun.ts";

const detail = (ns: TestNetns, name: string) => ns.ipJson("-d", "link", "show", "dev", name)[0];

describe("linkAdd / linkDel", () => {
  rootTest("veth with its peer created directly in another namespace", () =>
    withNetns(2, (host, pod) => {
      using h = NetlinkHandle.atPath(host.path);
      using podNs = NetNS.open(pod.path);
      linkAdd(h, {
        kind: "veth",
        name: "veth-h",
        mtu: 1400,
        mac: "02:00:00:00:01:01",
        up: true,
        peer: { name: "eth0", mtu: 1400, mac: "02:00:00:00:01:02", ns: podNs },
      });
      const hv = detail(host, "veth-h");
      expect(hv).toMatchObject({ mtu: 1400, address: "02:00:00:00:01:01", linkinfo: { info_kind: "veth" } });
      expect(hv.flags).toContain("UP");
      expect(hv.link_netnsid).toBeDefined();
      const pv = detail(pod, "eth0");
      expect(pv).toMatchObject({ mtu: 1400, address: "02:00:00:00:01:02", linkinfo: { info_kind: "veth" } });
      expect(host.exec(["ip", "link", "show", "eth0"], { allowFail: true })).toBe("");
      const mine = linkByName(h, "veth-h");
      expect(mine).toMatchObject({ kind: "veth", mtu: 1400, parentIndex: pv.ifindex, netnsid: hv.link_netnsid });
      linkDel(h, "veth-h");
      expect(pod.exec(["ip", "link", "show", "eth0"], { allowFail: true })).toBe("");
      expect(() => linkDel(h, "veth-h")).toThrow('Cannot find link "veth-h": ENODEV');
    }),
  );

  rootTest("veth created in another namespace, peer in the handle's", () =>
    withNetns(2, (host, pod) => {
      using h = NetlinkHandle.atPath(host.path);
      using podNs = NetNS.open(pod.path);
      linkAdd(h, { kind: "veth", name: "eth1", ns: podNs, peer: { name: "veth-x" } });
      expect(detail(pod, "eth1").linkinfo.info_kind).toBe("veth");
      expect(detail(host, "veth-x").linkinfo.info_kind).toBe("veth");
    }),
  );

  rootTest("bridge with vlan filtering where the kernel has it", () =>
    withNetns(1, (ns) => {
      using h = NetlinkHandle.atPath(ns.path);
      try {
        linkAdd(h, { kind: "bridge", name: "vf0", vlanFiltering: true });
      } catch (e) {
        // Kernels without CONFIG_BRIDGE_VLAN_FILTERING (this test machine's) refuse it.
        expect((e as NetlinkError).code).toBe("EOPNOTSUPP");
        console.warn("skipping vlan filtering checks: kernel without CONFIG_BRIDGE_VLAN_FILTERING");
        return;
      }
      expect(detail(ns, "vf0").linkinfo.info_data.vlan_filtering).toBe(1);
      expect(linkByName(h, "vf0")).toMatchObject({ kind: "bridge", vlanFiltering: true });
    }),
  );

  rootTest("bridge, and ports at creation", () =>
    withNetns(1, (ns) => {
      using h = NetlinkHandle.atPath(ns.path);
      linkAdd(h, { kind: "bridge", name: "cni0", mtu: 1450 });
      // Checked before a port joins: the kernel then moves a bridge's MTU to its ports'.
      expect(linkByName(h, "cni0")).toMatchObject({ kind: "bridge", mtu: 1450 });
      linkAdd(h, { kind: "veth", name: "p0", master: "cni0", peer: { name: "p1" } });
      const br = detail(ns, "cni0");
      expect(detail(ns, "p0").master).toBe("cni0");
      expect(linkByName(h, "p0")).toMatchObject({ master: br.ifindex, slaveKind: "bridge" });
      expect(() => linkAdd(h, { kind: "bridge", name: "cni0" })).toThrow('Cannot add bridge link "cni0": EEXIST');
    }),
  );

  for (const mode of ["bridge", "private", "vepa", "passthru"] as const) {
    rootTest(`macvlan in ${mode} mode, created in the pod namespace`, () =>
      withNetns(2, (host, pod) => {
        host.exec(["ip", "link", "add", "up0", "type", "veth", "peer", "name", "up1"]);
        using h = NetlinkHandle.atPath(host.path);
        using podNs = NetNS.open(pod.path);
        linkAdd(h, { kind: "macvlan", name: "mv0", parent: "up0", mode });
        expect(detail(host, "mv0").linkinfo.info_data.mode).toBe(mode);
        expect(linkByName(h, "mv0")).toMatchObject({ kind: "macvlan", mode, parentIndex: linkByName(h, "up0").index });
        // passthru takes the whole lower device: one macvlan per parent.
        if (mode === "passthru") host.exec(["ip", "link", "add", "up2", "type", "veth", "peer", "name", "up3"]);
        linkAdd(h, { kind: "macvlan", name: "eth0", parent: mode === "passthru" ? "up2" : "up0", mode, ns: podNs, mtu: 1300 });
        expect(detail(pod, "eth0")).toMatchObject({ mtu: 1300, linkinfo: { info_kind: "macvlan", info_data: { mode } } });
      }),
    );
  }

  rootTest("vxlan with id, local, port, device, no learning and gbp", () =>
    withNetns(1, (ns) => {
      ns.exec(["ip", "link", "add", "ul0", "type", "veth", "peer", "name", "ul1"]);
      ns.exec(["ip", "addr", "add", "10.5.0.1/24", "dev", "ul0"]);
      using h = NetlinkHandle.atPath(ns.path);
      linkAdd(h, { kind: "vxlan", name: "flannel.1", vni: 1, vtepDev: "ul0", local: "10.5.0.1", port: 8472, learning: false, gbp: true, ttl: 64, ageing: 300 });
      const d = detail(ns, "flannel.1").linkinfo.info_data;
      expect(d).toMatchObject({ id: 1, local: "10.5.0.1", port: 8472, learning: false, gbp: true, link: "ul0", ttl: 64, ageing: 300 });
      expect(linkByName(h, "flannel.1")).toMatchObject({
        kind: "vxlan",
        vni: 1,
        local: "10.5.0.1",
        port: 8472,
        learning: false,
        gbp: true,
        vtepIndex: linkByName(h, "ul0").index,
        ttl: 64,
        ageing: 300,
      });
      linkAdd(h, { kind: "vxlan", name: "vx6", vni: 7, local: "fd00::1", group: "ff05::100", vtepDev: "ul0" });
      expect(linkByName(h, "vx6")).toMatchObject({ kind: "vxlan", vni: 7, local: "fd00::1", group: "ff05::100", learning: true, gbp: false });
    }),
  );

  rootTest("dummy, where the kernel has it", () =>
    withNetns(1, (ns) => {
      using h = NetlinkHandle.atPath(ns.path);
      try {
        linkAdd(h, { kind: "dummy", name: "d0", mtu: 9000 });
      } catch (e) {
        // This kernel may be built without CONFIG_DUMMY: then it must say so clearly.
        expect((e as NetlinkError).code).toBe("EOPNOTSUPP");
        expect((e as Error).message).toBe('Cannot add dummy link "d0": EOPNOTSUPP: Unknown device type');
        console.warn("skipping dummy checks: kernel without CONFIG_DUMMY");
        return;
      }
      expect(detail(ns, "d0")).toMatchObject({ mtu: 9000, linkinfo: { info_kind: "dummy" } });
      expect(linkFind(h, "d0")?.kind).toBe("dummy");
    }),
  );

  rootTest("bad specs are refused before anything reaches the kernel", () =>
    withNetns(1, (ns) => {
      using h = NetlinkHandle.atPath(ns.path);
      expect(() => linkAdd(h, { kind: "bridge", name: "a/b" })).toThrow(RangeError);
      expect(() => linkAdd(h, { kind: "bridge", name: "b0", mac: "zz" })).toThrow(RangeError);
      expect(() => linkAdd(h, { kind: "vxlan", name: "v0", vni: 1, local: "300.1.1.1" })).toThrow(RangeError);
      expect(() => linkAdd(h, { kind: "veth", name: "v0", peer: { name: "a-very-long-peer-name" } })).toThrow(RangeError);
      expect(ns.ipJson("link", "show").length).toBe(1);
    }),
  );
});

describe("linkDelUnwaited", () => {
  rootTest("a veth on a bridge: both ends, their addresses and the port are gone when it returns", () =>
    withNetns(2, (host, pod) => {
      host.exec(["ip", "link", "add", "br0", "type", "bridge"]);
      using h = NetlinkHandle.atPath(host.path);
      using ph = NetlinkHandle.atPath(pod.path);
      using podNs = NetNS.open(pod.path);
      for (let round = 0; round < 3; round++) {
        linkAdd(h, { kind: "veth", name: "veth-h", up: true, peer: { name: "eth0", ns: podNs } });
        host.exec(["ip", "link", "set", "veth-h", "master", "br0"]);
        pod.exec(["ip", "addr", "add", "10.9.0.2/24", "dev", "eth0"]);
        linkDelUnwaited(ph, linkByName(ph, "eth0").index);
        expect(pod.exec(["ip", "link", "show", "eth0"], { allowFail: true })).toBe("");
        expect(host.exec(["ip", "link", "show", "veth-h"], { allowFail: true })).toBe("");
        expect(host.exec(["bridge", "link", "show"])).toBe("");
        expect(pod.exec(["ip", "-4", "addr", "show"])).not.toContain("10.9.0.2");
      }
    }),
  );

  rootTest("a link the kernel will not delete fails as linkDel does", () =>
    withNetns(1, (ns) => {
      using h = NetlinkHandle.atPath(ns.path);
      const lo = linkByName(h, "lo").index;
      let plain = "";
      try {
        linkDel(h, lo);
      } catch (e) {
        plain = (e as Error).message;
      }
      expect(plain).not.toBe("");
      expect(() => linkDelUnwaited(h, lo)).toThrow(plain);
      expect(linkDelUnwaited(h, 999_999)).toBe(false);
      // With the addon the request goes through a thread of its own; bun:ffi has none.
      expect(h.requestDetached(RTM_DELLINK, 0, linkBody({ index: 999_999 }))).toBe(libcBackend() === "addon");
    }),
  );
});

describe("linkAddBody: ipvlan, vlan and vrf bodies byte for byte", () => {
  // Numeric parents need no lookup, so no handle is used.
  const noHandle = {} as NetlinkHandle;
  const zeros = (n: number) => Array(n).fill("00").join(" ");

  test("ipvlan l2, private, on ifindex 4", () => {
    expect(hex(linkAddBody(noHandle, { kind: "ipvlan", name: "ipv0", parent: 4, mode: "l2", flag: "private" }))).toBe(
      [
        zeros(16),
        "09 00 03 00 69 70 76 30 00 00 00 00",
        "24 00 12 00",
        "0b 00 01 00 69 70 76 6c 61 6e 00 00",
        "14 00 02 00 06 00 01 00 00 00 00 00 06 00 02 00 01 00 00 00",
        "08 00 05 00 04 00 00 00",
      ].join(" "),
    );
  });

  test("vlan 5, 802.1ad, on ifindex 2", () => {
    expect(hex(linkAddBody(noHandle, { kind: "vlan", name: "eth0.5", parent: 2, vlanId: 5, protocol: 0x88a8 }))).toBe(
      [
        zeros(16),
        "0b 00 03 00 65 74 68 30 2e 35 00 00",
        "24 00 12 00",
        "09 00 01 00 76 6c 61 6e 00 00 00 00",
        "14 00 02 00 06 00 01 00 05 00 00 00 06 00 05 00 88 a8 00 00",
        "08 00 05 00 02 00 00 00",
      ].join(" "),
    );
    expect(() => linkAddBody(noHandle, { kind: "vlan", name: "v", parent: 2, vlanId: 4095 })).toThrow("Invalid VLAN id 4095: must be 0-4094");
  });

  test("vrf over table 100", () => {
    expect(hex(linkAddBody(noHandle, { kind: "vrf", name: "vrf-blue", table: 100 }))).toBe(
      [zeros(16), "0d 00 03 00 76 72 66 2d 62 6c 75 65 00 00 00 00", "18 00 12 00", "08 00 01 00 76 72 66 00", "0c 00 02 00 08 00 01 00 64 00 00 00"].join(" "),
    );
  });
});

describe("tun/tap links as read back", () => {
  rootTest("a tap made through /dev/net/tun decodes with its mode, owner, group and queues", () =>
    withNetns(1, (ns) => {
      using nsh = NetNS.open(ns.path);
      tuntapAdd("tap-d0", { mode: "tap", owner: 1000, group: 1001, multiQueue: true, ns: nsh });
      using h = NetlinkHandle.atPath(ns.path);
      expect(linkByName(h, "tap-d0")).toMatchObject({
        kind: "tun",
        mode: "tap",
        owner: 1000,
        group: 1001,
        multiQueue: true,
        vnetHdr: false,
        persist: true,
        pi: false,
      });
      linkDel(h, "tap-d0");
      expect(linkFind(h, "tap-d0")).toBeUndefined();
    }),
  );
});
