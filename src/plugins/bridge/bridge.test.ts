import { describe, expect } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { allocated, OURS, ping, pingOnce, REF, useBinDir, veths, withNode } from "../../../test/helpers/bridge-kit.ts";
import { rootTest, type TestNetns } from "../../../test/helpers/netns.ts";
import { addrState, type Call, GO_PLUGINS, linkState, routeState, runIn } from "../../../test/helpers/plugin-run.ts";
import { ALL_VERSIONS, compareVersions } from "../../spec/version.ts";

// Our host-local for every version (Debian's stops at 1.0.0), as a process.
const bin = useBinDir();

function conf(version: string, dataDir: string, extra: Record<string, unknown> = {}, ipam: Record<string, unknown> = {}) {
  return {
    cniVersion: version,
    name: "brnet",
    type: "bridge",
    bridge: "cnibr0",
    isGateway: true,
    ...extra,
    ipam: { type: "host-local", dataDir, subnet: "10.44.0.0/24", routes: [{ dst: "0.0.0.0/0" }], ...ipam },
  };
}

const call = (argv: string[], node: TestNetns, c: Call) => runIn(node, argv, { path: bin.dir, ...c });
const nat = (node: TestNetns) =>
  node
    .exec(["iptables-save", "-t", "nat"])
    .split("\n")
    .filter((l) => l.includes("CNI-"));

describe("bridge: ADD/CHECK/DEL at every spec version", () => {
  for (const v of ALL_VERSIONS) {
    rootTest(v, () =>
      withNode(2, async (node, [p1, p2], dataDir) => {
        const c = conf(v, dataDir, { ipMasq: true, hairpinMode: true });
        const r1 = call(OURS, node, { command: "ADD", netns: p1!.path, containerID: "c1", conf: c });
        expect(r1.stderr).toBe("");
        expect(r1.code).toBe(0);
        const r2 = call(OURS, node, { command: "ADD", netns: p2!.path, containerID: "c2", conf: c });
        expect(r2.code).toBe(0);
        if (compareVersions(v, "0.3.0") < 0) {
          expect(r1.json).toEqual({ cniVersion: v, ip4: { ip: "10.44.0.2/24", gateway: "10.44.0.1", routes: [{ dst: "0.0.0.0/0" }] }, dns: {} });
        } else {
          expect(r1.json.interfaces.map((i: any) => i.name)).toEqual(["cnibr0", expect.stringMatching(/^veth[0-9a-f]{8}$/), "eth0"]);
          expect(r1.json.interfaces[2].sandbox).toBe(p1!.path);
          expect(r1.json.ips).toEqual([
            { ...(compareVersions(v, "1.0.0") < 0 ? { version: "4" } : {}), interface: 2, address: "10.44.0.2/24", gateway: "10.44.0.1" },
          ]);
        }
        expect(addrState(node, "cnibr0")).toEqual([{ family: "inet", local: "10.44.0.1", prefixlen: 24, scope: "global", broadcast: "10.44.0.255" }]);
        expect(node.exec(["sysctl", "-n", "net.ipv4.ip_forward"]).trim()).toBe("1");
        expect(nat(node).length).toBe(8);
        expect(await ping(p1!, "10.44.0.3")).toBe(true);
        expect(await ping(p1!, "10.44.0.1")).toBe(true);
        if (compareVersions(v, "0.4.0") >= 0) {
          expect(call(OURS, node, { command: "CHECK", netns: p1!.path, containerID: "c1", conf: { ...c, prevResult: r1.json } }).code).toBe(0);
          // Damage: the address goes, CHECK must fail.
          p1!.exec(["ip", "addr", "flush", "dev", "eth0"]);
          expect(call(OURS, node, { command: "CHECK", netns: p1!.path, containerID: "c1", conf: { ...c, prevResult: r1.json } }).code).toBe(1);
        }
        for (const [p, id] of [
          [p1!, "c1"],
          [p2!, "c2"],
        ] as const) {
          expect(call(OURS, node, { command: "DEL", netns: p.path, containerID: id, conf: c }).code).toBe(0);
          expect(call(OURS, node, { command: "DEL", netns: p.path, containerID: id, conf: c }).code).toBe(0);
        }
        expect(veths(node)).toEqual([]);
        expect(veths(p1!)).toEqual([]);
        expect(nat(node)).toEqual([]);
        expect(allocated(dataDir)).toEqual([]);
      }),
    );
  }
});

