import { describe, expect } from "bun:test";
import { rootTest, type TestNetns } from "../../../test/helpers/netns.ts";
import {
  allocated as held,
  badIpamChangesNothing,
  delAfterPodGone,
  linkDetail as detail,
  links,
  ping,
  withNode as withNodeOf,
} from "../../../test/helpers/node.ts";
import { addrState, fakeIPAM, linkState, ours, reference, routeState, runIn, tempDir } from "../../../test/helpers/plugin-run.ts";
import { ALL_VERSIONS, compareVersions } from "../../spec/version.ts";

const OURS = ours("macvlan");
const REF = reference("macvlan");

function conf(version: string, dataDir: string, extra: Record<string, unknown> = {}, ipam: Record<string, unknown> = {}) {
  return {
    cniVersion: version,
    name: "mvnet",
    type: "macvlan",
    master: "br0",
    ...extra,
    ipam: { type: "host-local", dataDir, subnet: "10.78.0.0/24", routes: [{ dst: "0.0.0.0/0" }], ...ipam },
  };
}

/**
 * A node with a bridge "br0" (up, default route through it) as the master, and pods
 * beside it. macvlans on one bridge master talk to each other in bridge mode.
 */
function withNode(pods: number, fn: (node: TestNetns, pods: TestNetns[], dataDir: string) => Promise<void> | void) {
  return withNodeOf(pods, fn, {
    prefix: "mvl",
    setup: (node) => {
      node.exec(["ip", "link", "add", "br0", "type", "bridge"]);
      node.exec(["ip", "link", "set", "br0", "up"]);
      node.exec(["ip", "addr", "add", "192.168.78.1/24", "dev", "br0"]);
      node.exec(["ip", "route", "add", "default", "via", "192.168.78.254", "dev", "br0"]);
    },
  });
}

const allocated = (dataDir: string, net = "mvnet") => held(dataDir, net);

describe("macvlan: ADD/CHECK/DEL at every spec version", () => {
  for (const v of ALL_VERSIONS) {
    rootTest(v, () =>
      withNode(1, async (node, [pod], dataDir) => {
        // Debian's host-local (v1.1.1) does not speak 1.1.0: a scripted IPAM stands in.
        const fake =
          v === "1.1.0"
            ? fakeIPAM({ cniVersion: "1.1.0", ips: [{ address: "10.78.0.2/24", gateway: "10.78.0.1" }], routes: [{ dst: "0.0.0.0/0" }] })
            : undefined;
        try {
          const c = fake ? { ...conf(v, dataDir), ipam: { type: "fake-ipam" } } : conf(v, dataDir);
          const path = fake?.dir;
          const add = runIn(node, OURS, { command: "ADD", netns: pod!.path, path, conf: c });
          expect([add.code, add.stderr]).toEqual([0, ""]);
          const mac = detail(pod!, "eth0").address;
          if (compareVersions(v, "0.3.0") < 0) {
            expect(add.json).toEqual({ cniVersion: v, ip4: { ip: "10.78.0.2/24", gateway: "10.78.0.1", routes: [{ dst: "0.0.0.0/0" }] }, dns: {} });
          } else {
            expect(add.json).toEqual({
              cniVersion: v,
              interfaces: [{ name: "eth0", mac, sandbox: pod!.path }],
              ips: [{ ...(compareVersions(v, "1.0.0") < 0 ? { version: "4" } : {}), interface: 0, address: "10.78.0.2/24", gateway: "10.78.0.1" }],
              routes: [{ dst: "0.0.0.0/0" }],
              dns: {},
            });
          }
          const d = detail(pod!, "eth0");
          expect(d.linkinfo).toMatchObject({ info_kind: "macvlan", info_data: { mode: "bridge" } });
          expect(d.flags).toContain("UP");
          expect(addrState(pod!, "eth0")).toEqual([{ family: "inet", local: "10.78.0.2", prefixlen: 24, scope: "global", broadcast: "10.78.0.255" }]);
          expect(pod!.exec(["sysctl", "-n", "net.ipv4.conf.eth0.arp_notify"]).trim()).toBe("1");
          if (compareVersions(v, "0.4.0") >= 0) {
            const check = runIn(node, OURS, { command: "CHECK", netns: pod!.path, path, conf: { ...c, prevResult: add.json } });
            expect([check.code, check.stdout]).toEqual([0, ""]);
          }
          expect(runIn(node, OURS, { command: "DEL", netns: pod!.path, path, conf: c }).code).toBe(0);
          expect([links(pod!), links(node), allocated(dataDir)]).toEqual([[], ["br0"], []]);
          expect(runIn(node, OURS, { command: "DEL", netns: pod!.path, path, conf: c }).code).toBe(0);
        } finally {
          fake?.cleanup();
        }
      }),
    );
  }
});

