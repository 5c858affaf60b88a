import { describe, expect } from "bun:test";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { rootTest, type TestNetns, withPathGone } from "../../../test/helpers/netns.ts";
import { allocated as held, badIpamChangesNothing, delAfterPodGone, links, ping, withNode as withNodeOf } from "../../../test/helpers/node.ts";
import { addrState, fakeIPAM, linkState, ours, reference, routeState, runIn, tempDir } from "../../../test/helpers/plugin-run.ts";
import { ALL_VERSIONS, compareVersions } from "../../spec/version.ts";
import { hostVethName } from "../_shared/veth.ts";

const OURS = ours("ptp");
const REF = reference("ptp");

function conf(version: string, dataDir: string, extra: Record<string, unknown> = {}, ipam: Record<string, unknown> = {}) {
  return {
    cniVersion: version,
    name: "ptpnet",
    type: "ptp",
    ...extra,
    ipam: { type: "host-local", dataDir, subnet: "10.77.0.0/24", routes: [{ dst: "0.0.0.0/0" }], ...ipam },
  };
}

/** A node namespace with lo up and `pods` pod namespaces beside it, plus an IPAM data dir; all removed afterwards. */
const withNode = (pods: number, fn: (node: TestNetns, pods: TestNetns[], dataDir: string) => Promise<void> | void) => withNodeOf(pods, fn, { prefix: "ptp" });
const allocated = (dataDir: string, net = "ptpnet") => held(dataDir, net);

const FIXED_RESULT = { cniVersion: "1.1.0", ips: [{ address: "10.77.0.2/24", gateway: "10.77.0.1" }], routes: [{ dst: "0.0.0.0/0" }], dns: {} };

