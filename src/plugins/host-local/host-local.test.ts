import { describe, expect, spyOn, test } from "bun:test";
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { rootTest, type TestNetns } from "../../../test/helpers/netns.ts";
import { withNodeAndPod } from "../../../test/helpers/node.ts";
import { ours, runIn } from "../../../test/helpers/plugin-run.ts";
import * as hostLocalConfig from "../../ipam/host-local-config.ts";
import type { CmdArgs } from "../../skel/cmd-args.ts";
import { ALL_VERSIONS, compareVersions } from "../../spec/version.ts";
import { plugin } from "./host-local.ts";
import { tempDataDir } from "../../../test/helpers/data-dir.ts";

const OURS = ours("host-local");
let node: TestNetns;
let dataDir = "";

/** The node kit: host-local (the compiled binary) runs in its node, the pod's path is CNI_NETNS, its temp dir is the data dir. */
function withHostLocal(fn: (pod: TestNetns) => void): Promise<void> {
  return withNodeAndPod(
    (n, pod, dir) => {
      node = n;
      dataDir = dir;
      fn(pod);
    },
    { prefix: "hl" },
  );
}

function conf(version: string, ipam: object, extra: object = {}): object {
  return { cniVersion: version, name: "hlnet", type: "bridge", ...extra, ipam: { type: "host-local", dataDir, ...ipam } };
}

function run(command: "ADD" | "CHECK" | "DEL" | "GC" | "STATUS", c: object, o: { id?: string; ifname?: string; netns?: string; args?: string } = {}) {
  return runIn(node, OURS, { command, conf: c, containerID: o.id ?? "ctr-1", netns: o.netns ?? "", ifName: o.ifname ?? "eth0", args: o.args ?? "" });
}

const netDir = () => join(dataDir, "hlnet");
const files = () => (existsSync(netDir()) ? readdirSync(netDir()).sort() : []);

/** The ADD result a version prints for one v4 address (and one v6 from 0.3.0 on). */
function expected(version: string): object {
  const routes = [{ dst: "0.0.0.0/0" }, { dst: "10.5.0.0/16", gw: "10.1.2.1" }];
  if (compareVersions(version, "0.3.0") < 0) return { cniVersion: version, ip4: { ip: "10.1.2.2/24", gateway: "10.1.2.1", routes }, dns: {} };
  const v = (n: string) => (compareVersions(version, "1.0.0") < 0 ? { version: n } : {});
  return {
    cniVersion: version,
    ips: [
      { ...v("4"), address: "10.1.2.2/24", gateway: "10.1.2.1" },
      { ...v("6"), address: "2001:db8:1::2/64", gateway: "2001:db8:1::1" },
    ],
    routes,
    dns: {},
  };
}

describe("host-local through the skel, every spec version", () => {
  for (const version of ALL_VERSIONS) {
    rootTest(`ADD, CHECK, DEL at ${version}`, () =>
      withHostLocal((ns) => {
        const ranges = compareVersions(version, "0.3.0") < 0 ? [[{ subnet: "10.1.2.0/24" }]] : [[{ subnet: "10.1.2.0/24" }], [{ subnet: "2001:db8:1::/64" }]];
        const c = conf(version, { ranges, routes: [{ dst: "0.0.0.0/0" }, { dst: "10.5.0.0/16", gw: "10.1.2.1" }] });
        const add = run("ADD", c, { netns: ns.path });
        expect(add.json).toEqual(expected(version));
        expect(add.code).toBe(0);
        expect(readFileSync(join(netDir(), "10.1.2.2"), "utf8")).toBe("ctr-1\r\neth0");
        if (compareVersions(version, "0.4.0") >= 0) {
          expect(run("CHECK", c, { netns: ns.path }).code).toBe(0);
          const other = run("CHECK", c, { netns: ns.path, id: "ctr-2" });
          expect(other.json).toEqual({ cniVersion: version, code: 999, msg: "host-local: Failed to find address added by container ctr-2" });
        }
        expect(run("DEL", c, { netns: ns.path }).code).toBe(0);
        expect(files().filter((f) => !f.startsWith("last_") && f !== "lock")).toEqual([]);
        // DEL again, and DEL without a namespace: nothing left, still success.
        expect(run("DEL", c).code).toBe(0);
      }),
    );
  }
});

