import { describe, expect } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { TestNetns } from "../../../test/helpers/netns.ts";
import { rootTest } from "../../../test/helpers/netns.ts";
import { allocated, bridgeConf, callIn, REF, sysctl, useBinDir, veths, withNode } from "../../../test/helpers/bridge-kit.ts";
import { GO_PLUGINS } from "../../../test/helpers/plugin-run.ts";

const bin = useBinDir();
const GO = GO_PLUGINS;
const V6 = { subnet: undefined, ranges: [[{ subnet: "fd00:44::/64" }]] };

/** The sysctls the reference sets on the bridge and the pod end (and those it leaves alone). */
function sysctls(node: TestNetns, pod: TestNetns) {
  return {
    bridgeAcceptRa: sysctl(node, "net.ipv6.conf.cnibr0.accept_ra"),
    arpNotify: sysctl(pod, "net.ipv4.conf.eth0.arp_notify"),
    acceptDad: sysctl(pod, "net.ipv6.conf.eth0.accept_dad"),
    enhancedDad: sysctl(pod, "net.ipv6.conf.eth0.enhanced_dad"),
  };
}

/** ADD with the Go bridge, then (on a fresh node state) with ours; `probe` reads both states. */
function bothWays<T>(node: TestNetns, pod: TestNetns, dataDir: string, c: object, probe: () => T): { go: T; ours: T } {
  const go = callIn(node, GO, { command: "ADD", netns: pod.path, conf: c }, REF);
  expect([go.code, go.stderr]).toEqual([0, ""]);
  const goState = probe();
  expect(callIn(node, GO, { command: "DEL", netns: pod.path, conf: c }, REF).code).toBe(0);
  node.exec(["ip", "link", "del", "cnibr0"]);
  rmSync(join(dataDir, "brnet"), { recursive: true, force: true });
  const mine = callIn(node, bin.dir, { command: "ADD", netns: pod.path, conf: c });
  expect([mine.code, mine.stderr]).toEqual([0, ""]);
  const ourState = probe();
  expect(callIn(node, bin.dir, { command: "DEL", netns: pod.path, conf: c }).code).toBe(0);
  return { go: goState, ours: ourState };
}

describe("bridge: sysctls as the reference", () => {
  for (const enabledad of [false, true]) {
    rootTest(`bridge accept_ra, pod arp_notify and DAD knobs (enabledad ${enabledad})`, () =>
      withNode(1, (node, [pod], dataDir) => {
        const c = bridgeConf("1.0.0", dataDir, { isGateway: true, enabledad }, V6);
        const { go, ours } = bothWays(node, pod!, dataDir, c, () => sysctls(node, pod!));
        expect(ours).toEqual(go);
        expect(ours.bridgeAcceptRa).toBe("0");
        expect(ours.arpNotify).toBe("1");
      }),
    );
  }
});

describe("bridge: the host end", () => {
  rootTest("accept_ra off as in the reference; IPv6 off, unlike the reference: no address or route of its own", () =>
    withNode(1, (node, [pod], dataDir) => {
      const c = bridgeConf("1.0.0", dataDir, { isGateway: true }, V6);
      const r = callIn(node, bin.dir, { command: "ADD", netns: pod!.path, conf: c });
      expect([r.code, r.stderr]).toEqual([0, ""]);
      const host = r.json.interfaces[1].name as string;
      expect([sysctl(node, `net.ipv6.conf.${host}.accept_ra`), sysctl(node, `net.ipv6.conf.${host}.disable_ipv6`)]).toEqual(["0", "1"]);
      expect(node.ipJson("-6", "addr", "show", "dev", host)[0]?.addr_info ?? []).toEqual([]);
      expect(node.ipJson("-6", "route", "show", "table", "all", "dev", host)).toEqual([]);
      // The pod's IPv6 and the bridge's are untouched.
      expect(sysctl(pod!, "net.ipv6.conf.eth0.disable_ipv6")).toBe("0");
      const podAddrs = (pod!.ipJson("-6", "addr", "show", "dev", "eth0")[0].addr_info as { local: string; scope: string }[]).map(
        (a) => `${a.scope} ${a.local}`,
      );
      expect(podAddrs.filter((a) => a.startsWith("global "))).toEqual([r.json.ips[0].address.replace(/^/, "global ").replace(/\/\d+$/, "")]);
      expect(podAddrs.some((a) => a.startsWith("link fe80:"))).toBe(true);
      expect(sysctl(node, "net.ipv6.conf.cnibr0.disable_ipv6")).toBe("0");
      expect(callIn(node, bin.dir, { command: "DEL", netns: pod!.path, conf: c }).code).toBe(0);
      expect(veths(node)).toEqual([]);
    }),
  );
});

