/**
 * Our runtime driving Debian's Go reference plugins (bridge + host-local + portmap,
 * loopback), and sharing the result cache with Debian's libcni (the libcni-client
 * tool). Plugins run inside a "node" namespace the test made (`ip netns exec NODE`),
 * so the bridge, host veths and iptables rules live and die there; pods are
 * namespaces beside it. Traffic only flows between these namespaces.
 */
import { beforeAll, describe, expect } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isRoot, rootTest, withNetns, type TestNetns } from "../../test/helpers/netns.ts";
import { libcniClient as buildLibcniClient } from "../../test/helpers/libcni-client.ts";
import { cacheFilePath } from "./cache.ts";
import { loadConfList } from "./conf-dir.ts";
import { defaultExec } from "./exec.ts";
import { gcNetworkList } from "./gc.ts";
import { addNetworkList, checkNetworkList, delNetworkList, getCachedResult } from "./network-list.ts";
import type { NetworkConfigList, RuntimeConf, RuntimeOptions } from "./types.ts";
import { GO_PLUGINS } from "../../test/helpers/plugin-run.ts";

const REF = GO_PLUGINS;
const haveRef = ["bridge", "host-local", "portmap", "loopback"].every((p) => existsSync(join(REF, p)));
const interopTest: typeof rootTest = haveRef
  ? rootTest
  : (((name: string, ...rest: unknown[]) =>
      rootTest.skip(`${name} (needs Debian's containernetworking-plugins in ${REF})`, ...(rest as []))) as unknown as typeof rootTest);

let libcniClient = "";
beforeAll(() => {
  if (!isRoot || !haveRef) return;
  // Builds once per machine; tests that need it fail clearly if it cannot.
  const client = buildLibcniClient();
  if (client.path) libcniClient = client.path;
  else console.error(`libcni-client could not be built: ${client.why}`);
}, 600_000);

/** A node namespace, two pods, and temp dirs for configs, cache and host-local, all removed afterwards. */
interface Rig {
  node: TestNetns;
  pods: TestNetns[];
  confDir: string;
  cacheDir: string;
  opts: RuntimeOptions;
  bridge: string;
}