describe("host-local behaviour", () => {
  rootTest("a second ADD of one attachment is refused; another ifname gets its own address", () =>
    withHostLocal((ns) => {
      const c = conf("1.0.0", { subnet: "10.1.2.0/24" });
      expect(run("ADD", c, { netns: ns.path }).code).toBe(0);
      const again = run("ADD", c, { netns: ns.path });
      expect(again.json).toEqual({
        cniVersion: "1.0.0",
        code: 999,
        msg: "failed to allocate for range 0: 10.1.2.2 has been allocated to ctr-1, duplicate allocation is not allowed",
      });
      expect(run("ADD", c, { netns: ns.path, ifname: "net1" }).json.ips[0].address).toBe("10.1.2.3/24");
    }),
  );

  rootTest("requested addresses: CNI_ARGS IP, args.cni.ips, runtimeConfig.ips; leftovers fail before anything is reserved", () =>
    withHostLocal((ns) => {
      const c = conf("1.0.0", { ranges: [[{ subnet: "10.1.2.0/24" }], [{ subnet: "2001:db8:1::/64" }]] }, { runtimeConfig: { ips: ["2001:db8:1::99/64"] } });
      const add = run("ADD", c, { netns: ns.path, args: "IgnoreUnknown=1;K8S_POD_NAME=p;IP=10.1.2.77" });
      expect(add.json.ips.map((i: { address: string }) => i.address)).toEqual(["10.1.2.77/24", "2001:db8:1::99/64"]);
      const left = run("ADD", c, { netns: ns.path, id: "ctr-2", args: "IP=10.9.9.9" });
      expect(left.json).toEqual({ cniVersion: "1.0.0", code: 999, msg: "failed to allocate all requested IPs: 10.9.9.9" });
      // The v6 request of the same config would have been taken first: nothing of ctr-2 is on disk.
      expect(files().filter((f) => readFileSync(join(netDir(), f), "utf8").startsWith("ctr-2"))).toEqual([]);
    }),
  );

  rootTest("a failing second range set releases what the first one reserved", () =>
    withHostLocal((ns) => {
      const c = conf("1.0.0", { ranges: [[{ subnet: "10.1.2.0/24" }], [{ subnet: "10.7.0.0/30", rangeStart: "10.7.0.2", rangeEnd: "10.7.0.2" }]] });
      expect(run("ADD", c, { netns: ns.path, id: "a" }).code).toBe(0);
      const full = run("ADD", c, { netns: ns.path, id: "b" });
      expect(full.json.msg).toBe("failed to allocate for range 1: no IP addresses available in range set: 10.7.0.2-10.7.0.2");
      expect(files()).toEqual(["10.1.2.2", "10.7.0.2", "last_reserved_ip.0", "last_reserved_ip.1", "lock"]);
    }),
  );

  rootTest("DEL releases once per range set the config names, as the reference: a second pass takes files of old versions naming only the container", () =>
    withHostLocal(() => {
      const cases: [string, object, object, boolean][] = [
        ["ipam's single range", { subnet: "10.1.2.0/24" }, {}, false],
        ["single range and ipam.ranges", { subnet: "10.1.2.0/24", ranges: [[{ subnet: "10.7.0.0/24" }]] }, {}, true],
        [
          "runtimeConfig.ipRanges and ipam.ranges",
          { ranges: [[{ subnet: "10.1.2.0/24" }]] },
          { runtimeConfig: { ipRanges: [[{ subnet: "10.9.0.0/24" }]] } },
          true,
        ],
        ["ranges ADD would refuse, two of them", { ranges: [[{ subnet: "10.1.2.0/40" }], [{ subnet: "bogus" }]] }, {}, true],
        ["no range at all (ADD refuses)", {}, {}, true],
      ];
      for (const [name, ipam, extra, both] of cases) {
        mkdirSync(netDir(), { recursive: true });
        writeFileSync(join(netDir(), "10.1.2.50"), "ctr-1\r\neth0");
        writeFileSync(join(netDir(), "10.1.2.51"), "ctr-1");
        expect([name, run("DEL", conf("1.0.0", ipam, extra)).code]).toEqual([name, 0]);
        const left = files().filter((f) => f.startsWith("10."));
        expect([name, left]).toEqual([name, both ? [] : ["10.1.2.51"]]);
        rmSync(netDir(), { recursive: true, force: true });
      }
    }),
  );

  rootTest("last_reserved_ip: a shorter address cuts the longer one's tail, through the addon and bun:ffi", () =>
    withHostLocal((ns) => {
      // The binary without the addon beside it (a second name in a dir of its own) makes its calls through bun:ffi.
      const bare = mkdtempSync(join(dirname(OURS[0]!), ".bare-"));
      try {
        linkSync(OURS[0]!, join(bare, "cni-ts"));
        const c = conf("1.0.0", { subnet: "10.1.2.0/24" });
        const last = join(netDir(), "last_reserved_ip.0");
        for (const [i, argv] of [OURS, [join(bare, "cni-ts"), ...OURS.slice(1)]].entries()) {
          const add = (id: string, ip: string) =>
            runIn(node, argv, { command: "ADD", conf: c, containerID: id, netns: ns.path, ifName: "eth0", args: `IP=${ip}` });
          expect(add(`long${i}`, `10.1.2.${100 + i}`).code).toBe(0);
          expect(add(`short${i}`, `10.1.2.${5 + i}`).code).toBe(0);
          expect(readFileSync(last, "utf8")).toBe(`10.1.2.${5 + i}`);
        }
      } finally {
        rmSync(bare, { recursive: true, force: true });
      }
    }),
  );

  rootTest("resolvConf becomes the result's dns", () =>
    withHostLocal((ns) => {
      const resolv = join(dataDir, "resolv.conf");
      writeFileSync(resolv, "nameserver 10.0.0.53\nsearch a.example b.example\noptions ndots:2\ndomain a.example\n");
      const add = run("ADD", conf("0.4.0", { subnet: "10.1.2.0/24", resolvConf: resolv }), { netns: ns.path });
      expect(add.json.dns).toEqual({ nameservers: ["10.0.0.53"], domain: "a.example", search: ["a.example", "b.example"], options: ["ndots:2"] });
      const missing = run("ADD", conf("0.4.0", { subnet: "10.1.2.0/24", resolvConf: join(dataDir, "nope") }), { netns: ns.path, id: "x" });
      expect(missing.json.msg).toBe(`open ${join(dataDir, "nope")}: no such file or directory`);
    }),
  );

  const bad: [string, object, number, string][] = [
    ["overlapping range sets", { ranges: [[{ subnet: "10.1.0.0/16" }], [{ subnet: "10.1.2.0/24" }]] }, 7, "range set 0 overlaps with 1"],
    ["a network too small", { subnet: "10.1.2.0/31" }, 7, "invalid range set 0: Network 10.1.2.0/31 too small to allocate from"],
    ["no ranges", {}, 7, "no IP ranges specified"],
  ];
  for (const [name, ipam, code, msg] of bad) {
    rootTest(`bad input changes nothing: ${name}`, () =>
      withHostLocal((ns) => {
        const add = run("ADD", conf("1.0.0", ipam), { netns: ns.path });
        expect(add.json).toEqual({ cniVersion: "1.0.0", code, msg });
        expect(existsSync(netDir())).toBe(false);
      }),
    );
  }

  rootTest("bad CNI_ARGS change nothing either (code 4)", () =>
    withHostLocal((ns) => {
      const add = run("ADD", conf("1.0.0", { subnet: "10.1.2.0/24" }), { netns: ns.path, args: "IP=10.1.2" });
      expect([add.json.code, add.json.msg]).toEqual([4, 'ARGS: error parsing value of pair "IP=10.1.2": invalid IP address 10.1.2']);
      expect(existsSync(netDir())).toBe(false);
    }),
  );
});