describe("bridge: failures leave nothing behind", () => {
  rootTest("macspoofchk: frames from another MAC are dropped; the rules go with DEL", () =>
    withNode(2, async (node, [p1, p2], dataDir) => {
      const c = conf("1.0.0", dataDir, { macspoofchk: true });
      const r1 = call(OURS, node, { command: "ADD", netns: p1!.path, containerID: "c1", conf: c });
      expect(r1.code).toBe(0);
      expect(call(OURS, node, { command: "ADD", netns: p2!.path, containerID: "c2", conf: c }).code).toBe(0);
      const rules = () => node.exec(["nft", "list", "table", "bridge", "nat"], { allowFail: true });
      expect(rules()).toContain(`ether saddr ${r1.json.interfaces[2].mac} return comment "macspoofchk-c1-eth0"`);
      expect(await ping(p1!, "10.44.0.3")).toBe(true);
      p1!.exec(["ip", "link", "set", "eth0", "address", "02:00:00:00:00:99"]);
      p2!.exec(["ip", "neigh", "flush", "all"]);
      expect(pingOnce(p1!, "10.44.0.3")).toBe(false);
      for (const [p, id] of [
        [p1!, "c1"],
        [p2!, "c2"],
      ] as const)
        expect(call(OURS, node, { command: "DEL", netns: p.path, containerID: id, conf: c }).code).toBe(0);
      expect(rules()).not.toContain("macspoofchk");
    }),
  );

  rootTest("bad config: refused, no bridge made", () =>
    withNode(1, (node, [pod], dataDir) => {
      for (const [extra, code] of [
        [{ bridge: "x".repeat(20) }, 7],
        [{ mtu: 20 }, 7],
        [{ vlan: 100 }, 2],
        [{ vlanTrunk: [{ id: 5 }] }, 2],
        [{ ipMasqBackend: "pf" }, 7],
      ] as const) {
        const r = call(OURS, node, { command: "ADD", netns: pod!.path, conf: conf("1.0.0", dataDir, extra) });
        expect(r.json?.code).toBe(code);
      }
      expect(call(OURS, node, { command: "ADD", netns: pod!.path, conf: conf("1.0.0", dataDir), args: "MAC=zz" }).json.code).toBe(7);
      expect(node.ipJson("link", "show").map((l: any) => l.ifname)).toEqual(["lo"]);
      expect(allocated(dataDir)).toEqual([]);
    }),
  );

  rootTest("IPAM exhausted: the veth is removed, nothing reserved twice", () =>
    withNode(2, (node, [p1, p2], dataDir) => {
      const c = conf("1.0.0", dataDir, {}, { subnet: "10.44.0.0/30" });
      expect(call(OURS, node, { command: "ADD", netns: p1!.path, containerID: "c1", conf: c }).code).toBe(0);
      const r = call(OURS, node, { command: "ADD", netns: p2!.path, containerID: "c2", conf: c });
      expect(r.code).toBe(1);
      expect(r.json.msg).toContain("no IP addresses available");
      expect(veths(p2!)).toEqual([]);
      expect(veths(node).length).toBe(1);
      expect(allocated(dataDir)).toEqual(["10.44.0.2"]);
      expect(call(OURS, node, { command: "DEL", netns: p1!.path, containerID: "c1", conf: c }).code).toBe(0);
    }),
  );

  rootTest("namespace gone: DEL removes host veth, reservation and masquerade rules", () =>
    withNode(1, (node, [pod], dataDir) => {
      const c = conf("1.0.0", dataDir, { ipMasq: true });
      expect(call(OURS, node, { command: "ADD", netns: pod!.path, containerID: "c1", conf: c }).code).toBe(0);
      const path = pod!.path;
      pod!.destroy();
      expect(call(OURS, node, { command: "DEL", netns: path, containerID: "c1", conf: c }).code).toBe(0);
      expect(veths(node)).toEqual([]);
      expect(nat(node)).toEqual([]);
      expect(allocated(dataDir)).toEqual([]);
    }),
  );

  rootTest("20 concurrent ADDs on a new bridge: no error, no duplicate address", () =>
    withNode(20, async (node, pods, dataDir) => {
      const c = JSON.stringify(conf("1.0.0", dataDir));
      const one = (pod: TestNetns, i: number) =>
        new Promise<{ code: number | null; out: string }>((resolve) => {
          const env = { PATH: process.env.PATH!, CNI_COMMAND: "ADD", CNI_CONTAINERID: `c${i}`, CNI_NETNS: pod.path, CNI_IFNAME: "eth0", CNI_PATH: bin.dir };
          const p = spawn("ip", ["netns", "exec", node.name, ...OURS], { env });
          let out = "";
          p.stdout.on("data", (d) => (out += d));
          p.on("close", (code) => resolve({ code, out }));
          p.stdin.end(c);
        });
      const results = await Promise.all(pods.map(one));
      expect(results.map((r) => r.code)).toEqual(pods.map(() => 0));
      const addrs = results.map((r) => JSON.parse(r.out).ips[0].address);
      expect(new Set(addrs).size).toBe(20);
      expect(node.ipJson("link", "show", "master", "cnibr0").length).toBe(20);
      for (const [i, pod] of pods.entries())
        expect(call(OURS, node, { command: "DEL", netns: pod.path, containerID: `c${i}`, conf: JSON.parse(c) }).code).toBe(0);
      expect(allocated(dataDir)).toEqual([]);
    }),
  );
});