describe("ptp: ADD/CHECK/DEL at every spec version", () => {
  for (const v of ALL_VERSIONS) {
    rootTest(`${v}`, () =>
      withNode(1, async (node, [pod], dataDir) => {
        // Debian's host-local (v1.1.1) does not speak 1.1.0: a scripted IPAM stands in.
        const fake = v === "1.1.0" ? fakeIPAM(FIXED_RESULT) : undefined;
        try {
          const c = fake ? { cniVersion: v, name: "ptpnet", type: "ptp", mtu: 1400, ipam: { type: "fake-ipam" } } : conf(v, dataDir, { mtu: 1400 });
          const path = fake?.dir;
          const add = runIn(node, OURS, { command: "ADD", netns: pod!.path, path, conf: c });
          expect(add.stderr).toBe("");
          expect(add.code).toBe(0);
          const r = add.json;
          expect(r.cniVersion).toBe(v);
          let hostName: string;
          if (compareVersions(v, "0.3.0") < 0) {
            expect(r).toEqual({ cniVersion: v, ip4: { ip: "10.77.0.2/24", gateway: "10.77.0.1", routes: [{ dst: "0.0.0.0/0" }] }, dns: {} });
            hostName = links(node)[0]!;
          } else {
            hostName = r.interfaces[0].name;
            expect(hostName).toMatch(/^veth[0-9a-f]{8}$/);
            expect(r.interfaces).toEqual([
              { name: hostName, mac: expect.stringMatching(/^[0-9a-f:]{17}$/) },
              { name: "eth0", mac: expect.stringMatching(/^[0-9a-f:]{17}$/), sandbox: pod!.path },
            ]);
            expect(r.ips).toEqual([
              { ...(compareVersions(v, "1.0.0") < 0 ? { version: "4" } : {}), interface: 1, address: "10.77.0.2/24", gateway: "10.77.0.1" },
            ]);
            expect(r.routes).toEqual([{ dst: "0.0.0.0/0" }]);
            expect(r.dns).toEqual({});
          }
          // Kernel state: the gateway /32 on the host end, a host route to the pod, the pod's routes via the gateway.
          expect(addrState(node, hostName)).toEqual([{ family: "inet", local: "10.77.0.1", prefixlen: 32, scope: "global" }]);
          expect(routeState(node, { [hostName]: "HOST" })).toEqual([{ dst: "10.77.0.2", dev: "HOST", scope: "host", flags: [] }]);
          expect(routeState(pod!)).toEqual(
            [
              { dst: "default", gateway: "10.77.0.1", dev: "eth0", flags: [] },
              { dst: "10.77.0.0/24", gateway: "10.77.0.1", dev: "eth0", prefsrc: "10.77.0.2", flags: [] },
              { dst: "10.77.0.1", dev: "eth0", scope: "link", prefsrc: "10.77.0.2", flags: [] },
            ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
          );
          expect(node.ipJson("link", "show", "dev", hostName)[0].mtu).toBe(1400);
          expect(pod!.ipJson("link", "show", "dev", "eth0")[0].mtu).toBe(1400);
          expect(node.exec(["sysctl", "-n", "net.ipv4.ip_forward"]).trim()).toBe("1");
          expect(await ping(pod!, "10.77.0.1")).toBe(true);
          expect(await ping(node, "10.77.0.2")).toBe(true);

          if (compareVersions(v, "0.4.0") >= 0) {
            const check = runIn(node, OURS, { command: "CHECK", netns: pod!.path, path, conf: { ...c, prevResult: r } });
            expect([check.code, check.stdout]).toEqual([0, ""]);
          }
          const del = runIn(node, OURS, { command: "DEL", netns: pod!.path, path, conf: c });
          expect([del.code, del.stdout]).toEqual([0, ""]);
          expect(links(node)).toEqual([]);
          expect(links(pod!)).toEqual([]);
          expect(routeState(node)).toEqual([]);
          expect(allocated(dataDir)).toEqual([]);
          // DEL again: nothing left to delete is success.
          expect(runIn(node, OURS, { command: "DEL", netns: pod!.path, path, conf: c }).code).toBe(0);
          if (fake) expect(fake.commands()).toEqual(compareVersions(v, "0.4.0") >= 0 ? ["ADD", "CHECK", "DEL", "DEL"] : ["ADD", "DEL", "DEL"]);
        } finally {
          fake?.cleanup();
        }
      }),
    );
  }
});

describe("ptp: fields", () => {
  rootTest("dual stack: v4 and v6 ranges, DAD settled, ping both ways", () =>
    withNode(1, async (node, [pod], dataDir) => {
      const c = conf(
        "1.0.0",
        dataDir,
        {},
        { subnet: undefined, ranges: [[{ subnet: "10.77.0.0/24" }], [{ subnet: "fd77::/64" }]], routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0" }] },
      );
      const add = runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: c });
      expect(add.code).toBe(0);
      const host = add.json.interfaces[0].name;
      expect(add.json.ips).toEqual([
        { interface: 1, address: "10.77.0.2/24", gateway: "10.77.0.1" },
        { interface: 1, address: "fd77::2/64", gateway: "fd77::1" },
      ]);
      expect(addrState(node, host).map((a) => `${a.local}/${a.prefixlen}`)).toEqual(["10.77.0.1/32", "fd77::1/128"]);
      expect(pod!.ipJson("-6", "addr", "show", "dev", "eth0")[0].addr_info.filter((a: any) => a.tentative)).toEqual([]);
      expect(node.exec(["sysctl", "-n", "net.ipv6.conf.all.forwarding"]).trim()).toBe("1");
      expect(node.exec(["sysctl", "-n", `net.ipv6.conf.${host}.accept_ra`]).trim()).toBe("0");
      expect(await ping(pod!, "10.77.0.1")).toBe(true);
      expect(await ping(pod!, "fd77::1")).toBe(true);
      const check = runIn(node, OURS, { command: "CHECK", netns: pod!.path, conf: { ...c, prevResult: add.json } });
      expect(check.code).toBe(0);
      expect(runIn(node, OURS, { command: "DEL", netns: pod!.path, conf: c }).code).toBe(0);
      expect([links(node), routeState(node), allocated(dataDir)]).toEqual([[], [], []]);
    }),
  );

  rootTest("dns from the config replaces IPAM's; without it IPAM's stays", () =>
    withNode(2, async (node, [p1, p2], dataDir) => {
      const dns = { nameservers: ["10.77.0.53"], search: ["example.org"] };
      const a = runIn(node, OURS, { command: "ADD", netns: p1!.path, containerID: "c1", conf: conf("1.0.0", dataDir, { dns }) });
      expect(a.json.dns).toEqual(dns);
      const b = runIn(node, OURS, { command: "ADD", netns: p2!.path, containerID: "c2", conf: conf("1.0.0", dataDir) });
      expect(b.json.dns).toEqual({});
    }),
  );

  const bad: [string, Record<string, unknown>, number, string][] = [
    ["mtu below 68", { mtu: 40 }, 7, `Invalid "mtu": 40 is below 68`],
    ["mtu above 65535", { mtu: 70000 }, 7, `Invalid "mtu": 70000 is out of range [0, 65535]`],
    ["mtu as a string", { mtu: "1400" }, 7, `Invalid "mtu": "1400" is not an integer`],
    ["ipMasq not a boolean", { ipMasq: 3 }, 7, `Invalid value for "ipMasq": 3 is not a boolean`],
    ["an unknown ipMasqBackend", { ipMasqBackend: "pf" }, 7, `Invalid "ipMasqBackend": "pf", must be "iptables" or "nftables"`],
    ["no ipam", { ipam: undefined }, 7, `Invalid config: ptp needs "ipam" with a "type"`],
    ["an ipam type that is a path", { ipam: { type: "../host-local" } }, 7, `Invalid plugin type "../host-local": must be a file name`],
    ["dns nameservers not a list", { dns: { nameservers: "8.8.8.8" } }, 7, `Invalid "dns": "nameservers" must be a list of strings`],
  ];
  for (const [what, extra, code, msg] of bad) {
    rootTest(`refuses ${what} before changing anything`, () =>
      withNode(1, async (node, [pod], dataDir) => {
        const c: any = { ...conf("1.0.0", dataDir), ...extra };
        const add = runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: c });
        expect(add.json).toEqual({ cniVersion: "1.0.0", code, msg });
        expect([links(node), links(pod!), allocated(dataDir)]).toEqual([[], [], []]);
      }),
    );
  }
});