describe("host-local GC and STATUS (spec 1.1)", () => {
  rootTest("GC releases every reservation not in cni.dev/valid-attachments", () =>
    withHostLocal((ns) => {
      const c = conf("1.1.0", { ranges: [[{ subnet: "10.1.2.0/24" }], [{ subnet: "2001:db8:1::/64" }]] });
      for (const [id, ifname] of [
        ["a", "eth0"],
        ["a", "net1"],
        ["b", "eth0"],
        ["c", "eth0"],
      ]) {
        expect(run("ADD", c, { netns: ns.path, id, ifname }).code).toBe(0);
      }
      // Files of old versions name only the container: kept while the container has a valid attachment.
      writeFileSync(join(netDir(), "10.1.2.200"), "b");
      writeFileSync(join(netDir(), "10.1.2.201"), "z");
      const gc = run("GC", {
        ...c,
        "cni.dev/valid-attachments": [
          { containerID: "a", ifname: "eth0" },
          { containerID: "b", ifname: "eth0" },
        ],
      });
      expect(gc.code).toBe(0);
      expect(files()).toEqual(["10.1.2.2", "10.1.2.200", "10.1.2.4", "2001:db8:1::2", "2001:db8:1::4", "last_reserved_ip.0", "last_reserved_ip.1", "lock"]);
      expect(run("GC", c).code).toBe(0);
      expect(files()).toEqual(["last_reserved_ip.0", "last_reserved_ip.1", "lock"]);
    }),
  );

  rootTest("STATUS: ready, then code 50 when a range set is full or the store cannot be written; code 7 for a bad config", () =>
    withHostLocal((ns) => {
      const c = conf("1.1.0", { ranges: [[{ subnet: "10.1.2.0/30" }]] });
      expect(run("STATUS", c).code).toBe(0);
      expect(run("ADD", c, { netns: ns.path }).code).toBe(0);
      expect(run("STATUS", c).json).toEqual({
        cniVersion: "1.1.0",
        code: 50,
        msg: "failed to allocate for range 0: no IP addresses available in range set: 10.1.2.1-10.1.2.2",
      });
      writeFileSync(join(dataDir, "afile"), "");
      const ro = run("STATUS", { ...c, ipam: { type: "host-local", dataDir: join(dataDir, "afile"), subnet: "10.1.2.0/24" } });
      expect(ro.json.code).toBe(50);
      expect(ro.json.msg).toContain("host-local: data dir not writable");
      expect(run("STATUS", conf("1.1.0", {})).json.code).toBe(7);
    }),
  );
});

