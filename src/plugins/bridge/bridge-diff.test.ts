import { describe, expect } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { TestNetns } from "../../../test/helpers/netns.ts";
import { rootTest } from "../../../test/helpers/netns.ts";
import { addrState, GO_PLUGINS, linkState, routeState } from "../../../test/helpers/plugin-run.ts";
import { allocated, bridgeConf, callIn, ping, REF, sysctl, useBinDir, veths, withNode } from "../../../test/helpers/bridge-kit.ts";

const bin = useBinDir();
const GO = GO_PLUGINS;
const DUAL = { subnet: undefined, ranges: [[{ subnet: "10.44.0.0/24" }], [{ subnet: "fd00:44::/64" }]] };

// Bridge ids carry the random MAC; timers tick.
const scrub = (x: unknown) => JSON.parse(JSON.stringify(x, (k, val) => (/(_id|_timer)$/.test(k) ? undefined : val)));
const shape = (r: unknown) =>
  JSON.parse(
    JSON.stringify(r)
      .replace(/veth[0-9a-f]{8}/g, "VETH")
      .replace(/"mac":"[0-9a-f:]+"/g, '"mac":"M"'),
  );
const nat = (node: TestNetns) =>
  node
    .exec(["iptables-save", "-t", "nat"])
    .split("\n")
    .filter((l) => l.includes("CNI-"))
    .sort();

/**
 * Waits (up to 5 s) until no global IPv6 address of the link is tentative. Link-local ones
 * are left to finish: the snapshot leaves out fe80:: addresses and routes, so their DAD
 * (a second or more on every new link) changes nothing compared.
 */
function settleDad(ns: TestNetns, dev: string): void {
  for (let i = 0; i < 50 && ns.exec(["ip", "-6", "addr", "show", "dev", dev, "scope", "global", "tentative"]).trim(); i++) Bun.sleepSync(100);
}

/** Everything the plugin touches in the node and the pod, comparable between two runs. */
function snapshot(node: TestNetns, pod: TestNetns, hostName: string) {
  // The kernel adds the subnet-router anycast route when an IPv6 address leaves DAD: on a
  // loaded machine that may be after the ADD returned, so wait for DAD on both sides.
  settleDad(node, "cnibr0");
  settleDad(pod, "eth0");
  const ports = node.ipJson("link", "show", "master", "cnibr0").length;
  return scrub({
    bridge: linkState(node, "cnibr0", "BR"),
    bridgeAddrs: addrState(node, "cnibr0"),
    ports,
    host: linkState(node, hostName, "HOST"),
    hostAddrs: addrState(node, hostName),
    cont: linkState(pod, "eth0", "CONT"),
    contAddrs: addrState(pod, "eth0"),
    routes: routeState(pod),
    nodeRoutes: routeState(node, { [hostName]: "HOST" }),
    sysctls: [sysctl(node, "net.ipv4.ip_forward"), sysctl(node, "net.ipv6.conf.all.forwarding"), sysctl(pod, "net.ipv6.conf.eth0.accept_dad")],
    nat: nat(node),
  });
}

/** The Go bridge, then ours, on a fresh node state each: same result shape, same kernel state; Go's DEL cleans ours. */
function differential(node: TestNetns, pod: TestNetns, dataDir: string, c: Record<string, unknown>) {
  const theirs = callIn(node, GO, { command: "ADD", netns: pod.path, conf: c }, REF);
  expect(theirs.stderr).toBe("");
  expect(theirs.code).toBe(0);
  const refSnap = snapshot(node, pod, theirs.json.interfaces[1].name);
  expect(callIn(node, GO, { command: "DEL", netns: pod.path, conf: c }, REF).code).toBe(0);
  node.exec(["ip", "link", "del", "cnibr0"]);
  for (const k of ["net.ipv4.ip_forward=0", "net.ipv6.conf.all.forwarding=0"]) node.exec(["sysctl", "-qw", k]);
  // host-local goes round robin: start over so both get the same address.
  rmSync(join(dataDir, "brnet"), { recursive: true, force: true });
  const mine = callIn(node, bin.dir, { command: "ADD", netns: pod.path, conf: c });
  expect(mine.stderr).toBe("");
  expect(mine.code).toBe(0);
  expect(shape(mine.json)).toEqual(shape(theirs.json));
  expect(snapshot(node, pod, mine.json.interfaces[1].name)).toEqual(refSnap);
  expect(callIn(node, GO, { command: "DEL", netns: pod.path, conf: { ...c, prevResult: mine.json } }, REF).code).toBe(0);
  expect(veths(node)).toEqual([]);
  expect(veths(pod)).toEqual([]);
  expect(nat(node)).toEqual([]);
  expect(allocated(dataDir)).toEqual([]);
}