describe("ptp: failures undo everything", () => {
  rootTest("a route that cannot be added: pair deleted and the address released", () =>
    withNode(1, async (node, [pod], dataDir) => {
      const c = conf("1.0.0", dataDir, {}, { routes: [{ dst: "10.99.0.0/16", gw: "192.168.200.1" }] });
      const add = runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: c });
      expect(add.code).toBe(1);
      expect(add.json.msg).toStartWith("failed to add route '10.99.0.0/16 via 192.168.200.1 dev eth0'");
      expect([links(node), links(pod!), routeState(node), allocated(dataDir)]).toEqual([[], [], [], []]);
    }),
  );

  rootTest("IPAM exhausted: the second ADD fails and leaves nothing", () =>
    withNode(2, async (node, [p1, p2], dataDir) => {
      const c = conf("1.0.0", dataDir, {}, { subnet: undefined, ranges: [[{ subnet: "10.77.0.0/24", rangeStart: "10.77.0.9", rangeEnd: "10.77.0.9" }]] });
      expect(runIn(node, OURS, { command: "ADD", netns: p1!.path, containerID: "c1", conf: c }).code).toBe(0);
      const second = runIn(node, OURS, { command: "ADD", netns: p2!.path, containerID: "c2", conf: c });
      expect(second.code).toBe(1);
      expect(second.json.msg).toContain("no IP addresses available");
      expect(links(p2!)).toEqual([]);
      expect(links(node).length).toBe(1);
      expect(allocated(dataDir)).toEqual(["10.77.0.9"]);
    }),
  );

  rootTest("CNI_IFNAME taken in the pod: refused before IPAM runs", () =>
    withNode(1, async (node, [pod], dataDir) => {
      // No dummy driver on every kernel: a bridge holds the name as well.
      pod!.exec(["ip", "link", "add", "eth0", "type", "bridge"]);
      const add = runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: conf("1.0.0", dataDir) });
      expect(add.json.msg).toBe(`container veth name "eth0" already exists in netns "${pod!.path}"`);
      expect([links(node), links(pod!), allocated(dataDir)]).toEqual([[], ["eth0"], []]);
    }),
  );

  rootTest("IPAM result without a gateway: refused, the address released", () =>
    withNode(1, async (node, [pod], dataDir) => {
      // A static IPAM result with no gateway (the reference would fail half way).
      const c = { cniVersion: "1.0.0", name: "ptpnet", type: "ptp", ipam: { type: "static", addresses: [{ address: "10.77.0.5/24" }] } };
      const add = runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: c });
      expect(add.json.msg).toBe("IPAM result for ptp has no gateway for 10.77.0.5/24");
      expect([links(node), links(pod!)]).toEqual([[], []]);
    }),
  );
});

