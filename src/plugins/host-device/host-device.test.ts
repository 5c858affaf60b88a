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

const OURS = ours("host-device");
const REF = reference("host-device");
const PCI = "0000:00:1f.6";

function conf(version: string, dataDir: string, extra: Record<string, unknown> = {}) {
  return { cniVersion: version, name: "hdnet", type: "host-device", device: "hd0", ipam: { type: "host-local", dataDir, subnet: "10.79.0.0/24" }, ...extra };
}

/**
 * A node whose "host device" is one end (hd0, up, MAC 02:00:00:00:79:01) of a veth pair;
 * the other end (hd1, 10.79.0.1/24) stays on the node, so the pod can ping the node
 * through the moved device. (No dummy driver on every kernel.)
 */
function withNode(pods: number, fn: (node: TestNetns, pods: TestNetns[], dataDir: string) => Promise<void> | void) {
  return withNodeOf(pods, fn, {
    prefix: "hdv",
    setup: (node) => {
      node.exec(["ip", "link", "add", "hd0", "address", "02:00:00:00:79:01", "type", "veth", "peer", "name", "hd1"]);
      node.exec(["ip", "link", "set", "hd0", "up"]);
      node.exec(["ip", "link", "set", "hd1", "up"]);
      node.exec(["ip", "addr", "add", "10.79.0.1/24", "dev", "hd1"]);
    },
  });
}

const allocated = (dataDir: string, net = "hdnet") => held(dataDir, net);

/** The plugin in a private mount namespace with a fake /sys/bus/pci/devices: PCI device PCI, bound to `driver`, whose net/ holds hd0. */
function fakePci(driver = "e1000e"): string[] {
  const dir = `/sys/bus/pci/devices/${PCI}`;
  const drv = `mkdir -p /sys/bus/pci/devices/.drivers/${driver} && ln -s /sys/bus/pci/devices/.drivers/${driver} ${dir}/driver && `;
  return [
    "unshare",
    "-m",
    "--propagation",
    "private",
    "sh",
    "-c",
    `mount -t tmpfs none /sys/bus/pci/devices && mkdir -p ${dir}/net/hd0 && ${drv}exec "$@"`,
    "sh",
  ];
}

describe("host-device: ADD/CHECK/DEL at every spec version", () => {
  for (const v of ALL_VERSIONS) {
    rootTest(v, () =>
      withNode(1, async (node, [pod], dataDir) => {
        const fake = v === "1.1.0" ? fakeIPAM({ cniVersion: "1.1.0", ips: [{ address: "10.79.0.2/24", gateway: "10.79.0.1" }] }) : undefined;
        try {
          const c = fake ? { ...conf(v, dataDir), ipam: { type: "fake-ipam" } } : conf(v, dataDir);
          const path = fake?.dir;
          const add = runIn(node, OURS, { command: "ADD", netns: pod!.path, path, conf: c });
          expect([add.code, add.stderr]).toEqual([0, ""]);
          if (compareVersions(v, "0.3.0") < 0) expect(add.json).toEqual({ cniVersion: v, ip4: { ip: "10.79.0.2/24", gateway: "10.79.0.1" }, dns: {} });
          else {
            expect(add.json).toEqual({
              cniVersion: v,
              interfaces: [{ name: "eth0", mac: "02:00:00:00:79:01", sandbox: pod!.path }],
              ips: [{ ...(compareVersions(v, "1.0.0") < 0 ? { version: "4" } : {}), interface: 0, address: "10.79.0.2/24", gateway: "10.79.0.1" }],
              dns: {},
            });
          }
          expect(links(node)).toEqual(["hd1"]);
          const d = detail(pod!, "eth0");
          expect([d.ifalias, d.address, d.flags.includes("UP")]).toEqual(["hd0", "02:00:00:00:79:01", true]);
          expect(addrState(pod!, "eth0")).toEqual([{ family: "inet", local: "10.79.0.2", prefixlen: 24, scope: "global", broadcast: "10.79.0.255" }]);
          expect(await ping(pod!, "10.79.0.1")).toBe(true);
          if (compareVersions(v, "0.4.0") >= 0)
            expect(runIn(node, OURS, { command: "CHECK", netns: pod!.path, path, conf: { ...c, prevResult: add.json } }).code).toBe(0);
          expect(runIn(node, OURS, { command: "DEL", netns: pod!.path, path, conf: c }).code).toBe(0);
          expect(links(pod!)).toEqual([]);
          const back = detail(node, "hd0");
          expect([back.ifalias, back.address, back.flags.includes("UP")]).toEqual([undefined, "02:00:00:00:79:01", false]);
          expect(allocated(dataDir)).toEqual([]);
          expect(runIn(node, OURS, { command: "DEL", netns: pod!.path, path, conf: c }).code).toBe(0);
        } finally {
          fake?.cleanup();
        }
      }),
    );
  }
});

