/** ipvlan against the Go plugin, in the VM (this host's kernel has no ipvlan). */
import { describe, expect } from "bun:test";
import { addrState, linkState, ours, reference, routeState, runIn } from "../../../test/helpers/plugin-run.ts";
import { kernelTest } from "../../../test/vm/kernel.ts";
import { comparable, links, ping, pingOnce, withNode } from "../../../test/vm/plugin-kit.ts";

const OURS = ours("ipvlan");
const REF = reference("ipvlan");
const test = kernelTest("ipvlan");

// The Go plugin's devices go on "up2": two ipvlans on one master cannot share an address.
const conf = (dataDir: string, extra: Record<string, unknown> = {}, subnet = "10.90.0.0/24") => ({
  cniVersion: "1.0.0",
  name: "ipvnet",
  type: "ipvlan",
  master: "up0",
  ...extra,
  ipam: { type: "host-local", dataDir, subnet, routes: [{ dst: "0.0.0.0/0" }] },
});

describe("ipvlan", () => {
  test("l2, l3 and l3s: the same results, devices, addresses and routes as the Go plugin; CHECK and DEL", () =>
    withNode(2, (node, [a, b], dirs) => {
      for (const mode of ["l2", "l3", "l3s"]) {
        const mine = conf(dirs.ours, { mode, mtu: 1400 });
        const theirs = conf(dirs.ref, { mode, mtu: 1400, master: "up2" });
        const add = runIn(node, OURS, { command: "ADD", netns: a!.path, conf: mine });
        const ref = runIn(node, REF, { command: "ADD", netns: b!.path, conf: theirs });
        expect([add.code, add.stderr]).toEqual([0, ""]);
        expect(comparable(add.json)).toEqual(comparable(ref.json));
        expect(linkState(a!, "eth0")).toEqual(linkState(b!, "eth0"));
        expect(linkState(a!, "eth0").linkinfo.info_data.mode).toBe(mode);
        expect(addrState(a!, "eth0")).toEqual(addrState(b!, "eth0"));
        expect(routeState(a!)).toEqual(routeState(b!));
        expect(runIn(node, OURS, { command: "CHECK", netns: a!.path, conf: { ...mine, prevResult: add.json } }).code).toBe(0);
        if (mode === "l2") {
          // Each CHECKs the other's attachment.
          expect(runIn(node, REF, { command: "CHECK", netns: a!.path, conf: { ...theirs, prevResult: add.json } }).code).toBe(0);
          expect(runIn(node, OURS, { command: "CHECK", netns: b!.path, conf: { ...mine, master: "up2", prevResult: ref.json } }).code).toBe(0);
        }
        expect(runIn(node, OURS, { command: "DEL", netns: a!.path, conf: mine }).code).toBe(0);
        expect(runIn(node, REF, { command: "DEL", netns: b!.path, conf: theirs }).code).toBe(0);
        expect([links(a!), links(b!)]).toEqual([[], []]);
      }
      expect(runIn(node, OURS, { command: "DEL", netns: a!.path, conf: conf(dirs.ours) }).code).toBe(0);
    }));

  test("chained without IPAM: the master and addresses come from the prevResult, as with the Go plugin", () =>
    withNode(2, (node, [a, b]) => {
      const prevResult = {
        cniVersion: "1.0.0",
        interfaces: [{ name: "up0" }],
        ips: [{ address: "10.91.0.5/24", gateway: "10.91.0.1", interface: 0 }],
        routes: [{ dst: "10.92.0.0/16", gw: "10.91.0.1" }],
      };
      const c = { cniVersion: "1.0.0", name: "ipvnet", type: "ipvlan", prevResult };
      const add = runIn(node, OURS, { command: "ADD", netns: a!.path, conf: c });
      const ref = runIn(node, REF, { command: "ADD", netns: b!.path, conf: { ...c, prevResult: { ...prevResult, interfaces: [{ name: "up2" }] } } });
      expect([add.code, add.stderr]).toEqual([0, ""]);
      expect(comparable(add.json)).toEqual(comparable(ref.json));
      expect(linkState(a!, "eth0")).toEqual(linkState(b!, "eth0"));
      expect(addrState(a!, "eth0")).toEqual([{ family: "inet", local: "10.91.0.5", prefixlen: 24, scope: "global", broadcast: "10.91.0.255" }]);
      expect(routeState(a!)).toEqual(routeState(b!));
      // Two interfaces in the prevResult and no master: both refuse.
      const two = { ...c, prevResult: { ...prevResult, interfaces: [{ name: "up0" }, { name: "up1" }] } };
      const e1 = runIn(node, OURS, { command: "ADD", netns: a!.path, ifName: "net1", conf: two });
      const e2 = runIn(node, REF, { command: "ADD", netns: b!.path, ifName: "net1", conf: two });
      expect([e1.json.code, e1.json.msg]).toEqual([e2.json.code, e2.json.msg]);
      expect(e1.json.msg).toBe("chained master failure. PrevResult lacks a single named interface");
    }));

  test("errors as the Go plugin's: unknown mode, missing master; nothing left behind", () =>
    withNode(2, (node, [a, b], dirs) => {
      for (const extra of [{ mode: "l4" }, { master: "nope0" }]) {
        const e1 = runIn(node, OURS, { command: "ADD", netns: a!.path, conf: conf(dirs.ours, extra) });
        const e2 = runIn(node, REF, { command: "ADD", netns: b!.path, conf: conf(dirs.ref, { master: "up2", ...extra }) });
        expect([e1.code, e1.json.code, e1.json.msg]).toEqual([1, e2.json.code, e2.json.msg]);
      }
      expect(links(a!)).toEqual([]);
    }));

  test("traffic: l2 pods on one master reach each other; the private flag keeps them apart", () =>
    withNode(4, async (node, [a, b, c, d], dirs) => {
      const l2 = conf(dirs.ours, { mode: "l2" });
      expect(runIn(node, OURS, { command: "ADD", netns: a!.path, containerID: "a", conf: l2 }).code).toBe(0);
      expect(runIn(node, OURS, { command: "ADD", netns: b!.path, containerID: "b", conf: l2 }).code).toBe(0);
      expect(await ping(a!, "10.90.0.3")).toBe(true);
      const priv = { ...conf(dirs.ref, { mode: "l2", flag: "private" }, "10.93.0.0/24"), name: "ipvpriv" };
      const pc = runIn(node, OURS, { command: "ADD", netns: c!.path, containerID: "c", conf: priv });
      expect(pc.code).toBe(0);
      expect(runIn(node, OURS, { command: "ADD", netns: d!.path, containerID: "d", conf: priv }).code).toBe(0);
      expect(linkState(c!, "eth0").linkinfo.info_data).toMatchObject({ mode: "l2", private: true });
      expect(pingOnce(c!, "10.93.0.3")).toBe(false);
    }));
});