describe("ptp: DEL", () => {
  rootTest("the namespace is gone: DEL succeeds and releases the address", () =>
    withNode(1, async (node, [pod], dataDir) => {
      const c = conf("1.0.0", dataDir);
      const del = delAfterPodGone(node, pod!, OURS, { conf: c });
      expect([del.code, del.stdout]).toEqual([0, ""]);
      expect([links(node), routeState(node), allocated(dataDir)]).toEqual([[], [], []]);
      expect(runIn(node, OURS, { command: "DEL", netns: "", conf: c }).code).toBe(0);
    }),
  );

  rootTest("the namespace path is gone but a process keeps it alive: the host end is found and deleted", () =>
    withNode(1, async (node, [pod], dataDir) => {
      const c = conf("1.0.0", dataDir);
      const add = runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: c });
      expect(add.code).toBe(0);
      await withPathGone(pod!, (path) => {
        expect(links(node)).toEqual([add.json.interfaces[0].name]);
        const del = runIn(node, OURS, { command: "DEL", netns: path, conf: c });
        expect(del.code).toBe(0);
        expect([links(node), routeState(node), allocated(dataDir)]).toEqual([[], [], []]);
      });
    }),
  );

  rootTest("an ADD killed between creating the pair and tagging it, pod path gone: DEL finds the host end by its name", () =>
    withNode(1, async (node, [pod], dataDir) => {
      const c = conf("1.0.0", dataDir);
      const name = hostVethName({ type: "ptp", network: "ptpnet", containerID: "killed", ifName: "eth0" });
      // What an ADD leaves when killed right after the create message: the pair, untagged.
      node.exec(["ip", "link", "add", name, "type", "veth", "peer", "name", "eth0", "netns", pod!.name]);
      // Someone else's untagged veth must survive.
      node.exec(["ip", "link", "add", "vethdeadbeef", "type", "veth", "peer", "name", "other0"]);
      await withPathGone(pod!, (path) => {
        const del = runIn(node, OURS, { command: "DEL", netns: path, containerID: "killed", conf: c });
        expect([del.code, del.stderr]).toEqual([0, ""]);
        expect(links(node).sort()).toEqual(["other0", "vethdeadbeef"]);
      });
    }),
  );

  rootTest("DEL of a pair made by the reference plugin, with the namespace path gone, uses the prevResult", () =>
    withNode(1, async (node, [pod], dataDir) => {
      const c = conf("1.0.0", dataDir);
      const add = runIn(node, REF, { command: "ADD", netns: pod!.path, conf: c });
      expect(add.code).toBe(0);
      await withPathGone(pod!, (path) => {
        const del = runIn(node, OURS, { command: "DEL", netns: path, conf: { ...c, prevResult: add.json } });
        expect(del.code).toBe(0);
        expect([links(node), routeState(node), allocated(dataDir)]).toEqual([[], [], []]);
      });
    }),
  );
});

describe("ptp: CHECK", () => {
  rootTest("fails on a changed MAC, a missing address, a missing route, a missing prevResult", () =>
    withNode(1, async (node, [pod], dataDir) => {
      const c = conf("1.0.0", dataDir);
      const add = runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: c });
      const prev = add.json;
      const check = (p: unknown) => runIn(node, OURS, { command: "CHECK", netns: pod!.path, conf: { ...c, prevResult: p } });
      expect(check(prev).code).toBe(0);
      expect(runIn(node, OURS, { command: "CHECK", netns: pod!.path, conf: c }).json.msg).toBe("ptp: Required prevResult missing");
      const wrongMac = structuredClone(prev);
      wrongMac.interfaces[1].mac = "02:00:00:00:00:01";
      expect(check(wrongMac).json.msg).toBe(`Interface eth0 Mac 02:00:00:00:00:01 doesn't match container Mac: ${prev.interfaces[1].mac}`);
      pod!.exec(["ip", "route", "del", "default"]);
      expect(check(prev).json.msg).toBe("Expected Route {Dst:0.0.0.0/0 GW:<nil>} not found in routing table");
      pod!.exec(["ip", "addr", "del", "10.77.0.2/24", "dev", "eth0"]);
      expect(check(prev).json.msg).toBe("Failed to match addr 10.77.0.2/24 on interface eth0");
      node.exec(["ip", "addr", "del", "10.77.0.1/32", "dev", prev.interfaces[0].name]);
      pod!.exec(["ip", "addr", "add", "10.77.0.2/24", "dev", "eth0"]);
      pod!.exec(["ip", "route", "add", "default", "via", "10.77.0.1", "dev", "eth0", "onlink"]);
      expect(check(prev).json.msg).toBe(`ptp: host veth "${prev.interfaces[0].name}" lacks gateway 10.77.0.1/32`);
    }),
  );
});