describe("host-device: finding the device", () => {
  const ways: [string, Record<string, unknown>, string[]?][] = [
    ["hwaddr", { device: undefined, hwaddr: "02:00:00:00:79:01" }],
    ["kernelpath (first entry of <path>/net)", { device: undefined, kernelpath: "/sys/devices/virtual" }],
    ["pciBusID", { device: undefined, pciBusID: PCI }, fakePci()],
    ["runtimeConfig.deviceID (a PCI device)", { device: undefined, runtimeConfig: { deviceID: PCI } }, fakePci()],
  ];
  for (const [what, extra, wrap] of ways) {
    rootTest(`by ${what}`, () =>
      withNode(1, async (node, [pod], dataDir) => {
        const { ipam: _i, ...c } = conf("1.0.0", dataDir, extra);
        const add = runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: c, wrap });
        expect(add.json).toEqual({ cniVersion: "1.0.0", interfaces: [{ name: "eth0", mac: "02:00:00:00:79:01", sandbox: pod!.path }], dns: {} });
        expect(detail(pod!, "eth0").ifalias).toBe("hd0");
        expect(runIn(node, OURS, { command: "DEL", netns: pod!.path, conf: c, wrap }).code).toBe(0);
        expect(links(node)).toEqual(["hd0", "hd1"]);
      }),
    );
  }

  rootTest("a PCI device bound to a user-space driver (DPDK) is reported, not moved", () =>
    withNode(1, async (node, [pod], dataDir) => {
      const { ipam: _i, ...c } = conf("1.0.0", dataDir, { device: undefined, pciBusID: PCI });
      const wrap = fakePci("vfio-pci");
      const add = runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: c, wrap });
      expect(add.json).toEqual({ cniVersion: "1.0.0", interfaces: [{ name: "eth0", sandbox: pod!.path }], dns: {} });
      expect([links(node), links(pod!)]).toEqual([["hd0", "hd1"], []]);
      expect(runIn(node, OURS, { command: "DEL", netns: pod!.path, conf: c, wrap }).code).toBe(0);
    }),
  );

  const bad: [string, Record<string, unknown>, number, string][] = [
    ["no way to find the device", { device: undefined }, 7, `specify either "device", "hwaddr", "kernelpath" or "pciBusID"`],
    [
      "a relative kernelpath",
      { device: undefined, kernelpath: "devices/x" },
      7,
      `kernel device path "devices/x" must be absolute and begin with /sys/devices/`,
    ],
    [
      "a kernelpath climbing out of /sys/devices",
      { device: undefined, kernelpath: "/sys/devices/../../etc" },
      7,
      `kernel device path "/sys/devices/../../etc" must be absolute and begin with /sys/devices/`,
    ],
    ["a pciBusID that is a path", { device: undefined, pciBusID: "../../../etc" }, 7, `Invalid "pciBusID" "../../../etc": not a PCI address like 0000:00:1f.6`],
    [
      "a malformed hwaddr",
      { device: undefined, hwaddr: "xx" },
      7,
      `failed to parse MAC address "xx": Cannot parse hardware address "xx": expected hex pairs like 02:42:ac:11:00:02`,
    ],
    ["a device name with a slash", { device: "a/b" }, 7, `Invalid "device" "a/b": interface name contains / or : or whitespace characters`],
    ["a device that is not there", { device: "nope0" }, 999, `failed to find host device: Cannot find link "nope0": ENODEV`],
    ["an unknown deviceID", { runtimeConfig: { deviceID: "0000:00:99.9" } }, 7, "runtime config DeviceID 0000:00:99.9 not found or unsupported"],
  ];
  for (const [what, extra, code, msg] of bad) {
    rootTest(`refuses ${what} before changing anything`, () =>
      withNode(1, async (node, [pod], dataDir) => {
        const add = runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: conf("1.0.0", dataDir, extra) });
        expect(add.json).toEqual({ cniVersion: "1.0.0", code, msg });
        expect([links(node), links(pod!), allocated(dataDir)]).toEqual([["hd0", "hd1"], [], []]);
      }),
    );
  }
});

