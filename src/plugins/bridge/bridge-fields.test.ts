import { describe, expect } from "bun:test";
import { tmpdir } from "node:os";
import { rootTest } from "../../../test/helpers/netns.ts";
import { allocated, bridgeConf, callIn, ping, pingOnce, portFlags, sysctl, useBinDir, veths, withNode } from "../../../test/helpers/bridge-kit.ts";

const bin = useBinDir();

describe("bridge fields", () => {
  rootTest("isDefaultGateway: gateway on the bridge, default route in the pod; CHECK fails when the port leaves the bridge", () =>
    withNode(1, async (node, [pod], dataDir) => {
      const c = bridgeConf("1.0.0", dataDir, { isDefaultGateway: true });
      const r = callIn(node, bin.dir, { command: "ADD", netns: pod!.path, conf: c });
      expect(r.code).toBe(0);
      expect(r.json.routes).toEqual([{ dst: "0.0.0.0/0", gw: "10.44.0.1" }]);
      expect(pod!.ipJson("route", "show", "default")[0].gateway).toBe("10.44.0.1");
      expect(sysctl(node, "net.ipv4.ip_forward")).toBe("1");
      expect(await ping(pod!, "10.44.0.1")).toBe(true);
      const check = () => callIn(node, bin.dir, { command: "CHECK", netns: pod!.path, conf: { ...c, prevResult: r.json } });
      expect(check().code).toBe(0);
      node.exec(["ip", "link", "set", r.json.interfaces[1].name, "nomaster"]);
      expect(check().json.msg).toContain("is not a port of");
      expect(callIn(node, bin.dir, { command: "DEL", netns: pod!.path, conf: c }).code).toBe(0);
    }),
  );

  rootTest("forceAddress: another address on the bridge fails the ADD (nothing left), forceAddress replaces it", () =>
    withNode(1, (node, [pod], dataDir) => {
      node.exec(["ip", "link", "add", "cnibr0", "type", "bridge"]);
      node.exec(["ip", "addr", "add", "10.44.0.200/24", "dev", "cnibr0"]);
      const c = bridgeConf("1.0.0", dataDir, { isGateway: true });
      const bad = callIn(node, bin.dir, { command: "ADD", netns: pod!.path, conf: c });
      expect(bad.code).toBe(1);
      expect(bad.json.msg).toContain("already has an IP address different from 10.44.0.1/24");
      expect(veths(node)).toEqual([]);
      expect(veths(pod!)).toEqual([]);
      expect(allocated(dataDir)).toEqual([]);
      const forced = { ...c, forceAddress: true };
      expect(callIn(node, bin.dir, { command: "ADD", netns: pod!.path, conf: forced }).code).toBe(0);
      expect(node.ipJson("-4", "addr", "show", "dev", "cnibr0")[0].addr_info.map((a: any) => a.local)).toEqual(["10.44.0.1"]);
      expect(callIn(node, bin.dir, { command: "DEL", netns: pod!.path, conf: forced }).code).toBe(0);
    }),
  );

  rootTest("promiscMode, hairpinMode, portIsolation: isolated pods reach the gateway but not each other", () =>
    withNode(2, async (node, [p1, p2], dataDir) => {
      const c = bridgeConf("1.0.0", dataDir, { isGateway: true, promiscMode: true, hairpinMode: true, portIsolation: true, mtu: 1400 });
      const rs = [p1!, p2!].map((p, i) => callIn(node, bin.dir, { command: "ADD", netns: p.path, containerID: `c${i}`, conf: c }));
      expect(rs.map((r) => r.code)).toEqual([0, 0]);
      expect(node.ipJson("link", "show", "cnibr0")[0].flags).toContain("PROMISC");
      const port = portFlags(node, rs[0]!.json.interfaces[1].name)!;
      expect([port.hairpin, port.isolated]).toEqual([true, true]);
      expect(p1!.ipJson("link", "show", "eth0")[0].mtu).toBe(1400);
      expect(await ping(p1!, "10.44.0.1")).toBe(true);
      expect(pingOnce(p1!, "10.44.0.3")).toBe(false);
      for (const [i, p] of [p1!, p2!].entries()) expect(callIn(node, bin.dir, { command: "DEL", netns: p.path, containerID: `c${i}`, conf: c }).code).toBe(0);
    }),
  );

  rootTest("enabledad: DAD off in the pod by default, on when asked", () =>
    withNode(2, (node, [p1, p2], dataDir) => {
      const v6 = { subnet: undefined, ranges: [[{ subnet: "fd00:44::/64" }]] };
      for (const [p, dad, want] of [
        [p1!, false, "0"],
        [p2!, true, "1"],
      ] as const) {
        const c = bridgeConf("1.0.0", dataDir, { enabledad: dad }, v6);
        const r = callIn(node, bin.dir, { command: "ADD", netns: p.path, containerID: p.name, conf: c });
        expect(r.code).toBe(0);
        expect(sysctl(p, "net.ipv6.conf.eth0.accept_dad")).toBe(want);
        expect(callIn(node, bin.dir, { command: "DEL", netns: p.path, containerID: p.name, conf: c }).code).toBe(0);
      }
    }),
  );

  rootTest("disableContainerInterface: the pod's end stays down without addresses; the reservation is made", () =>
    withNode(1, (node, [pod], dataDir) => {
      const c = bridgeConf("1.0.0", dataDir, { disableContainerInterface: true });
      const r = callIn(node, bin.dir, { command: "ADD", netns: pod!.path, conf: c });
      expect(r.code).toBe(0);
      expect(r.json.ips[0].address).toBe("10.44.0.2/24");
      expect(pod!.ipJson("link", "show", "eth0")[0].flags).not.toContain("UP");
      expect(pod4(pod!)).toEqual([]);
      expect(callIn(node, bin.dir, { command: "CHECK", netns: pod!.path, conf: { ...c, prevResult: r.json } }).code).toBe(0);
      expect(callIn(node, bin.dir, { command: "DEL", netns: pod!.path, conf: c }).code).toBe(0);
      expect(allocated(dataDir)).toEqual([]);
    }),
  );

  rootTest("MAC: runtimeConfig.mac over args.cni.mac over CNI_ARGS MAC", () =>
    withNode(1, (node, [pod], dataDir) => {
      const [rc, ac, env] = ["0a:00:00:00:00:01", "0a:00:00:00:00:02", "0a:00:00:00:00:03"];
      const cases: [Record<string, unknown>, string][] = [
        [{ runtimeConfig: { mac: rc }, args: { cni: { mac: ac } } }, rc],
        [{ args: { cni: { mac: ac } } }, ac],
        [{}, env],
      ];
      for (const [extra, want] of cases) {
        const c = bridgeConf("1.0.0", dataDir, extra);
        const r = callIn(node, bin.dir, { command: "ADD", netns: pod!.path, args: `IgnoreUnknown=1;MAC=${env}`, conf: c });
        expect(r.json.interfaces[2].mac).toBe(want);
        expect(pod!.ipJson("link", "show", "eth0")[0].address).toBe(want);
        expect(callIn(node, bin.dir, { command: "DEL", netns: pod!.path, conf: c }).code).toBe(0);
      }
    }),
  );

  rootTest("no ipam: L2 only, no addresses, pods talk over the bridge", () =>
    withNode(2, async (node, [p1, p2], dataDir) => {
      const c = bridgeConf("1.0.0", dataDir, {}, null);
      const rs = [p1!, p2!].map((p, i) => callIn(node, bin.dir, { command: "ADD", netns: p.path, containerID: `c${i}`, conf: c }));
      expect(rs.map((r) => r.code)).toEqual([0, 0]);
      expect(rs[0]!.json.ips).toBeUndefined();
      expect(rs[0]!.json.interfaces.length).toBe(3);
      expect(pod4(p1!)).toEqual([]);
      p1!.exec(["ip", "addr", "add", "192.168.7.1/24", "dev", "eth0"]);
      p2!.exec(["ip", "addr", "add", "192.168.7.2/24", "dev", "eth0"]);
      expect(await ping(p1!, "192.168.7.2")).toBe(true);
      for (const [i, p] of [p1!, p2!].entries()) expect(callIn(node, bin.dir, { command: "DEL", netns: p.path, containerID: `c${i}`, conf: c }).code).toBe(0);
      expect(veths(node)).toEqual([]);
    }),
  );

  rootTest("preserveDefaultVlan alone is accepted (its default); vlan is refused with nothing made", () =>
    withNode(1, (node, [pod], dataDir) => {
      const ok = bridgeConf("1.0.0", dataDir, { preserveDefaultVlan: true });
      expect(callIn(node, bin.dir, { command: "ADD", netns: pod!.path, conf: ok }).code).toBe(0);
      expect(callIn(node, bin.dir, { command: "DEL", netns: pod!.path, conf: ok }).code).toBe(0);
      node.exec(["ip", "link", "del", "cnibr0"]);
      const r = callIn(node, bin.dir, { command: "ADD", netns: pod!.path, conf: bridgeConf("1.0.0", dataDir, { vlan: 100, preserveDefaultVlan: false }) });
      expect([r.code, r.json.code]).toEqual([1, 2]);
      expect(r.json.msg).toContain("vlan");
      expect(node.ipJson("link", "show").map((l: any) => l.ifname)).toEqual(["lo"]);
      expect(allocated(dataDir)).toEqual([]);
    }),
  );

  rootTest("a CNI_NETNS that is no network namespace is refused before anything is made", () =>
    withNode(0, (node, _pods, dataDir) => {
      for (const netns of [tmpdir(), "/proc/self/ns/mnt", `${node.path}-never-made`]) {
        const r = callIn(node, bin.dir, { command: "ADD", netns, conf: bridgeConf("1.0.0", dataDir, { isGateway: true }) });
        expect([netns, r.code]).toEqual([netns, 1]);
      }
      expect(node.ipJson("link", "show").map((l: any) => l.ifname)).toEqual(["lo"]);
      expect(allocated(dataDir)).toEqual([]);
    }),
  );
});

const pod4 = (p: { ipJson: (...a: string[]) => any[] }) => p.ipJson("addr", "show", "dev", "eth0")[0].addr_info.filter((a: any) => a.family === "inet");