describe("bridge against the reference", () => {
  for (const v of ["0.3.1", "0.4.0", "1.0.0"]) {
    rootTest(`same result shape and kernel state at ${v}`, () =>
      withNode(1, (node, [pod], dataDir) => {
        const c = conf(v, dataDir, { isDefaultGateway: true, mtu: 1400, hairpinMode: true }, { routes: [] });
        // Bridge ids carry the random MAC; timers tick.
        const scrub = (x: any) => JSON.parse(JSON.stringify(x, (k, val) => (/(_id|_timer)$/.test(k) ? undefined : val)));
        const snap = (hostName: string) =>
          scrub({
            bridge: linkState(node, "cnibr0", "BR"),
            bridgeAddrs: addrState(node, "cnibr0"),
            host: linkState(node, hostName, "HOST"),
            cont: linkState(pod!, "eth0", "CONT"),
            contAddrs: addrState(pod!, "eth0"),
            routes: routeState(pod!),
            fwd: node.exec(["sysctl", "-n", "net.ipv4.ip_forward"]).trim(),
          });
        const shape = (r: any) =>
          JSON.parse(
            JSON.stringify(r)
              .replace(/veth[0-9a-f]{8}/g, "VETH")
              .replace(/"mac":"[0-9a-f:]+"/g, '"mac":"M"'),
          );
        const theirs = call(REF, node, { command: "ADD", netns: pod!.path, conf: c, path: GO_PLUGINS });
        expect(theirs.code).toBe(0);
        const refSnap = snap(theirs.json.interfaces[1].name);
        expect(call(REF, node, { command: "DEL", netns: pod!.path, conf: c, path: GO_PLUGINS }).code).toBe(0);
        node.exec(["ip", "link", "del", "cnibr0"]);
        // host-local goes round robin: start over so both get the same address.
        rmSync(join(dataDir, "brnet"), { recursive: true, force: true });
        const mine = call(OURS, node, { command: "ADD", netns: pod!.path, conf: c, path: GO_PLUGINS });
        expect(mine.code).toBe(0);
        expect(shape(mine.json)).toEqual(shape(theirs.json));
        expect(snap(mine.json.interfaces[1].name)).toEqual(refSnap);
        // Each cleans up after the other.
        expect(call(REF, node, { command: "DEL", netns: pod!.path, conf: { ...c, prevResult: mine.json }, path: GO_PLUGINS }).code).toBe(0);
        expect(veths(pod!)).toEqual([]);
        expect(allocated(dataDir)).toEqual([]);
      }),
    );
  }
});