describe("host-device: failures undo everything", () => {
  rootTest("IPAM exhausted: the device goes back under its name, up again, alias cleared", () =>
    withNode(1, async (node, [pod], dataDir) => {
      const c = conf("1.0.0", dataDir, {
        ipam: { type: "host-local", dataDir, ranges: [[{ subnet: "10.79.0.0/24", rangeStart: "10.79.0.9", rangeEnd: "10.79.0.9" }]] },
      });
      node.exec(["ip", "link", "add", "hd2", "type", "veth", "peer", "name", "hd3"]);
      expect(runIn(node, OURS, { command: "ADD", netns: pod!.path, ifName: "net0", containerID: "c1", conf: { ...c, device: "hd2" } }).code).toBe(0);
      const second = runIn(node, OURS, { command: "ADD", netns: pod!.path, containerID: "c2", conf: c });
      expect(second.json.msg).toContain("no IP addresses available");
      expect(links(pod!)).toEqual(["net0"]);
      const back = detail(node, "hd0");
      expect([back.ifalias, back.flags.includes("UP"), back.address]).toEqual([undefined, true, "02:00:00:00:79:01"]);
    }),
  );

  rootTest("a route that cannot be added: device back, address released", () =>
    withNode(1, async (node, [pod], dataDir) => {
      const c = conf("1.0.0", dataDir, {
        ipam: { type: "host-local", dataDir, subnet: "10.79.0.0/24", routes: [{ dst: "10.99.0.0/16", gw: "192.168.200.1" }] },
      });
      const add = runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: c });
      expect(add.json.msg).toStartWith("failed to add route '10.99.0.0/16 via 192.168.200.1 dev eth0'");
      expect([links(node), links(pod!), allocated(dataDir)]).toEqual([["hd0", "hd1"], [], []]);
      expect(addrState(node, "hd0")).toEqual([]);
    }),
  );

  rootTest("CNI_IFNAME taken in the pod: refused before anything moves", () =>
    withNode(1, async (node, [pod], dataDir) => {
      pod!.exec(["ip", "link", "add", "eth0", "type", "bridge"]);
      const add = runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: conf("1.0.0", dataDir) });
      expect(add.json.msg).toBe(`interface "eth0" already exists in netns "${pod!.path}"`);
      expect([links(node), allocated(dataDir)]).toEqual([["hd0", "hd1"], []]);
    }),
  );

  rootTest("the pod already has an interface with the device's node name: no clash (renamed out of sight)", () =>
    withNode(1, async (node, [pod], dataDir) => {
      pod!.exec(["ip", "link", "add", "hd0", "type", "bridge"]);
      expect(runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: conf("1.0.0", dataDir) }).code).toBe(0);
      expect(links(pod!)).toEqual(["eth0", "hd0"]);
      expect(runIn(node, OURS, { command: "DEL", netns: pod!.path, conf: conf("1.0.0", dataDir) }).code).toBe(0);
      expect([links(pod!), links(node)]).toEqual([["hd0"], ["hd0", "hd1"]]);
    }),
  );

  rootTest("DEL when the node name is taken again: fails and leaves the device in the pod, intact", () =>
    withNode(1, async (node, [pod], dataDir) => {
      const c = conf("1.0.0", dataDir);
      expect(runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: c }).code).toBe(0);
      node.exec(["ip", "link", "add", "hd0", "type", "bridge"]);
      const del = runIn(node, OURS, { command: "DEL", netns: pod!.path, conf: c });
      expect(del.json.msg).toStartWith('failed to move "hd0" to hostNS');
      expect(detail(pod!, "eth0").ifalias).toBe("hd0");
    }),
  );

  rootTest("DEL when the namespace is gone succeeds and releases the address", () =>
    withNode(1, async (node, [pod], dataDir) => {
      expect(delAfterPodGone(node, pod!, OURS, { conf: conf("1.0.0", dataDir) }).code).toBe(0);
      expect(allocated(dataDir)).toEqual([]);
    }),
  );
});