describe("macvlan: fields", () => {
  rootTest("two pods on one master ping each other (bridge mode)", () =>
    withNode(2, async (node, [p1, p2], dataDir) => {
      expect(runIn(node, OURS, { command: "ADD", netns: p1!.path, containerID: "c1", conf: conf("1.0.0", dataDir) }).code).toBe(0);
      expect(runIn(node, OURS, { command: "ADD", netns: p2!.path, containerID: "c2", conf: conf("1.0.0", dataDir) }).code).toBe(0);
      expect(await ping(p1!, "10.78.0.3")).toBe(true);
      expect(await ping(p2!, "10.78.0.2")).toBe(true);
    }),
  );

  rootTest("private mode: two pods on one master cannot talk", () =>
    withNode(2, async (node, [p1, p2], dataDir) => {
      const c = conf("1.0.0", dataDir, { mode: "private" });
      expect(runIn(node, OURS, { command: "ADD", netns: p1!.path, containerID: "c1", conf: c }).code).toBe(0);
      expect(runIn(node, OURS, { command: "ADD", netns: p2!.path, containerID: "c2", conf: c }).code).toBe(0);
      expect(detail(p1!, "eth0").linkinfo.info_data.mode).toBe("private");
      expect(p1!.exec(["ping", "-c", "1", "-W", "1", "10.78.0.3"], { allowFail: true })).not.toContain("1 received");
    }),
  );

  for (const mode of ["vepa", "passthru"]) {
    rootTest(`mode ${mode}`, () =>
      withNode(1, async (node, [pod], dataDir) => {
        const c = conf("1.0.0", dataDir, { mode });
        expect(runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: c }).code).toBe(0);
        expect(detail(pod!, "eth0").linkinfo.info_data.mode).toBe(mode);
        expect(
          runIn(node, OURS, {
            command: "CHECK",
            netns: pod!.path,
            conf: {
              ...c,
              prevResult: runIn(node, OURS, {
                command: "ADD",
                netns: pod!.path,
                ifName: "net1",
                containerID: "x",
                conf: conf("1.0.0", dataDir, { mode: "bridge" }),
              }).json,
            },
          }).code,
        ).toBe(1);
      }),
    );
  }

  rootTest("L2 only without ipam: the link up, no addresses; mtu and bcqueuelen applied", () =>
    withNode(1, async (node, [pod]) => {
      const c = { cniVersion: "1.0.0", name: "mvnet", type: "macvlan", master: "br0", mtu: 1400, bcqueuelen: 300 };
      const add = runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: c });
      expect(add.json).toEqual({ cniVersion: "1.0.0", interfaces: [{ name: "eth0", mac: detail(pod!, "eth0").address, sandbox: pod!.path }], dns: {} });
      const d = detail(pod!, "eth0");
      expect([d.mtu, d.linkinfo.info_data.bcqueuelen, d.flags.includes("UP")]).toEqual([1400, 300, true]);
      expect(addrState(pod!, "eth0")).toEqual([]);
      expect(runIn(node, OURS, { command: "CHECK", netns: pod!.path, conf: { ...c, prevResult: add.json } }).code).toBe(0);
      expect(runIn(node, OURS, { command: "DEL", netns: pod!.path, conf: c }).code).toBe(0);
      expect(links(pod!)).toEqual([]);
    }),
  );

  rootTest("the default master is the interface of the node's default route", () =>
    withNode(1, async (node, [pod], dataDir) => {
      const { master: _m, ...c } = conf("1.0.0", dataDir);
      expect(runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: c }).code).toBe(0);
      expect(detail(pod!, "eth0").link_netnsid).toBeDefined();
      node.exec(["ip", "route", "del", "default"]);
      const add = runIn(node, OURS, { command: "ADD", netns: pod!.path, ifName: "net1", containerID: "c2", conf: c });
      expect(add.json.msg).toBe("no default route interface found");
      expect(links(pod!)).toEqual(["eth0"]);
    }),
  );

  rootTest("mac: runtimeConfig beats CNI_ARGS beats the config", () =>
    withNode(1, async (node, [pod]) => {
      const base = { cniVersion: "1.0.0", name: "mvnet", type: "macvlan", master: "br0", mac: "02:00:00:00:00:01" };
      const a = runIn(node, OURS, { command: "ADD", netns: pod!.path, ifName: "a0", containerID: "a", conf: base });
      const b = runIn(node, OURS, {
        command: "ADD",
        netns: pod!.path,
        ifName: "b0",
        containerID: "b",
        args: "IgnoreUnknown=1;MAC=02:00:00:00:00:02",
        conf: base,
      });
      const c = runIn(node, OURS, {
        command: "ADD",
        netns: pod!.path,
        ifName: "c0",
        containerID: "c",
        args: "MAC=02:00:00:00:00:02",
        conf: { ...base, runtimeConfig: { mac: "02:00:00:00:00:03" } },
      });
      expect([a.json.interfaces[0].mac, b.json.interfaces[0].mac, c.json.interfaces[0].mac]).toEqual([
        "02:00:00:00:00:01",
        "02:00:00:00:00:02",
        "02:00:00:00:00:03",
      ]);
      expect(detail(pod!, "c0").address).toBe("02:00:00:00:00:03");
      // Unknown CNI_ARGS without IgnoreUnknown are refused, as the reference does.
      const d = runIn(node, OURS, { command: "ADD", netns: pod!.path, ifName: "d0", containerID: "d", args: "K8S_POD_NAME=x", conf: base });
      expect(d.json.code).toBe(4);
    }),
  );

  rootTest("linkInContainer: the master is in the pod", () =>
    withNode(1, async (node, [pod]) => {
      pod!.exec(["ip", "link", "add", "up0", "type", "veth", "peer", "name", "up1"]);
      pod!.exec(["ip", "link", "set", "up0", "up"]);
      const c = { cniVersion: "1.0.0", name: "mvnet", type: "macvlan", master: "up0", linkInContainer: true };
      const add = runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: c });
      expect(add.code).toBe(0);
      expect(detail(pod!, "eth0").link).toBe("up0");
      expect(runIn(node, OURS, { command: "CHECK", netns: pod!.path, conf: { ...c, prevResult: add.json } }).code).toBe(0);
      // Without linkInContainer the master is looked for on the node.
      const bad = runIn(node, OURS, { command: "ADD", netns: pod!.path, ifName: "net1", conf: { ...c, linkInContainer: false } });
      expect(bad.json.msg).toBe('failed to lookup master "up0": Link not found');
      expect(runIn(node, OURS, { command: "DEL", netns: pod!.path, conf: c }).code).toBe(0);
      expect(links(pod!).sort()).toEqual(["up0", "up1"]);
    }),
  );

  const bad: [string, Record<string, unknown>, number, string][] = [
    ["an unknown mode", { mode: "source" }, 7, 'unknown macvlan mode: "source"'],
    ["an MTU above the master's", { mtu: 9000 }, 7, "invalid MTU 9000, must be [0, master MTU(1500)]"],
    ["a negative MTU", { mtu: -1 }, 7, `Invalid "mtu": -1 is out of range [0, 65535]`],
    ["a multicast MAC", { mac: "01:00:5e:00:00:01" }, 7, "invalid args 01:00:5e:00:00:01 for MAC addr: not a unicast Ethernet address"],
    ["a malformed MAC", { mac: "zz" }, 7, `invalid args zz for MAC addr: Cannot parse hardware address "zz": expected hex pairs like 02:42:ac:11:00:02`],
    ["a master that is not there", { master: "nope0" }, 999, 'failed to lookup master "nope0": Link not found'],
    ["a master name with a slash", { master: "a/b" }, 7, 'Invalid "master" "a/b": interface name contains / or : or whitespace characters'],
  ];
  for (const [what, extra, code, msg] of bad) {
    rootTest(`refuses ${what} before changing anything`, () =>
      withNode(1, async (node, [pod], dataDir) => {
        const add = runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: conf("1.0.0", dataDir, extra) });
        expect(add.json).toEqual({ cniVersion: "1.0.0", code, msg });
        expect([links(pod!), links(node), allocated(dataDir)]).toEqual([[], ["br0"], []]);
      }),
    );
  }
});