function withRig(fn: (rig: Rig) => Promise<void>): Promise<void> {
  return withNetns(
    3,
    async (node, pod1, pod2) => {
      const tmp = mkdtempSync(join(tmpdir(), "cnits-interop-"));
      try {
        const confDir = join(tmp, "net.d");
        const cacheDir = join(tmp, "cache");
        mkdirSync(confDir);
        const exec = defaultExec({ argv: (p) => ["ip", "netns", "exec", node.name, p], onStderr: () => {}, timeoutMs: 30_000 });
        const opts: RuntimeOptions = { path: [REF], cacheDir, exec };
        await fn({ node, pods: [pod1!, pod2!], confDir, cacheDir, opts, bridge: "cnitsbr0" });
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    },
    "cnitsrt",
  );
}

function writeBridgeList(rig: Rig, version: string): NetworkConfigList {
  const list = {
    cniVersion: version,
    name: "rtnet",
    plugins: [
      {
        type: "bridge",
        bridge: rig.bridge,
        isGateway: true,
        ipMasq: true,
        ipam: { type: "host-local", dataDir: join(rig.confDir, "..", "ipam"), ranges: [[{ subnet: "10.77.0.0/24" }]], routes: [{ dst: "0.0.0.0/0" }] },
      },
      { type: "portmap", capabilities: { portMappings: true }, snat: true },
    ],
  };
  writeFileSync(join(rig.confDir, "10-rtnet.conflist"), JSON.stringify(list));
  return loadConfList(rig.confDir, "rtnet");
}

const portMap = { portMappings: [{ hostPort: 18080, containerPort: 80, protocol: "tcp" }] };

/**
 * A pod's RuntimeConf, with a port map or without. Pods that get CHECKed have none:
 * the reference portmap's CHECK of a port-mapped IPv4 pod looks for its rules in the
 * IPv6 table and fails (containernetworking/plugins#819; Debian ships 1.1.x).
 */
function podRt(pod: TestNetns, containerID: string, ports = false): RuntimeConf {
  return { containerID, netns: pod.path, ifName: "eth0", capabilityArgs: ports ? portMap : {} };
}

function podAddrs(pod: TestNetns): string[] {
  const links: { ifname: string; addr_info: { family: string; local: string; prefixlen: number }[] }[] = pod.ipJson("addr", "show");
  return links.filter((l) => l.ifname === "eth0").flatMap((l) => l.addr_info.filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`));
}

function natRules(node: TestNetns): string {
  return node.exec(["iptables", "-t", "nat", "-S"]);
}

function ipamFiles(rig: Rig): string[] {
  const dir = join(rig.confDir, "..", "ipam", "rtnet");
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith("10.")) : [];
}

/** Runs the libcni-based runtime inside the node namespace. */
function libcni(rig: Rig, cmd: "add" | "check" | "del", pod: TestNetns, containerID: string): string {
  if (!libcniClient) throw new Error("libcni-client is not built (see the beforeAll error)");
  return rig.node.exec([libcniClient, cmd, "rtnet", pod.path, containerID], {
    env: {
      PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
      NETCONFPATH: rig.confDir,
      CNI_PATH: REF,
      CNI_IFNAME: "eth0",
      CNI_CACHE_DIR: rig.cacheDir,
    },
  });
}

describe("runtime with the reference plugins", () => {
  interopTest("1.0.0 list: ADD, CHECK, DEL of two pods on a bridge with port maps", () =>
    withRig(async (rig) => {
      const list = writeBridgeList(rig, "1.0.0");
      const [pod1, pod2] = rig.pods as [TestNetns, TestNetns];
      const r1 = await addNetworkList(list, podRt(pod1, "ctr-a", true), rig.opts);
      const r2 = await addNetworkList(list, podRt(pod2, "ctr-b"), rig.opts);
      expect(r1.cniVersion).toBe("1.0.0");
      const ip1 = r1.ips![0]!.address;
      expect(ip1).toMatch(/^10\.77\.0\.\d+\/24$/);
      expect(r1.interfaces!.map((i) => i.name)).toContain("eth0");
      expect(podAddrs(pod1)).toEqual([ip1]);
      expect(podAddrs(pod2)).toEqual([r2.ips![0]!.address]);
      expect(pod1.ipJson("route", "show", "default")[0].gateway).toBe("10.77.0.1");
      expect(rig.node.ipJson("addr", "show", "dev", rig.bridge)[0].addr_info.map((a: { local: string }) => a.local)).toContain("10.77.0.1");
      expect(natRules(rig.node)).toContain("--dport 18080");
      // The pods reach each other over the node's bridge.
      pod1.exec(["ping", "-c1", "-W2", r2.ips![0]!.address.split("/")[0]!]);

      const cacheFile = cacheFilePath(rig.cacheDir, { network: "rtnet", containerID: "ctr-a", ifName: "eth0" });
      const cached = JSON.parse(readFileSync(cacheFile, "utf8"));
      expect([cached.kind, cached.networkName, cached.result.ips[0].address]).toEqual(["cniCacheV1", "rtnet", ip1]);
      expect(getCachedResult(list, podRt(pod1, "ctr-a"), rig.opts)!.ips![0]!.address).toBe(ip1);

      await checkNetworkList(list, podRt(pod2, "ctr-b"), rig.opts);
      // CHECK sees through the cache: bridge fails when the pod's address is gone.
      pod2.exec(["ip", "addr", "flush", "dev", "eth0"]);
      await expect(checkNetworkList(list, podRt(pod2, "ctr-b"), rig.opts)).rejects.toThrow('plugin type="bridge" failed (check):');

      await delNetworkList(list, podRt(pod1, "ctr-a", true), rig.opts);
      expect(podAddrs(pod1)).toEqual([]);
      expect(pod1.ipJson("link", "show").map((l: { ifname: string }) => l.ifname)).not.toContain("eth0");
      expect(existsSync(cacheFile)).toBe(false);
      expect(natRules(rig.node)).not.toContain("--dport 18080");
      expect(ipamFiles(rig)).toEqual([r2.ips![0]!.address.split("/")[0]!]);
      // CHECK after DEL fails: nothing cached any more.
      await expect(checkNetworkList(list, podRt(pod1, "ctr-a"), rig.opts)).rejects.toMatchObject({ code: 3 });
      // A second DEL succeeds: nothing left to delete.
      await delNetworkList(list, podRt(pod1, "ctr-a"), rig.opts);

      // GC with no valid attachments removes pod2 by its cache entry.
      await gcNetworkList(list, [], rig.opts);
      expect(pod2.ipJson("link", "show").map((l: { ifname: string }) => l.ifname)).not.toContain("eth0");
      expect(ipamFiles(rig)).toEqual([]);
      expect(existsSync(cacheFilePath(rig.cacheDir, { network: "rtnet", containerID: "ctr-b", ifName: "eth0" }))).toBe(false);
    }),
  );

  interopTest("0.3.1 list: ADD and DEL work, CHECK is refused", () =>
    withRig(async (rig) => {
      const list = writeBridgeList(rig, "0.3.1");
      const [pod1] = rig.pods as [TestNetns];
      const r = await addNetworkList(list, podRt(pod1, "ctr-old", true), rig.opts);
      expect(r.cniVersion).toBe("0.3.1");
      expect(podAddrs(pod1)).toEqual([r.ips![0]!.address]);
      const cached = JSON.parse(readFileSync(cacheFilePath(rig.cacheDir, { network: "rtnet", containerID: "ctr-old", ifName: "eth0" }), "utf8"));
      expect(cached.result.cniVersion).toBe("0.3.1");
      expect(cached.result.ips[0].version).toBe("4");
      await expect(checkNetworkList(list, podRt(pod1, "ctr-old"), rig.opts)).rejects.toMatchObject({ code: 1 });
      await delNetworkList(list, podRt(pod1, "ctr-old", true), rig.opts);
      expect(podAddrs(pod1)).toEqual([]);
      expect(natRules(rig.node)).not.toContain("--dport 18080");
      expect(ipamFiles(rig)).toEqual([]);
    }),
  );

  interopTest("loopback: lo comes up on ADD and goes down on DEL", () =>
    withRig(async (rig) => {
      writeFileSync(join(rig.confDir, "99-lo.conf"), JSON.stringify({ cniVersion: "1.0.0", name: "lo", type: "loopback" }));
      const list = loadConfList(rig.confDir, "lo");
      const pod = rig.pods[0]!;
      const rt = { containerID: "ctr-lo", netns: pod.path, ifName: "lo" };
      const res = await addNetworkList(list, rt, rig.opts);
      expect(res.ips!.map((i) => i.address)).toContain("127.0.0.1/8");
      expect(pod.ipJson("link", "show", "lo")[0].flags).toContain("UP");
      await checkNetworkList(list, rt, rig.opts);
      await delNetworkList(list, rt, rig.opts);
      expect(pod.ipJson("link", "show", "lo")[0].flags).not.toContain("UP");
    }),
  );
});

describe("result cache shared with Debian's libcni", () => {
  interopTest("ADD by us, CHECK and DEL by libcni", () =>
    withRig(async (rig) => {
      const list = writeBridgeList(rig, "1.0.0");
      const pod = rig.pods[0]!;
      const r = await addNetworkList(list, podRt(pod, "ctr-ours"), rig.opts);
      expect(natRules(rig.node)).toContain("ctr-ours"); // bridge's ipMasq rule names the container
      libcni(rig, "check", pod, "ctr-ours");
      libcni(rig, "del", pod, "ctr-ours");
      expect(podAddrs(pod)).toEqual([]);
      expect(ipamFiles(rig)).toEqual([]);
      expect(r.ips![0]!.address).toMatch(/^10\.77\.0\./);
      expect(existsSync(cacheFilePath(rig.cacheDir, { network: "rtnet", containerID: "ctr-ours", ifName: "eth0" }))).toBe(false);
      expect(natRules(rig.node)).not.toContain("ctr-ours");
    }),
  );

  interopTest("ADD by libcni, cached result, CHECK and DEL by us", () =>
    withRig(async (rig) => {
      const list = writeBridgeList(rig, "1.0.0");
      const pod = rig.pods[0]!;
      const added = JSON.parse(libcni(rig, "add", pod, "ctr-go"));
      const cacheFile = cacheFilePath(rig.cacheDir, { network: "rtnet", containerID: "ctr-go", ifName: "eth0" });
      expect(existsSync(cacheFile)).toBe(true);
      expect(natRules(rig.node)).toContain("ctr-go");
      const rt = podRt(pod, "ctr-go");
      expect(getCachedResult(list, rt, rig.opts)!.ips).toEqual(added.ips);
      await checkNetworkList(list, rt, rig.opts);
      await delNetworkList(list, rt, rig.opts);
      expect(podAddrs(pod)).toEqual([]);
      expect(ipamFiles(rig)).toEqual([]);
      expect(existsSync(cacheFile)).toBe(false);
      expect(natRules(rig.node)).not.toContain("ctr-go");
    }),
  );
});