describe("host-device against the reference", () => {
  for (const v of ["0.3.1", "0.4.0", "1.0.0"]) {
    rootTest(`same result shape and kernel state at ${v}`, () =>
      withNode(2, async (node, [mine, theirs], dataDir) => {
        node.exec(["ip", "link", "add", "hd2", "address", "02:00:00:00:79:02", "type", "veth", "peer", "name", "hd3"]);
        node.exec(["ip", "link", "set", "hd2", "up"]);
        node.exec(["ip", "link", "set", "hd3", "up"]);
        const store = tempDir();
        try {
          const cm = conf(v, dataDir);
          const ct = { ...conf(v, store.dir), device: "hd2" };
          const a = runIn(node, OURS, { command: "ADD", netns: mine!.path, containerID: "c1", conf: cm });
          const b = runIn(node, REF, { command: "ADD", netns: theirs!.path, containerID: "c2", conf: ct });
          expect([a.code, b.code]).toEqual([0, 0]);
          const norm = (r: any) => ({
            ...r,
            interfaces: r.interfaces.map((i: any) => ({ ...i, mac: "M", sandbox: "NS" })),
            ips: r.ips.map(({ version: _v, ...x }: any) => x),
          });
          expect(norm(a.json)).toEqual(norm(b.json));
          const ls = (ns: TestNetns) => ({ ...linkState(ns, "eth0"), ifalias: detail(ns, "eth0").ifalias });
          expect({ ...ls(mine!), ifalias: "X" }).toEqual({ ...ls(theirs!), ifalias: "X" });
          expect([ls(mine!).ifalias, ls(theirs!).ifalias]).toEqual(["hd0", "hd2"]);
          expect(addrState(mine!, "eth0")).toEqual(addrState(theirs!, "eth0"));
          expect(routeState(mine!)).toEqual(routeState(theirs!));
          if (compareVersions(v, "0.4.0") >= 0) {
            expect(runIn(node, REF, { command: "CHECK", netns: mine!.path, containerID: "c1", conf: { ...cm, prevResult: a.json } }).code).toBe(0);
            expect(runIn(node, OURS, { command: "CHECK", netns: theirs!.path, containerID: "c2", conf: { ...ct, prevResult: b.json } }).code).toBe(0);
          }
          // Each moves the other's device back: switching implementations on a live node.
          expect(runIn(node, REF, { command: "DEL", netns: mine!.path, containerID: "c1", conf: cm }).code).toBe(0);
          expect(runIn(node, OURS, { command: "DEL", netns: theirs!.path, containerID: "c2", conf: ct }).code).toBe(0);
          expect([links(mine!), links(theirs!), links(node)]).toEqual([[], [], ["hd0", "hd1", "hd2", "hd3"]]);
          expect([allocated(dataDir), allocated(store.dir)]).toEqual([[], []]);
        } finally {
          store.cleanup();
        }
      }),
    );
  }
});

badIpamChangesNothing("host-device", {
  subnet: "10.79.0.0/24",
  what: "the device stays on the node, no reservation",
  conf: (dataDir) => conf("1.0.0", dataDir),
  node: withNode,
  unchanged: (node, pod, dataDir) => {
    expect([links(node), links(pod), allocated(dataDir)]).toEqual([["hd0", "hd1"], [], []]);
    expect(detail(node, "hd0").address).toBe("02:00:00:00:79:01");
  },
});
