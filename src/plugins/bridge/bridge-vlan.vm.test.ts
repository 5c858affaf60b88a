/**
 * The bridge's VLANs end to end, where the kernel filters VLANs (in the VM: this host's
 * kernel cannot): traffic stays within a VLAN, trunks carry what they list, and the Go
 * bridge makes the same ports, VLANs, results and errors.
 */
import { describe, expect } from "bun:test";
import type { TestNetns } from "../../../test/helpers/netns.ts";
import { kernelTest } from "../../../test/vm/kernel.ts";
import { comparable } from "../../../test/vm/plugin-kit.ts";
import { bridgeConf, callIn, ping, pingOnce, REF, useBinDir, withNode } from "../../../test/helpers/bridge-kit.ts";
import { GO_PLUGINS, ours } from "../../../test/helpers/plugin-run.ts";

const bin = useBinDir();
const GO = GO_PLUGINS;
const OURS = ours("bridge");
const test = kernelTest("bridge-vlan-filtering");

/** `bridge vlan show` of a port (or the bridge itself). */
const vlans = (node: TestNetns, name: string) => JSON.parse(node.exec(["bridge", "-j", "vlan", "show", "dev", name]))[0]?.vlans ?? [];

describe("bridge VLANs where the kernel filters them", () => {
  test("access ports isolate VLANs; the gateway lives on <bridge>.<vlan>; trunk ports carry their VLANs; DEL leaves the shared gateway", () =>
    withNode(4, async (node, [a1, a2, b1, t1], dataDir) => {
      const onVlan = (vlan: number, subnet: string) => bridgeConf("1.0.0", dataDir, { isGateway: true, vlan }, { subnet });
      const add = (pod: TestNetns, id: string, c: object) => callIn(node, bin.dir, { command: "ADD", netns: pod.path, containerID: id, conf: c }, OURS);
      const ra1 = add(a1!, "a1", onVlan(100, "10.44.0.0/24"));
      const ra2 = add(a2!, "a2", onVlan(100, "10.44.0.0/24"));
      expect([ra1.code, ra1.stderr, ra2.code]).toEqual([0, "", 0]);
      expect(ra1.json.interfaces.map((i: any) => i.name)).toEqual(["cnibr0", expect.stringMatching(/^veth/), "eth0", "cnibr0.100"]);
      expect(node.ipJson("-4", "addr", "show", "dev", "cnibr0.100")[0].addr_info[0].local).toBe("10.44.0.1");
      expect(vlans(node, ra1.json.interfaces[1].name)).toEqual([{ vlan: 100, flags: ["PVID", "Egress Untagged"] }]);
      expect(node.ipJson("-d", "link", "show", "dev", "cnibr0")[0].linkinfo.info_data.vlan_filtering).toBe(1);
      expect(await ping(a1!, "10.44.0.3")).toBe(true);
      expect(await ping(a1!, "10.44.0.1")).toBe(true);
      // Another VLAN on the same bridge, with an address of the same subnet: unreachable.
      const rb1 = add(b1!, "b1", bridgeConf("1.0.0", dataDir, { vlan: 200 }, null));
      expect(rb1.code).toBe(0);
      b1!.exec(["ip", "addr", "add", "10.44.0.99/24", "dev", "eth0"]);
      expect(pingOnce(b1!, "10.44.0.2")).toBe(false);
      // A trunk of VLANs 100-101 (untagged frames on VLAN 1): its VLAN 100 sub-interface reaches the access ports, its untagged side does not.
      const rt = add(t1!, "t1", bridgeConf("1.0.0", dataDir, { vlanTrunk: [{ minID: 100, maxID: 101 }] }, null));
      expect(rt.code).toBe(0);
      expect(vlans(node, rt.json.interfaces[1].name).map((v: any) => v.vlan)).toEqual([1, 100, 101]);
      t1!.exec(["ip", "addr", "add", "10.44.0.98/24", "dev", "eth0"]);
      expect(pingOnce(t1!, "10.44.0.2")).toBe(false);
      t1!.exec(["ip", "addr", "del", "10.44.0.98/24", "dev", "eth0"]);
      t1!.exec(["ip", "link", "add", "link", "eth0", "name", "eth0.100", "type", "vlan", "id", "100"]);
      t1!.exec(["ip", "link", "set", "eth0.100", "up"]);
      t1!.exec(["ip", "addr", "add", "10.44.0.97/24", "dev", "eth0.100"]);
      expect(await ping(t1!, "10.44.0.2")).toBe(true);
      expect(await ping(t1!, "10.44.0.1")).toBe(true);
      // Tagged 101 reaches no access port of 100.
      t1!.exec(["ip", "link", "del", "eth0.100"]);
      t1!.exec(["ip", "link", "add", "link", "eth0", "name", "eth0.101", "type", "vlan", "id", "101"]);
      t1!.exec(["ip", "link", "set", "eth0.101", "up"]);
      t1!.exec(["ip", "addr", "add", "10.44.0.96/24", "dev", "eth0.101"]);
      expect(pingOnce(t1!, "10.44.0.2")).toBe(false);
      for (const [p, id] of [
        [a1!, "a1"],
        [a2!, "a2"],
      ] as const) {
        expect(callIn(node, bin.dir, { command: "DEL", netns: p.path, containerID: id, conf: onVlan(100, "10.44.0.0/24") }, OURS).code).toBe(0);
      }
      expect(node.ipJson("link", "show", "dev", "cnibr0.100").length).toBe(1);
    }));

  test("the Go bridge makes the same results, ports, VLANs and gateway (vlan with the default VLAN kept, as Debian's Go bridge does)", () =>
    withNode(2, (nodeA, [podA], dataDirA) =>
      withNode(2, async (nodeB, [podB], dataDirB) => {
        const c = (dataDir: string) => bridgeConf("1.0.0", dataDir, { isGateway: true, vlan: 100, preserveDefaultVlan: true }, { subnet: "10.45.0.0/24" });
        const ours = callIn(nodeA, bin.dir, { command: "ADD", netns: podA!.path, conf: c(dataDirA) }, OURS);
        const go = callIn(nodeB, GO, { command: "ADD", netns: podB!.path, conf: c(dataDirB) }, REF);
        expect([ours.code, ours.stderr]).toEqual([0, ""]);
        const hostVeth = (r: any) => r.json.interfaces[1].name;
        const norm = (r: any) => JSON.stringify(comparable(r.json)).replaceAll(hostVeth(r), "VETH");
        expect(norm(ours)).toEqual(norm(go));
        expect(vlans(nodeA, hostVeth(ours))).toEqual(vlans(nodeB, hostVeth(go)));
        expect(vlans(nodeA, "cnibr0")).toEqual(vlans(nodeB, "cnibr0"));
        expect(vlans(nodeA, "cnibr0.100")).toEqual(vlans(nodeB, "cnibr0.100"));
        const detail = (n: TestNetns, dev: string) => n.ipJson("-d", "link", "show", "dev", dev)[0].linkinfo;
        expect(detail(nodeA, "cnibr0").info_data.vlan_filtering).toBe(detail(nodeB, "cnibr0").info_data.vlan_filtering);
        expect(nodeA.ipJson("-4", "addr", "show", "dev", "cnibr0.100")[0].addr_info.map((a: any) => a.local)).toEqual(
          nodeB.ipJson("-4", "addr", "show", "dev", "cnibr0.100")[0].addr_info.map((a: any) => a.local),
        );
        expect([await ping(podA!, "10.45.0.1"), await ping(podB!, "10.45.0.1")]).toEqual([true, true]);
        // CHECK each other's attachments, then DEL.
        expect(callIn(nodeA, GO, { command: "CHECK", netns: podA!.path, conf: { ...c(dataDirA), prevResult: ours.json } }, REF).code).toBe(0);
        expect(callIn(nodeB, bin.dir, { command: "CHECK", netns: podB!.path, conf: { ...c(dataDirB), prevResult: go.json } }, OURS).code).toBe(0);
        const bad = bridgeConf("1.0.0", dataDirB, { vlan: 5000 });
        const e1 = callIn(nodeA, bin.dir, { command: "ADD", netns: podA!.path, ifName: "net1", conf: bad }, OURS);
        const e2 = callIn(nodeB, GO, { command: "ADD", netns: podB!.path, ifName: "net1", conf: bad }, REF);
        // The same words; our bridge says code 7 (invalid config) where the Go bridge's plain error is 999.
        expect([e1.json.code, e1.json.msg]).toEqual([7, e2.json.msg]);
        expect(e2.json.code).toBe(999);
      }),
    ));
});
