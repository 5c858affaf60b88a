/** dummy in the VM (this host's kernel has no dummy links); Debian's Go plugins predate it, so the reference's documented behaviour is the oracle. */
import { describe, expect } from "bun:test";
import { withNetns } from "../../../test/helpers/netns.ts";
import { addrState, ours, runIn, tempDir } from "../../../test/helpers/plugin-run.ts";
import { kernelTest } from "../../../test/vm/kernel.ts";
import { links } from "../../../test/vm/plugin-kit.ts";

const OURS = ours("dummy");
const test = kernelTest("dummy");

describe("dummy", () => {
  test("ADD: a dummy device with IPAM's address and routes; CHECK; DEL releases the address; errors", () =>
    withNetns(2, (node, pod) => {
      const ipam = tempDir();
      try {
        const c = {
          cniVersion: "1.0.0",
          name: "dnet",
          type: "dummy",
          ipam: { type: "host-local", dataDir: ipam.dir, subnet: "10.97.0.0/24", routes: [{ dst: "10.98.0.0/16" }] },
        };
        const add = runIn(node, OURS, { command: "ADD", netns: pod.path, ifName: "dummy0", conf: c });
        expect([add.code, add.stderr]).toEqual([0, ""]);
        const mac = pod.ipJson("link", "show", "dev", "dummy0")[0].address;
        expect(add.json).toEqual({
          cniVersion: "1.0.0",
          interfaces: [{ name: "dummy0", mac, sandbox: pod.path }],
          ips: [{ interface: 0, address: "10.97.0.2/24", gateway: "10.97.0.1" }],
          routes: [{ dst: "10.98.0.0/16" }],
          dns: {},
        });
        expect(pod.ipJson("-d", "link", "show", "dev", "dummy0")[0].linkinfo.info_kind).toBe("dummy");
        expect(addrState(pod, "dummy0")).toEqual([{ family: "inet", local: "10.97.0.2", prefixlen: 24, scope: "global", broadcast: "10.97.0.255" }]);
        expect(pod.ipJson("route", "show", "10.98.0.0/16")[0]).toMatchObject({ dev: "dummy0", gateway: "10.97.0.1" });
        expect(runIn(node, OURS, { command: "CHECK", netns: pod.path, ifName: "dummy0", conf: { ...c, prevResult: add.json } }).code).toBe(0);
        // A second ADD on the same name fails and leaves the first alone.
        const again = runIn(node, OURS, { command: "ADD", netns: pod.path, ifName: "dummy0", containerID: "other", conf: c });
        expect(again.json.code).toBe(999);
        const noIpam = runIn(node, OURS, { command: "ADD", netns: pod.path, ifName: "dummy1", conf: { cniVersion: "1.0.0", name: "dnet", type: "dummy" } });
        expect([noIpam.json.code, noIpam.json.msg]).toEqual([7, "dummy interface requires an IPAM configuration"]);
        expect(runIn(node, OURS, { command: "DEL", netns: pod.path, ifName: "dummy0", conf: c }).code).toBe(0);
        expect(links(pod)).toEqual([]);
        expect(runIn(node, OURS, { command: "DEL", netns: pod.path, ifName: "dummy0", conf: c }).code).toBe(0);
      } finally {
        ipam.cleanup();
      }
    }));
});