describe("bridge CHECK against the reference", () => {
  // Each damage is done to an attachment the Go bridge made; both CHECKs then read the same prevResult.
  const damages: [string, (node: TestNetns, pod: TestNetns, r: any) => void, string | RegExp][] = [
    ["nothing damaged", () => {}, ""],
    [
      "host end left the bridge",
      (node, _pod, r) => node.exec(["ip", "link", "set", r.interfaces[1].name, "nomaster"]),
      "CNI veth created for bridge cnibr0 was not found",
    ],
    [
      "bridge made promiscuous",
      (node) => node.exec(["ip", "link", "set", "cnibr0", "promisc", "on"]),
      "Bridge interface cnibr0 configured Promisc Mode false doesn't match current state: true ",
    ],
    ["bridge MAC changed", (node) => node.exec(["ip", "link", "set", "cnibr0", "address", "02:00:00:00:00:42"]), "Bridge interface cnibr0 Mac doesn't match: "],
    ["pod end MAC changed", (_node, pod) => pod.exec(["ip", "link", "set", "eth0", "address", "02:00:00:00:00:43"]), "Interface eth0 Mac "],
    ["pod address removed", (_node, pod) => pod.exec(["ip", "addr", "flush", "dev", "eth0"]), "Failed to match addr 10.44.0.2/24 on interface eth0"],
    [
      "default route removed",
      (_node, pod) => pod.exec(["ip", "route", "del", "default"]),
      /^Expected Route \{Dst:.* GW:10\.44\.0\.1\} not found in routing table$/,
    ],
    ["host end gone", (node, _pod, r) => node.exec(["ip", "link", "del", r.interfaces[1].name]), "Interface name eth0 not found"],
  ];
  for (const [name, damage, msg] of damages) {
    rootTest(name, () =>
      withNode(1, (node, [pod], dataDir) => {
        const c = bridgeConf("1.0.0", dataDir, { isDefaultGateway: true });
        const add = callIn(node, GO, { command: "ADD", netns: pod!.path, conf: c }, REF);
        expect(add.code).toBe(0);
        damage(node, pod!, add.json);
        const checked = { ...c, prevResult: add.json };
        const go = callIn(node, GO, { command: "CHECK", netns: pod!.path, conf: checked }, REF);
        const mine = callIn(node, bin.dir, { command: "CHECK", netns: pod!.path, conf: checked });
        expect([mine.code, go.code]).toEqual(msg ? [1, 1] : [0, 0]);
        // Go prints the route's struct ({Dst:{IP:0.0.0.0 Mask:00000000} ...}), we print the CIDR.
        if (msg) for (const r of [go, mine]) expect(r.json.msg).toMatch(msg);
        expect(callIn(node, bin.dir, { command: "DEL", netns: pod!.path, conf: c }).code).toBe(0);
        expect(veths(node)).toEqual([]);
        expect(allocated(dataDir)).toEqual([]);
      }),
    );
  }

  rootTest("our ADD, then CHECK by both: healthy passes, the same damage fails both", () =>
    withNode(1, (node, [pod], dataDir) => {
      const c = bridgeConf("1.0.0", dataDir, { isGateway: true, promiscMode: true });
      const add = callIn(node, bin.dir, { command: "ADD", netns: pod!.path, conf: c });
      expect(add.code).toBe(0);
      const checked = { ...c, prevResult: add.json };
      const both = () => [
        callIn(node, GO, { command: "CHECK", netns: pod!.path, conf: checked }, REF).code,
        callIn(node, bin.dir, { command: "CHECK", netns: pod!.path, conf: checked }).code,
      ];
      expect(both()).toEqual([0, 0]);
      node.exec(["ip", "link", "set", "cnibr0", "promisc", "off"]);
      expect(both()).toEqual([1, 1]);
      expect(callIn(node, bin.dir, { command: "DEL", netns: pod!.path, conf: c }).code).toBe(0);
    }),
  );

  rootTest('L2 only: our CHECK passes without IPAM (the reference looks for an IPAM plugin named "")', () =>
    withNode(1, (node, [pod], dataDir) => {
      const c = bridgeConf("1.0.0", dataDir, {}, null);
      const add = callIn(node, bin.dir, { command: "ADD", netns: pod!.path, conf: c });
      expect(add.code).toBe(0);
      expect(callIn(node, bin.dir, { command: "CHECK", netns: pod!.path, conf: { ...c, prevResult: add.json } }).code).toBe(0);
      pod!.exec(["ip", "link", "set", "eth0", "address", "02:00:00:00:00:44"]);
      expect(callIn(node, bin.dir, { command: "CHECK", netns: pod!.path, conf: { ...c, prevResult: add.json } }).code).toBe(1);
      expect(callIn(node, bin.dir, { command: "DEL", netns: pod!.path, conf: c }).code).toBe(0);
    }),
  );
});
