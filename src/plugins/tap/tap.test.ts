/** tap (this host's kernel has tun/tap: these run on the host). Debian's Go plugins predate it: the reference's source is the oracle. */
import { describe, expect } from "bun:test";
import { rootTest } from "../../../test/helpers/netns.ts";
import { withNodeAndPod } from "../../../test/helpers/node.ts";
import { addrState, ours, runIn, tempDir } from "../../../test/helpers/plugin-run.ts";
import { ALL_VERSIONS } from "../../spec/version.ts";

const OURS = ours("tap");
const links = (ns: { ipJson: (...a: string[]) => any[] }) =>
  ns
    .ipJson("link", "show")
    .map((l: any) => l.ifname)
    .filter((n: string) => n !== "lo")
    .sort();

describe("tap", () => {
  rootTest(
    "L2 only at every spec version from 0.3.0: an up tap in the pod, CHECK, DEL; before 0.3.0 a result needs an IP",
    () =>
      withNodeAndPod((node, pod) => {
        const old = runIn(node, OURS, { command: "ADD", netns: pod.path, ifName: "tap0", conf: { cniVersion: "0.2.0", name: "tapnet", type: "tap" } });
        expect([old.json.code, old.json.msg]).toEqual([1, "cannot convert: no valid IP addresses"]);
        expect(runIn(node, OURS, { command: "DEL", netns: pod.path, ifName: "tap0", conf: { cniVersion: "0.2.0", name: "tapnet", type: "tap" } }).code).toBe(0);
        for (const v of ALL_VERSIONS.filter((x) => x >= "0.3.0")) {
          const c = { cniVersion: v, name: "tapnet", type: "tap" };
          const add = runIn(node, OURS, { command: "ADD", netns: pod.path, ifName: "tap0", conf: c });
          expect([v, add.code, add.stderr]).toEqual([v, 0, ""]);
          const [l] = pod.ipJson("-d", "link", "show", "dev", "tap0");
          expect(l.linkinfo).toMatchObject({ info_kind: "tun", info_data: { type: "tap", pi: false, vnet_hdr: false, persist: true, multi_queue: false } });
          expect(l.flags).toContain("UP");
          expect(add.json.interfaces).toEqual([{ name: "tap0", mac: l.address, sandbox: pod.path }]);
          if (v >= "0.4.0") expect(runIn(node, OURS, { command: "CHECK", netns: pod.path, ifName: "tap0", conf: { ...c, prevResult: add.json } }).code).toBe(0);
          expect(runIn(node, OURS, { command: "DEL", netns: pod.path, ifName: "tap0", conf: c }).code).toBe(0);
          expect(links(pod)).toEqual([]);
        }
      }),
    30_000,
  );

  rootTest("owner, group, multiQueue, mtu, mac, a bridge of the pod, and IPAM", () =>
    withNodeAndPod((node, pod) => {
      const ipam = tempDir();
      try {
        pod.exec(["ip", "link", "add", "br0", "type", "bridge"]);
        const c = {
          cniVersion: "1.0.0",
          name: "tapnet",
          type: "tap",
          owner: 4242,
          group: 4343,
          multiQueue: true,
          mtu: 1400,
          mac: "02:00:00:00:aa:01",
          bridge: "br0",
          ipam: { type: "host-local", dataDir: ipam.dir, subnet: "10.99.0.0/24" },
        };
        const add = runIn(node, OURS, { command: "ADD", netns: pod.path, ifName: "tap1", conf: c });
        expect([add.code, add.stderr]).toEqual([0, ""]);
        const [l] = pod.ipJson("-d", "link", "show", "dev", "tap1");
        // With owner and group the reference makes it through netlink, with a virtio-net header.
        expect(l.linkinfo.info_data).toMatchObject({ type: "tap", user: 4242, group: 4343, multi_queue: true, vnet_hdr: true });
        expect([l.mtu, l.address, l.master]).toEqual([1400, "02:00:00:00:aa:01", "br0"]);
        expect(add.json.ips).toEqual([{ interface: 0, address: "10.99.0.2/24", gateway: "10.99.0.1" }]);
        expect(addrState(pod, "tap1")).toEqual([{ family: "inet", local: "10.99.0.2", prefixlen: 24, scope: "global", broadcast: "10.99.0.255" }]);
        expect(runIn(node, OURS, { command: "CHECK", netns: pod.path, ifName: "tap1", conf: { ...c, prevResult: add.json } }).code).toBe(0);
        // CNI_ARGS MAC beats the config's, runtimeConfig.mac beats both.
        const m = runIn(node, OURS, {
          command: "ADD",
          netns: pod.path,
          ifName: "tap2",
          containerID: "m",
          args: "IgnoreUnknown=1;MAC=02:00:00:00:aa:02",
          conf: { cniVersion: "1.0.0", name: "t", type: "tap", mac: "02:00:00:00:aa:09", runtimeConfig: { mac: "02:00:00:00:aa:03" } },
        });
        expect(m.json.interfaces[0].mac).toBe("02:00:00:00:aa:03");
        expect(runIn(node, OURS, { command: "DEL", netns: pod.path, ifName: "tap1", conf: c }).code).toBe(0);
        expect(links(pod)).toEqual(["br0", "tap2"]);
      } finally {
        ipam.cleanup();
      }
    }),
  );

  rootTest("errors leave nothing: a missing bridge, a bad MAC", () =>
    withNodeAndPod((node, pod) => {
      const e1 = runIn(node, OURS, { command: "ADD", netns: pod.path, ifName: "tap0", conf: { cniVersion: "1.0.0", name: "t", type: "tap", bridge: "nobr" } });
      expect([e1.json.code, e1.json.msg]).toEqual([999, "failed to get bridge nobr: Link not found"]);
      const e2 = runIn(node, OURS, { command: "ADD", netns: pod.path, ifName: "tap0", conf: { cniVersion: "1.0.0", name: "t", type: "tap", mac: "zz" } });
      expect(e2.json.code).toBe(7);
      expect(links(pod)).toEqual([]);
    }),
  );
});