describe("ptp: GC and STATUS go to IPAM", () => {
  rootTest("forwarded with the same config", () =>
    withNode(0, async (node) => {
      const bin = tempDir("cni-fake-ipam-");
      try {
        const log = join(bin.dir, "log");
        writeFileSync(join(bin.dir, "fake-ipam"), `#!/bin/sh\necho "$CNI_COMMAND $(cat)" >> ${log}\n`);
        chmodSync(join(bin.dir, "fake-ipam"), 0o755);
        const c = {
          cniVersion: "1.1.0",
          name: "ptpnet",
          type: "ptp",
          ipam: { type: "fake-ipam" },
          "cni.dev/valid-attachments": [{ containerID: "c1", ifname: "eth0" }],
        };
        for (const command of ["GC", "STATUS"] as const) {
          const out = runIn(node, OURS, { command, path: bin.dir, conf: c });
          expect([out.code, out.stdout]).toEqual([0, ""]);
        }
        const lines = readFileSync(log, "utf8").trim().split("\n");
        expect(lines.map((l) => l.split(" ")[0])).toEqual(["GC", "STATUS"]);
        expect(JSON.parse(lines[0]!.slice(3))).toEqual(c);
      } finally {
        bin.cleanup();
      }
    }),
  );
});

// Debian's reference is v1.1.1: it speaks spec versions up to 1.0.0.
describe("ptp against the reference", () => {
  for (const v of ["0.3.1", "0.4.0", "1.0.0"]) {
    for (const stack of ["v4", "dual"] as const) {
      rootTest(`same result shape and kernel state at ${v} (${stack})`, () =>
        // Two nodes, one pod each: ours on the first, the reference on the second.
        withNode(3, async (n1, [n2, mine, theirs], dataDir) => {
          n2!.exec(["ip", "link", "set", "lo", "up"]);
          const ipam =
            stack === "v4"
              ? {}
              : { subnet: undefined, ranges: [[{ subnet: "10.77.0.0/24" }], [{ subnet: "fd77::/64" }]], routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0" }] };
          const store = tempDir();
          try {
            const cm = conf(v, dataDir, { mtu: 1450 }, ipam);
            const ct = conf(v, store.dir, { mtu: 1450 }, ipam);
            const a = runIn(n1, OURS, { command: "ADD", netns: mine!.path, conf: cm });
            const b = runIn(n2!, REF, { command: "ADD", netns: theirs!.path, conf: ct });
            expect([a.code, b.code]).toEqual([0, 0]);
            const ha = a.json.interfaces[0].name;
            const hb = b.json.interfaces[0].name;
            // Below 1.0.0 the reference prints its 1.0.0-shaped result under the old label (see the loopback test).
            const norm = (r: any) => {
              const x = structuredClone(r);
              x.interfaces[0] = { ...x.interfaces[0], name: "HOST", mac: "M" };
              x.interfaces[1] = { ...x.interfaces[1], mac: "M", sandbox: "NS" };
              x.ips = x.ips.map(({ version: _v, ...rest }: any) => rest);
              return x;
            };
            expect(norm(a.json)).toEqual(norm(b.json));
            expect(linkState(n1, ha)).toEqual(linkState(n2!, hb));
            expect(linkState(mine!, "eth0")).toEqual(linkState(theirs!, "eth0"));
            expect(addrState(n1, ha)).toEqual(addrState(n2!, hb));
            expect(addrState(mine!, "eth0")).toEqual(addrState(theirs!, "eth0"));
            expect(routeState(mine!)).toEqual(routeState(theirs!));
            expect(routeState(n1, { [ha]: "HOST" })).toEqual(routeState(n2!, { [hb]: "HOST" }));
            for (const k of ["net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding", `net.ipv6.conf.HOST.accept_ra`]) {
              expect(n1.exec(["sysctl", "-n", k.replace("HOST", ha)])).toBe(n2!.exec(["sysctl", "-n", k.replace("HOST", hb)]));
            }
            if (compareVersions(v, "0.4.0") >= 0) {
              // Each checks the other's attachment: the kernel state is what both expect.
              const ca = runIn(n1, REF, { command: "CHECK", netns: mine!.path, conf: { ...cm, prevResult: a.json } });
              const cb = runIn(n2!, OURS, { command: "CHECK", netns: theirs!.path, conf: { ...ct, prevResult: b.json } });
              expect([ca.code, cb.code, ca.stdout, cb.stdout]).toEqual([0, 0, "", ""]);
            }
            // Each deletes the other's attachment: switching implementations on a live node.
            expect(runIn(n1, REF, { command: "DEL", netns: mine!.path, conf: cm }).code).toBe(0);
            expect(runIn(n2!, OURS, { command: "DEL", netns: theirs!.path, conf: ct }).code).toBe(0);
            expect([links(n1), links(n2!), links(mine!), links(theirs!), routeState(n1), routeState(n2!)]).toEqual([[], [], [], [], [], []]);
            expect([allocated(dataDir), allocated(store.dir)]).toEqual([[], []]);
          } finally {
            store.cleanup();
          }
        }),
      );
    }
  }

  rootTest("IPAM errors come through as the reference passes them", () =>
    withNode(1, async (node, [pod], dataDir) => {
      const c = conf("1.0.0", dataDir, {}, { subnet: "not-a-subnet" });
      const a = runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: c });
      const b = runIn(node, REF, { command: "ADD", netns: pod!.path, conf: c });
      expect([a.json.code, a.json.msg]).toEqual([b.json.code, b.json.msg]);
      expect([links(node), links(pod!)]).toEqual([[], []]);
    }),
  );
});