describe("macvlan: failures undo everything", () => {
  rootTest("IPAM exhausted: the device made before IPAM is deleted (the reference leaks it)", () =>
    withNode(2, async (node, [p1, p2], dataDir) => {
      const c = conf("1.0.0", dataDir, {}, { subnet: undefined, ranges: [[{ subnet: "10.78.0.0/24", rangeStart: "10.78.0.9", rangeEnd: "10.78.0.9" }]] });
      expect(runIn(node, OURS, { command: "ADD", netns: p1!.path, containerID: "c1", conf: c }).code).toBe(0);
      const second = runIn(node, OURS, { command: "ADD", netns: p2!.path, containerID: "c2", conf: c });
      expect(second.json.msg).toContain("no IP addresses available");
      expect(links(p2!)).toEqual([]);
      expect(allocated(dataDir)).toEqual(["10.78.0.9"]);
    }),
  );

  rootTest("a route that cannot be added: device deleted and the address released", () =>
    withNode(1, async (node, [pod], dataDir) => {
      const c = conf("1.0.0", dataDir, {}, { routes: [{ dst: "10.99.0.0/16", gw: "192.168.200.1" }] });
      const add = runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: c });
      expect(add.json.msg).toStartWith("failed to add route '10.99.0.0/16 via 192.168.200.1 dev eth0'");
      expect([links(pod!), allocated(dataDir)]).toEqual([[], []]);
    }),
  );

  rootTest("CNI_IFNAME taken in the pod: refused before anything is made", () =>
    withNode(1, async (node, [pod], dataDir) => {
      pod!.exec(["ip", "link", "add", "eth0", "type", "bridge"]);
      const add = runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: conf("1.0.0", dataDir) });
      expect(add.json.msg).toBe(`interface "eth0" already exists in netns "${pod!.path}"`);
      expect([links(pod!), allocated(dataDir)]).toEqual([["eth0"], []]);
    }),
  );

  rootTest("DEL when the namespace is gone releases the address", () =>
    withNode(1, async (node, [pod], dataDir) => {
      expect(delAfterPodGone(node, pod!, OURS, { conf: conf("1.0.0", dataDir) }).code).toBe(0);
      expect(allocated(dataDir)).toEqual([]);
    }),
  );

  rootTest("STATUS: code 50 when the master is missing", () =>
    withNode(0, async (node) => {
      const c = { cniVersion: "1.1.0", name: "mvnet", type: "macvlan", master: "br0" };
      expect(runIn(node, OURS, { command: "STATUS", conf: c }).code).toBe(0);
      expect(runIn(node, OURS, { command: "STATUS", conf: { ...c, master: "gone0" } }).json).toEqual({
        cniVersion: "1.1.0",
        code: 50,
        msg: 'master "gone0" not found',
      });
    }),
  );
});