describe("bridge against the Go reference, more configs", () => {
  const cases: [string, (d: string) => Record<string, unknown>][] = [
    ["L2 only", (d) => bridgeConf("1.0.0", d, {}, null)],
    ["L2 only, promiscMode, mtu", (d) => bridgeConf("1.0.0", d, { promiscMode: true, mtu: 1280 }, null)],
    ["no gateway", (d) => bridgeConf("1.0.0", d, {})],
    ["dual stack isDefaultGateway, ipMasq", (d) => bridgeConf("1.0.0", d, { isDefaultGateway: true, ipMasq: true }, DUAL)],
    ["dual stack isGateway, enabledad, 0.4.0", (d) => bridgeConf("0.4.0", d, { isGateway: true, enabledad: true }, DUAL)],
    ["isGateway, hairpin, IPAM routes, 0.3.1", (d) => bridgeConf("0.3.1", d, { isGateway: true, hairpinMode: true }, { routes: [{ dst: "10.99.0.0/16" }] })],
  ];
  for (const [name, make] of cases) {
    rootTest(name, () => withNode(1, (node, [pod], dataDir) => differential(node, pod!, dataDir, make(dataDir))));
  }
});

describe("bridge: traffic, GC and STATUS", () => {
  rootTest("dual stack: pod to pod and pod to gateway over both families", () =>
    withNode(2, async (node, [p1, p2], dataDir) => {
      const c = bridgeConf("1.0.0", dataDir, { isGateway: true }, DUAL);
      for (const [i, p] of [p1!, p2!].entries()) expect(callIn(node, bin.dir, { command: "ADD", netns: p.path, containerID: `c${i}`, conf: c }).code).toBe(0);
      // As with the Go plugin, the bridge's IPv6 gateway is tentative (DAD) for about a second after the first ADD.
      for (let i = 0; i < 50 && node.exec(["ip", "-6", "addr", "show", "dev", "cnibr0", "tentative"]).trim(); i++) Bun.sleepSync(100);
      for (const ip of ["10.44.0.3", "10.44.0.1", "fd00:44::3", "fd00:44::1"]) expect([ip, await ping(p1!, ip)]).toEqual([ip, true]);
      for (const [i, p] of [p1!, p2!].entries()) expect(callIn(node, bin.dir, { command: "DEL", netns: p.path, containerID: `c${i}`, conf: c }).code).toBe(0);
    }),
  );

  rootTest("GC releases the reservations of attachments not listed; STATUS asks IPAM", () =>
    withNode(2, (node, [p1, p2], dataDir) => {
      const c = bridgeConf("1.1.0", dataDir, { isGateway: true });
      for (const [i, p] of [p1!, p2!].entries()) expect(callIn(node, bin.dir, { command: "ADD", netns: p.path, containerID: `c${i}`, conf: c }).code).toBe(0);
      expect(allocated(dataDir)).toEqual(["10.44.0.2", "10.44.0.3"]);
      const gc = { ...c, "cni.dev/valid-attachments": [{ containerID: "c0", ifname: "eth0" }] };
      const r = callIn(node, bin.dir, { command: "GC", conf: gc });
      expect([r.code, r.stdout]).toEqual([0, ""]);
      expect(allocated(dataDir)).toEqual(["10.44.0.2"]);
      expect(callIn(node, bin.dir, { command: "STATUS", conf: c }).code).toBe(0);
      const missing = callIn(node, bin.dir, { command: "STATUS", conf: { ...c, ipam: { type: "no-such-ipam" } } });
      expect(missing.code).toBe(1);
      expect(callIn(node, bin.dir, { command: "STATUS", conf: bridgeConf("1.1.0", dataDir, {}, null) }).code).toBe(0);
      for (const [i, p] of [p1!, p2!].entries()) expect(callIn(node, bin.dir, { command: "DEL", netns: p.path, containerID: `c${i}`, conf: c }).code).toBe(0);
      expect(allocated(dataDir)).toEqual([]);
    }),
  );
});
