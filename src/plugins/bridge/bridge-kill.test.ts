import { describe, expect } from "bun:test";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { holdOpen, rootTest, TestNetns, withPathGone } from "../../../test/helpers/netns.ts";
import { hostVethName } from "../_shared/veth.ts";
import { allocated, bridgeConf, callIn, useBinDir, veths, withNode } from "../../../test/helpers/bridge-kit.ts";

const bin = useBinDir();
const nat = (node: TestNetns) =>
  node
    .exec(["iptables-save", "-t", "nat"])
    .split("\n")
    .filter((l) => l.includes("CNI-"));
const ports = (node: TestNetns) => node.ipJson("link", "show", "master", "cnibr0").length;

/** The compiled bridge in the node as a child process, killed with SIGKILL after `ms` (or left to finish when ms < 0). */
function addKilledAfter(node: TestNetns, pod: TestNetns, conf: object, ms: number): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => {
    const env = { PATH: process.env.PATH!, CNI_COMMAND: "ADD", CNI_CONTAINERID: "killed", CNI_NETNS: pod.path, CNI_IFNAME: "eth0", CNI_PATH: bin.dir };
    // `ip netns exec` execs the plugin in place, so the pid is the plugin's.
    const p = spawn("ip", ["netns", "exec", node.name, join(bin.dir, "bridge")], { env, stdio: ["pipe", "ignore", "ignore"] });
    p.stdin!.end(JSON.stringify(conf));
    const timer = ms >= 0 ? setTimeout(() => p.kill("SIGKILL"), ms) : undefined;
    p.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

describe("bridge: DEL after an ADD that was killed", () => {
  rootTest("killed between creating the pair and tagging it, pod path gone: DEL finds the host end by its name", () =>
    withNode(1, async (node, [pod], dataDir) => {
      const c = bridgeConf("1.0.0", dataDir, { isGateway: true });
      const name = hostVethName({ type: "bridge", network: "brnet", containerID: "killed", ifName: "eth0" });
      node.exec(["ip", "link", "add", "cnibr0", "type", "bridge"]);
      // What an ADD leaves when killed right after the create message: the pair, untagged, not yet a port.
      node.exec(["ip", "link", "add", name, "type", "veth", "peer", "name", "eth0", "netns", pod!.name]);
      // Someone else's untagged veth must survive.
      node.exec(["ip", "link", "add", "vethdeadbeef", "type", "veth", "peer", "name", "other0"]);
      await withPathGone(pod!, (path) => {
        const r = callIn(node, bin.dir, { command: "DEL", netns: path, containerID: "killed", conf: c });
        expect([r.code, r.stderr]).toEqual([0, ""]);
        expect(veths(node).sort()).toEqual(["vethdeadbeef"]);
      });
    }),
  );

  rootTest("a second attachment's host end is named apart and left alone by the first one's DEL", () =>
    withNode(2, async (node, [p1, p2], dataDir) => {
      const c = bridgeConf("1.0.0", dataDir, { isGateway: true });
      const r1 = callIn(node, bin.dir, { command: "ADD", netns: p1!.path, containerID: "c1", conf: c });
      const r2 = callIn(node, bin.dir, { command: "ADD", netns: p2!.path, containerID: "c2", conf: c });
      expect([r1.code, r2.code]).toEqual([0, 0]);
      expect(r1.json.interfaces[1].name).toBe(hostVethName({ type: "bridge", network: "brnet", containerID: "c1", ifName: "eth0" }));
      expect(r2.json.interfaces[1].name).toBe(hostVethName({ type: "bridge", network: "brnet", containerID: "c2", ifName: "eth0" }));
      await withPathGone(p1!, (path) => {
        expect(callIn(node, bin.dir, { command: "DEL", netns: path, containerID: "c1", conf: c }).code).toBe(0);
        expect(veths(node)).toEqual([r2.json.interfaces[1].name]);
        expect(allocated(dataDir)).toEqual(["10.44.0.3"]);
      });
      expect(callIn(node, bin.dir, { command: "DEL", netns: p2!.path, containerID: "c2", conf: c }).code).toBe(0);
    }),
  );

  rootTest("a stale host end with the attachment's name: ADD takes a random name, DEL removes both", () =>
    withNode(1, async (node, [pod], dataDir) => {
      const c = bridgeConf("1.0.0", dataDir, { isGateway: true });
      const name = hostVethName({ type: "bridge", network: "brnet", containerID: "killed", ifName: "eth0" });
      node.exec(["ip", "link", "add", name, "type", "veth", "peer", "name", "stale0"]);
      const r = callIn(node, bin.dir, { command: "ADD", netns: pod!.path, containerID: "killed", conf: c });
      expect(r.code).toBe(0);
      expect(r.json.interfaces[1].name).not.toBe(name);
      expect(callIn(node, bin.dir, { command: "DEL", netns: pod!.path, containerID: "killed", conf: c }).code).toBe(0);
      expect(veths(node)).toEqual([]);
    }),
  );

  rootTest(
    "killed at any point of ADD (with ipMasq), pod namespace kept or its path gone: DEL leaves no veth, reservation or rule",
    async () => {
      await withNode(0, async (node, _pods, dataDir) => {
        const c = bridgeConf("1.0.0", dataDir, { isGateway: true, ipMasq: true });
        // How long a whole ADD takes here once the bridge exists, so the kills spread over all of it.
        let full = Infinity;
        for (let i = 0; i < 3; i++) {
          const probe = TestNetns.create("brk");
          try {
            const t0 = performance.now();
            expect((await addKilledAfter(node, probe, c, -1)).code).toBe(0);
            full = Math.min(full, performance.now() - t0);
            expect(callIn(node, bin.dir, { command: "DEL", netns: probe.path, containerID: "killed", conf: c }).code).toBe(0);
          } finally {
            probe.destroy();
          }
        }
        const steps = 20;
        const outcomes: string[] = [];
        for (let i = 0; i < steps; i++) {
          const pod = TestNetns.create("brk");
          let holder: { kill(): void } | undefined;
          try {
            const ms = Math.round((full * i) / steps);
            const r = await addKilledAfter(node, pod, c, ms);
            // What the killed ADD left: DEL has to remove it.
            const left = [veths(node).length > 0, allocated(dataDir).length > 0, nat(node).length > 0];
            outcomes.push(r.signal ? `killed ${left.map(Number).join("")}` : `exit ${r.code}`);
            const path = pod.path;
            if (i % 2 === 1) {
              holder = await holdOpen(pod);
              pod.destroy();
            }
            const del = callIn(node, bin.dir, { command: "DEL", netns: path, containerID: "killed", conf: c });
            expect([ms, del.code, del.stderr]).toEqual([ms, 0, ""]);
            expect([ms, veths(node), ports(node), allocated(dataDir), nat(node)]).toEqual([ms, [], 0, [], []]);
          } finally {
            holder?.kill();
            pod.destroy();
          }
        }
        // The sweep must really have cut ADDs short, not only watched them finish.
        const killed = outcomes.filter((o) => o.startsWith("killed"));
        expect(killed.length).toBeGreaterThan(steps / 2);
        // Some were cut short half way, with a pair or a reservation already made.
        expect(killed.some((o) => o !== "killed 000")).toBe(true);
      });
    },
    120_000,
  );
});
