/** ipvlan, vlan and vrf links against a kernel that has them (in the VM; skipped where the kernel lacks them). */
import { describe, expect } from "bun:test";
import { withNetns } from "../../test/helpers/netns.ts";
import { kernelTest } from "../../test/vm/kernel.ts";
import { NetNS } from "../sys/netns.ts";
import { NetlinkHandle } from "./handle.ts";
import { linkByName } from "./link.ts";
import { linkAdd, linkDel } from "./link-add.ts";

describe("ipvlan, vlan and vrf links", () => {
  kernelTest("ipvlan")("ipvlan in every mode and flag, made in the pod namespace, read back", () =>
    withNetns(2, (host, pod) => {
      host.exec(["ip", "link", "add", "up0", "type", "veth", "peer", "name", "up1"]);
      using h = NetlinkHandle.atPath(host.path);
      using podH = NetlinkHandle.atPath(pod.path);
      using podNs = NetNS.open(pod.path);
      let n = 0;
      for (const mode of ["l2", "l3", "l3s"] as const) {
        for (const flag of ["bridge", "private", "vepa"] as const) {
          const name = `ipv${n++}`;
          linkAdd(h, { kind: "ipvlan", name, parent: "up0", mode, flag, ns: podNs, mtu: 1400 });
          const [l] = pod.ipJson("-d", "link", "show", "dev", name);
          expect(l.linkinfo).toMatchObject({ info_kind: "ipvlan", info_data: { mode, [flag]: true } });
          expect(l.mtu).toBe(1400);
          expect(linkByName(podH, name)).toMatchObject({ kind: "ipvlan", mode, flag, mtu: 1400 });
        }
      }
      // Mode and flag belong to the master's ipvlan port: on a fresh master, without them, the kernel picks l3 and bridge.
      host.exec(["ip", "link", "add", "up2", "type", "veth", "peer", "name", "up3"]);
      linkAdd(h, { kind: "ipvlan", name: "ipvd", parent: "up2" });
      expect(linkByName(h, "ipvd")).toMatchObject({ kind: "ipvlan", mode: "l3", flag: "bridge", parentIndex: linkByName(h, "up2").index });
    }),
  );

  kernelTest("vlan")("vlan (802.1Q and 802.1ad) on a lower device, read back", () =>
    withNetns(1, (ns) => {
      ns.exec(["ip", "link", "add", "up0", "type", "veth", "peer", "name", "up1"]);
      using h = NetlinkHandle.atPath(ns.path);
      linkAdd(h, { kind: "vlan", name: "up0.100", parent: "up0", vlanId: 100, mtu: 1400 });
      linkAdd(h, { kind: "vlan", name: "qinq", parent: "up0", vlanId: 200, protocol: 0x88a8 });
      expect(ns.ipJson("-d", "link", "show", "dev", "up0.100")[0].linkinfo.info_data).toMatchObject({ protocol: "802.1Q", id: 100 });
      expect(ns.ipJson("-d", "link", "show", "dev", "qinq")[0].linkinfo.info_data).toMatchObject({ protocol: "802.1ad", id: 200 });
      expect(linkByName(h, "up0.100")).toMatchObject({ kind: "vlan", vlanId: 100, protocol: 0x8100, mtu: 1400 });
      expect(linkByName(h, "qinq")).toMatchObject({ kind: "vlan", vlanId: 200, protocol: 0x88a8 });
      expect(() => linkAdd(h, { kind: "vlan", name: "dup", parent: "up0", vlanId: 100 })).toThrow("EEXIST");
    }),
  );

  kernelTest("vrf")("vrf over a table, with a port", () =>
    withNetns(1, (ns) => {
      using h = NetlinkHandle.atPath(ns.path);
      linkAdd(h, { kind: "vrf", name: "blue", table: 1001, up: true });
      linkAdd(h, { kind: "veth", name: "p0", master: "blue", peer: { name: "p1" } });
      expect(ns.ipJson("-d", "link", "show", "dev", "blue")[0].linkinfo).toMatchObject({ info_kind: "vrf", info_data: { table: 1001 } });
      expect(linkByName(h, "blue")).toMatchObject({ kind: "vrf", table: 1001 });
      expect(linkByName(h, "p0")).toMatchObject({ master: linkByName(h, "blue").index, slaveKind: "vrf" });
      linkDel(h, "blue");
      expect(linkByName(h, "p0").master).toBeUndefined();
    }),
  );
});