describe("macvlan against the reference", () => {
  for (const v of ["0.3.1", "0.4.0", "1.0.0"]) {
    const variants: [string, Record<string, unknown>][] = [
      ["L3", {}],
      ["private, mtu 1400", { mode: "private", mtu: 1400 }],
      ["L2 only", { ipam: undefined }],
    ];
    for (const [label, extra] of variants) {
      rootTest(`same result shape and kernel state at ${v} (${label})`, () =>
        withNode(2, async (node, [mine, theirs], dataDir) => {
          const store = tempDir();
          try {
            const cm = { ...conf(v, dataDir), ...extra };
            const ct = { ...conf(v, store.dir), ...extra };
            const a = runIn(node, OURS, { command: "ADD", netns: mine!.path, containerID: "c1", conf: cm });
            const b = runIn(node, REF, { command: "ADD", netns: theirs!.path, containerID: "c2", conf: ct });
            expect([a.code, b.code]).toEqual([0, 0]);
            const norm = (r: any) => {
              const x = structuredClone(r);
              x.interfaces[0] = { ...x.interfaces[0], mac: "M", sandbox: "NS" };
              if (x.ips) x.ips = x.ips.map(({ version: _v, ...rest }: any) => rest);
              return x;
            };
            expect(norm(a.json)).toEqual(norm(b.json));
            const ls = (ns: TestNetns) => {
              const l = linkState(ns, "eth0");
              // Debian's v1.1.1 predates bcqueuelen support; the kernel default is the same.
              delete l.linkinfo?.info_data?.bcqueuelen;
              delete l.linkinfo?.info_data?.usedbcqueuelen;
              return l;
            };
            expect(ls(mine!)).toEqual(ls(theirs!));
            expect(addrState(mine!, "eth0")).toEqual(addrState(theirs!, "eth0"));
            expect(routeState(mine!)).toEqual(routeState(theirs!));
            for (const k of ["net.ipv4.conf.eth0.arp_notify"]) expect(mine!.exec(["sysctl", "-n", k])).toBe(theirs!.exec(["sysctl", "-n", k]));
            if (compareVersions(v, "0.4.0") >= 0) {
              const ca = runIn(node, REF, { command: "CHECK", netns: mine!.path, containerID: "c1", conf: { ...cm, prevResult: a.json } });
              const cb = runIn(node, OURS, { command: "CHECK", netns: theirs!.path, containerID: "c2", conf: { ...ct, prevResult: b.json } });
              expect([ca.code, cb.code, ca.stdout, cb.stdout]).toEqual([0, 0, "", ""]);
            }
            expect(runIn(node, REF, { command: "DEL", netns: mine!.path, containerID: "c1", conf: cm }).code).toBe(0);
            expect(runIn(node, OURS, { command: "DEL", netns: theirs!.path, containerID: "c2", conf: ct }).code).toBe(0);
            expect([links(mine!), links(theirs!), allocated(dataDir), allocated(store.dir)]).toEqual([[], [], [], []]);
          } finally {
            store.cleanup();
          }
        }),
      );
    }
  }
});

badIpamChangesNothing("macvlan", {
  subnet: "10.78.0.0/24",
  what: "no device, no reservation",
  conf: (dataDir) => conf("1.0.0", dataDir),
  node: withNode,
  unchanged: (node, pod, dataDir) => expect([links(node), links(pod), allocated(dataDir)]).toEqual([["br0"], [], []]),
});
