import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { isRoot, rootTest } from "../../../test/helpers/netns.ts";
import { CniError } from "../../spec/error.ts";
import { loadVlanConf } from "./_vlan.ts";
import { allocated, bridgeConf, callIn, REF, useBinDir, veths, withNode } from "../../../test/helpers/bridge-kit.ts";
import { GO_PLUGINS } from "../../../test/helpers/plugin-run.ts";

const bin = useBinDir();
const GO = GO_PLUGINS;

/** True when this kernel can make a VLAN-filtering bridge (CONFIG_BRIDGE_VLAN_FILTERING). */
function kernelFiltersVlans(): boolean {
  if (!isRoot) return false;
  const ns = `cnitsvf-${process.pid}`;
  spawnSync("ip", ["netns", "add", ns]);
  try {
    return spawnSync("ip", ["-n", ns, "link", "add", "br0", "type", "bridge", "vlan_filtering", "1"]).status === 0;
  } finally {
    spawnSync("ip", ["netns", "del", ns]);
  }
}
const FILTERING = kernelFiltersVlans();

const refused = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return `${(e as CniError).code} ${(e as Error).message}`;
  }
  return "accepted";
};

describe("bridge VLAN config", () => {
  test("vlan, vlanTrunk and preserveDefaultVlan as the reference reads them", () => {
    expect(loadVlanConf({}, "cni0", true)).toEqual({ vlan: 0, vlans: [], filtering: false, preserveDefaultVlan: false });
    expect(loadVlanConf({ vlan: 100, preserveDefaultVlan: true }, "cni0", true)).toEqual({ vlan: 100, vlans: [], filtering: true, preserveDefaultVlan: true });
    // Ranges and single ids merge, sorted, without duplicates; an empty trunk still turns filtering on.
    expect(loadVlanConf({ vlanTrunk: [{ id: 42 }, { minID: 10, maxID: 12 }, { id: 11 }] }, "cni0", false).vlans).toEqual([10, 11, 12, 42]);
    expect(loadVlanConf({ vlanTrunk: [] }, "cni0", false)).toMatchObject({ vlans: [], filtering: true });
  });

  test("bad VLAN fields are refused with the reference's messages (code 7)", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ vlan: 5000 }, "7 invalid VLAN ID 5000 (must be between 0 and 4094)"],
      [{ vlan: -1 }, "7 invalid VLAN ID -1 (must be between 0 and 4094)"],
      [{ vlan: "5" }, '7 Invalid "vlan": "5" is not an integer'],
      [{ vlanTrunk: [{ minID: 0, maxID: 5 }] }, "7 incorrect trunk minID parameter"],
      [{ vlanTrunk: [{ minID: 5, maxID: 4095 }] }, "7 incorrect trunk maxID parameter"],
      [{ vlanTrunk: [{ minID: 6, maxID: 5 }] }, "7 minID is greater than maxID in trunk parameter"],
      [{ vlanTrunk: [{ maxID: 5 }] }, "7 minID and maxID should be configured simultaneously, minID is missing"],
      [{ vlanTrunk: [{ minID: 5 }] }, "7 minID and maxID should be configured simultaneously, maxID is missing"],
      [{ vlanTrunk: [{ id: 4095 }] }, "7 incorrect trunk id parameter"],
      [{ vlanTrunk: { id: 1 } }, '7 Invalid "vlanTrunk": {"id":1} is not a list'],
      [{ preserveDefaultVlan: "maybe" }, "7"],
    ];
    for (const [conf, want] of cases) expect(refused(() => loadVlanConf(conf, "cni0", false))).toStartWith(want);
    // The gateway of VLAN 4094 on a 12-byte bridge name would need a 17-byte interface name.
    expect(refused(() => loadVlanConf({ vlan: 4094 }, "cni-longname", true))).toBe(
      '7 Invalid "vlan": the gateway interface "cni-longname.4094" would be longer than 15 bytes',
    );
    expect(refused(() => loadVlanConf({ vlan: 4094 }, "cni-longname", false))).toBe("accepted");
  });

  rootTest("bad VLAN fields through the plugin: nothing made", () =>
    withNode(1, (node, [pod], dataDir) => {
      const r = callIn(node, bin.dir, { command: "ADD", netns: pod!.path, conf: bridgeConf("1.0.0", dataDir, { vlan: 5000 }) });
      expect([r.code, r.json.code, r.json.msg]).toEqual([1, 7, "invalid VLAN ID 5000 (must be between 0 and 4094)"]);
      expect(node.ipJson("link", "show").map((l: any) => l.ifname)).toEqual(["lo"]);
      expect(allocated(dataDir)).toEqual([]);
    }),
  );
});

describe("bridge VLANs on a kernel without VLAN filtering", () => {
  const maybe = FILTERING ? test.skip : rootTest;
  maybe("a new bridge: refused with code 2 before anything is made", () =>
    withNode(1, (node, [pod], dataDir) => {
      for (const extra of [{ vlan: 100 }, { vlanTrunk: [{ minID: 10, maxID: 20 }] }]) {
        const r = callIn(node, bin.dir, { command: "ADD", netns: pod!.path, conf: bridgeConf("1.0.0", dataDir, { isGateway: true, ...extra }) });
        expect([r.code, r.json.code]).toEqual([1, 2]);
        expect(r.json.msg).toStartWith(`"${Object.keys(extra)[0]}" is not supported on this node: could not add "cnibr0" with VLAN filtering`);
        expect(node.ipJson("link", "show").map((l: any) => l.ifname)).toEqual(["lo"]);
        expect(veths(pod!)).toEqual([]);
        expect(allocated(dataDir)).toEqual([]);
      }
    }),
  );

  maybe("an empty vlanTrunk needs no VLAN filtering: accepted, on a new bridge and on an existing one, as the reference", () =>
    withNode(1, (node, [pod], dataDir) => {
      for (const id of ["t1", "t2"]) {
        const c = bridgeConf("1.0.0", dataDir, { vlanTrunk: [] });
        const r = callIn(node, bin.dir, { command: "ADD", netns: pod!.path, conf: c, containerID: id, ifName: `eth-${id}` });
        expect([r.code, r.stdout.includes('"cnibr0"')]).toEqual([0, true]);
        expect(callIn(node, bin.dir, { command: "DEL", netns: pod!.path, conf: c, containerID: id, ifName: `eth-${id}` }).code).toBe(0);
      }
      expect(veths(pod!)).toEqual([]);
      expect(allocated(dataDir)).toEqual([]);
    }),
  );

  maybe("an existing bridge: refused with code 2, nothing made (the Go bridge fails after making the pair and leaves it)", () =>
    withNode(1, (node, [pod], dataDir) => {
      node.exec(["ip", "link", "add", "cnibr0", "type", "bridge"]);
      const c = bridgeConf("1.0.0", dataDir, { vlan: 100 });
      const r = callIn(node, bin.dir, { command: "ADD", netns: pod!.path, conf: c });
      expect([r.code, r.json.code, r.json.msg]).toEqual([1, 2, '"vlan" is not supported on this node: bridge VLAN filtering is not in this kernel']);
      expect(veths(node)).toEqual([]);
      expect(veths(pod!)).toEqual([]);
      expect(allocated(dataDir)).toEqual([]);
      const go = callIn(node, GO, { command: "ADD", netns: pod!.path, conf: c }, REF);
      expect(go.json.msg).toContain("failed to setup vlan tag on interface");
      expect(veths(node).length).toBe(1);
      expect(veths(pod!)).toEqual(["eth0"]);
    }),
  );
});

// End to end where the kernel filters VLANs: bridge-vlan.vm.test.ts (in the VM).