describe("host-local in-process (a bridge's IPAM)", () => {
  test("an ADD right after validate on the same config uses the config validate checked; another config is read anew", async () => {
    const { tmp, dataDir: dir } = tempDataDir("cnits-hlv-");
    const load = spyOn(hostLocalConfig, "loadHostLocalConfig");
    try {
      const argsOf = (subnet: string, id: string) =>
        ({
          command: "ADD",
          containerID: id,
          netns: "",
          ifName: "eth0",
          args: "",
          path: [],
          stdinData: new Uint8Array(),
          conf: { cniVersion: "1.0.0", name: "net1", type: "bridge", ipam: { type: "host-local", dataDir: dir, subnet } },
        }) as CmdArgs;
      const a = argsOf("10.1.2.0/24", "c1");
      await plugin.funcs.validate(a);
      expect(load).toHaveBeenCalledTimes(1);
      expect((await plugin.funcs.add({ ...a })).ips?.[0]?.address).toBe("10.1.2.2/24");
      expect(load).toHaveBeenCalledTimes(1);
      // Validated, then an ADD of another config object: that one is read.
      await plugin.funcs.validate(a);
      expect((await plugin.funcs.add(argsOf("10.3.0.0/24", "c2"))).ips?.[0]?.address).toBe("10.3.0.2/24");
      expect(load).toHaveBeenCalledTimes(3);
      // And an ADD without a validate before it reads its own, even of a config validated once.
      expect((await plugin.funcs.add({ ...a, containerID: "c3" })).ips?.[0]?.address).toBe("10.1.2.3/24");
      expect(load).toHaveBeenCalledTimes(4);
    } finally {
      load.mockRestore();
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
