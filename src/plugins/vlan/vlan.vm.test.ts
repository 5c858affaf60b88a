/** vlan against the Go plugin, in the VM (this host's kernel has no 802.1Q). */
import { describe, expect } from "bun:test";
import { addrState, linkState, ours, reference, routeState, runIn } from "../../../test/helpers/plugin-run.ts";
import { kernelTest } from "../../../test/vm/kernel.ts";
import { comparable, links, ping, pingOnce, withNode } from "../../../test/vm/plugin-kit.ts";

const OURS = ours("vlan");
const REF = reference("vlan");
const test = kernelTest("vlan");

const conf = (dataDir: string, extra: Record<string, unknown> = {}, subnet = "10.94.0.0/24") => ({
  cniVersion: "1.0.0",
  name: "vlnet",
  type: "vlan",
  master: "up0",
  vlanId: 100,
  ...extra,
  ipam: { type: "host-local", dataDir, subnet, routes: [{ dst: "0.0.0.0/0" }] },
});

describe("vlan", () => {
  test("the same result, device, addresses and routes as the Go plugin; CHECK each other's; DEL", () =>
    withNode(2, (node, [a, b], dirs) => {
      // Two VLAN devices of one id cannot share a master: the Go plugin's goes on up2.
      const mine = conf(dirs.ours, { mtu: 1400 });
      const theirs = conf(dirs.ref, { mtu: 1400, master: "up2" });
      const add = runIn(node, OURS, { command: "ADD", netns: a!.path, conf: mine });
      const ref = runIn(node, REF, { command: "ADD", netns: b!.path, conf: theirs });
      expect([add.code, add.stderr]).toEqual([0, ""]);
      expect(comparable(add.json)).toEqual(comparable(ref.json));
      expect(linkState(a!, "eth0")).toEqual(linkState(b!, "eth0"));
      expect(linkState(a!, "eth0").linkinfo.info_data).toMatchObject({ protocol: "802.1Q", id: 100 });
      expect(addrState(a!, "eth0")).toEqual(addrState(b!, "eth0"));
      expect(routeState(a!)).toEqual(routeState(b!));
      expect(runIn(node, OURS, { command: "CHECK", netns: a!.path, conf: { ...mine, prevResult: add.json } }).code).toBe(0);
      expect(runIn(node, REF, { command: "CHECK", netns: a!.path, conf: { ...theirs, master: "up0", prevResult: add.json } }).code).toBe(0);
      expect(runIn(node, OURS, { command: "CHECK", netns: b!.path, conf: { ...mine, master: "up2", prevResult: ref.json } }).code).toBe(0);
      // CHECK with another id: both fail with the reference's (odd) words.
      const c1 = runIn(node, OURS, { command: "CHECK", netns: a!.path, conf: { ...mine, vlanId: 7, prevResult: add.json } });
      const c2 = runIn(node, REF, { command: "CHECK", netns: b!.path, conf: { ...theirs, vlanId: 7, prevResult: ref.json } });
      expect([c1.json?.code, c1.json?.msg]).toEqual([c2.json?.code, c2.json?.msg]);
      expect(runIn(node, OURS, { command: "DEL", netns: a!.path, conf: mine }).code).toBe(0);
      expect(runIn(node, REF, { command: "DEL", netns: b!.path, conf: theirs }).code).toBe(0);
      expect([links(a!), links(b!)]).toEqual([[], []]);
      expect(runIn(node, OURS, { command: "DEL", netns: a!.path, conf: mine }).code).toBe(0);
    }));

  test("errors as the Go plugin's: no master, bad VLAN id, MTU above the master's, missing master", () =>
    withNode(2, (node, [a, b], dirs) => {
      const { master: _m, ...noMaster } = conf(dirs.ours);
      const cases: Record<string, unknown>[] = [
        noMaster,
        conf(dirs.ours, { vlanId: 5000 }),
        conf(dirs.ours, { mtu: 9000 }),
        conf(dirs.ours, { master: "nope0" }),
      ];
      for (const c of cases) {
        const e1 = runIn(node, OURS, { command: "ADD", netns: a!.path, conf: c });
        const e2 = runIn(node, REF, { command: "ADD", netns: b!.path, conf: c });
        expect([e1.code, e1.json?.code, e1.json?.msg]).toEqual([1, e2.json?.code, e2.json?.msg]);
      }
      expect([links(a!), links(b!)]).toEqual([[], []]);
    }));

  test("linkInContainer, and traffic: same VLAN reaches, another VLAN does not", () =>
    withNode(3, async (node, [a, b, c], dirs) => {
      // Three pods on one wire (up0 <-> up1): VLAN 100 twice, VLAN 200 once.
      node.exec(["ip", "link", "set", "up1", "netns", c!.name]);
      c!.exec(["ip", "link", "set", "up1", "up"]);
      const v100 = conf(dirs.ours, {}, "10.94.0.0/24");
      expect(runIn(node, OURS, { command: "ADD", netns: a!.path, containerID: "a", conf: v100 }).code).toBe(0);
      const inPod = { ...conf(dirs.ours, { master: "up1", linkInContainer: true }, "10.94.0.0/24") };
      const add = runIn(node, OURS, { command: "ADD", netns: c!.path, containerID: "c", conf: inPod });
      expect([add.code, add.stderr]).toEqual([0, ""]);
      expect(c!.ipJson("-d", "link", "show", "dev", "eth0")[0].link).toBe("up1");
      expect(runIn(node, OURS, { command: "CHECK", netns: c!.path, containerID: "c", conf: { ...inPod, prevResult: add.json } }).code).toBe(0);
      expect(await ping(a!, "10.94.0.3")).toBe(true);
      const v200 = { ...conf(dirs.ours, { vlanId: 200 }, "10.94.0.0/24"), name: "vlnet200" };
      expect(runIn(node, OURS, { command: "ADD", netns: b!.path, containerID: "b", conf: v200 }).code).toBe(0);
      // b has 10.94.0.2 of another network: the same subnet, but VLAN 200 reaches nobody.
      expect(pingOnce(b!, "10.94.0.3")).toBe(false);
      expect(runIn(node, OURS, { command: "DEL", netns: c!.path, containerID: "c", conf: inPod }).code).toBe(0);
      expect(links(c!)).toEqual(["up1"]);
    }));
});
