import { describe, expect, test } from "bun:test";
import { rootTest, withNetns } from "../../test/helpers/netns.ts";
import { bridgeVlanAdd, bridgeVlanBody, bridgeVlanDel, bridgeVlanList, decodeVlans } from "./bridge-vlan.ts";
import { NetlinkHandle } from "./handle.ts";
import { linkByName } from "./link.ts";
import { decodeBridgeVlanInfo, encodeBridgeVlanInfo } from "./nl/bridge-vlan-info.ts";
import { hex, unhex } from "../../test/helpers/hex.ts";

// What iproute2 sends (strace of `bridge vlan add dev v0 vid 100 pvid untagged master`, v0 = ifindex 4):
// ifinfomsg { AF_BRIDGE, index 4 }, IFLA_AF_SPEC { IFLA_BRIDGE_FLAGS = MASTER, IFLA_BRIDGE_VLAN_INFO { PVID|UNTAGGED, 100 } }.
const IPROUTE2_ADD = "07 00 00 00 04 00 00 00 00 00 00 00 00 00 00 00 14 00 1a 00 06 00 00 00 01 00 00 00 08 00 02 00 06 00 64 00";
// `bridge vlan del dev v0 vid 1 master`.
const IPROUTE2_DEL = "07 00 00 00 04 00 00 00 00 00 00 00 00 00 00 00 14 00 1a 00 06 00 00 00 01 00 00 00 08 00 02 00 00 00 01 00";

describe("bridge vlan codec", () => {
  test("bridge_vlan_info round trip and bounds", () => {
    expect(hex(encodeBridgeVlanInfo({ flags: 6, vid: 4094 }))).toBe("06 00 fe 0f");
    expect(decodeBridgeVlanInfo(unhex("06 00 fe 0f"))).toEqual({ flags: 6, vid: 4094 });
    expect(() => encodeBridgeVlanInfo({ flags: 0, vid: 4096 })).toThrow(RangeError);
    expect(() => decodeBridgeVlanInfo(unhex("06 00"))).toThrow(RangeError);
  });

  test("add and delete bodies are byte for byte iproute2's", () => {
    expect(hex(bridgeVlanBody(4, { vid: 100, pvid: true, untagged: true }))).toBe(IPROUTE2_ADD);
    expect(hex(bridgeVlanBody(4, { vid: 1 }))).toBe(IPROUTE2_DEL);
    // self only: the flags say so; neither: no IFLA_BRIDGE_FLAGS at all.
    expect(hex(bridgeVlanBody(4, { vid: 1 }, { self: true })).slice(60, 83)).toBe("06 00 00 00 02 00 00 00");
    expect(hex(bridgeVlanBody(4, { vid: 1 }, {})).slice(48)).toBe("0c 00 1a 00 08 00 02 00 00 00 01 00");
  });

  test("a dump entry's VLANs", () => {
    // ifinfomsg of port 4, IFLA_AF_SPEC { VLAN_INFO { PVID|UNTAGGED, 1 }, VLAN_INFO { 0, 100 } }.
    const payload = unhex("07 00 01 00 04 00 00 00 00 00 00 00 00 00 00 00 14 00 1a 00 08 00 02 00 06 00 01 00 08 00 02 00 00 00 64 00");
    expect(decodeVlans(payload)).toEqual([
      { vid: 1, pvid: true, untagged: true },
      { vid: 100, pvid: false, untagged: false },
    ]);
    expect(decodeVlans(unhex("07 00 01 00 04 00 00 00 00 00 00 00 00 00 00 00"))).toEqual([]);
  });
});

describe("bridge vlan operations", () => {
  rootTest("add, list, delete on a port, or EOPNOTSUPP where the kernel has no VLAN filtering", () =>
    withNetns(1, (ns) => {
      ns.exec(["ip", "link", "add", "br0", "type", "bridge"]);
      ns.exec(["ip", "link", "add", "p0", "type", "veth", "peer", "name", "p1"]);
      ns.exec(["ip", "link", "set", "p0", "master", "br0"]);
      using h = NetlinkHandle.atPath(ns.path);
      const br = linkByName(h, "br0");
      const p0 = linkByName(h, "p0");
      if (br.kind === "bridge" && br.vlanProtocol === undefined) {
        // CONFIG_BRIDGE_VLAN_FILTERING off: the kernel refuses, as it does iproute2.
        expect(() => bridgeVlanAdd(h, p0, { vid: 100, pvid: true, untagged: true })).toThrow(/EOPNOTSUPP/);
        expect(bridgeVlanList(h).get(p0.index)).toBeUndefined();
        return;
      }
      expect(bridgeVlanList(h).get(p0.index)).toEqual([{ vid: 1, pvid: true, untagged: true }]);
      bridgeVlanAdd(h, p0, { vid: 100 });
      bridgeVlanDel(h, p0, 1);
      expect(bridgeVlanList(h).get(p0.index)).toEqual([{ vid: 100, pvid: false, untagged: false }]);
      expect(JSON.parse(ns.exec(["bridge", "-j", "vlan", "show", "dev", "p0"]))[0].vlans).toEqual([{ vlan: 100 }]);
    }),
  );
});