describe("ptp: ipMasq", () => {
  // host-local goes round robin: the second ADD gets the next address, the rest is equal.
  const natCNI = (node: TestNetns) =>
    node
      .exec(["iptables-save", "-t", "nat"])
      .split("\n")
      .filter((l) => l.includes("CNI-"))
      .map((l) => l.replace(/-s 10\.77\.0\.\d+\/32/, "-s POD/32"))
      .sort();

  rootTest("the reference's masquerade rules after ADD, none after DEL, also with the namespace gone", () =>
    withNode(1, (node, [pod], dataDir) => {
      const c = conf("1.0.0", dataDir, { ipMasq: true });
      // The reference's rules for the same network, container and address.
      const ref = runIn(node, REF, { command: "ADD", netns: pod!.path, conf: c });
      expect(ref.code).toBe(0);
      const theirs = natCNI(node);
      expect(theirs.length).toBe(4);
      expect(runIn(node, REF, { command: "DEL", netns: pod!.path, conf: c }).code).toBe(0);
      expect(natCNI(node)).toEqual([]);

      const add = runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: c });
      expect(add.code).toBe(0);
      expect(natCNI(node)).toEqual(theirs);
      const check = runIn(node, OURS, { command: "CHECK", netns: pod!.path, conf: { ...c, prevResult: add.json } });
      expect(check.code).toBe(0);
      // DEL without the namespace and without a prevResult still removes the chain and its jump.
      expect(runIn(node, OURS, { command: "DEL", netns: "", conf: c }).code).toBe(0);
      expect(natCNI(node)).toEqual([]);
      expect(allocated(dataDir)).toEqual([]);
    }),
  );

  rootTest("ipMasqBackend nftables: the reference's table and rule, gone after DEL", () =>
    withNode(1, (node, [pod], dataDir) => {
      const c = conf("1.0.0", dataDir, { ipMasq: true, ipMasqBackend: "nftables" });
      const add = runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: c });
      expect(add.code).toBe(0);
      const ip = add.json.ips[0].address.split("/")[0];
      const table = node.exec(["nft", "list", "table", "inet", "cni_plugins_masquerade"]);
      expect(table).toContain(`ip saddr ${ip} ip daddr != 10.77.0.0/24 masquerade comment`);
      expect(table).toContain("goto masq_checks");
      expect(natCNI(node)).toEqual([]);
      expect(runIn(node, OURS, { command: "DEL", netns: pod!.path, conf: c }).code).toBe(0);
      expect(node.exec(["nft", "list", "table", "inet", "cni_plugins_masquerade"])).not.toContain("masquerade comment");
    }),
  );
});

badIpamChangesNothing("ptp", {
  subnet: "10.77.0.0/24",
  what: "no pair, no reservation",
  conf: (dataDir) => conf("1.0.0", dataDir),
  node: withNode,
  unchanged: (node, pod, dataDir) => expect([links(node), links(pod), allocated(dataDir)]).toEqual([[], [], []]),
});
