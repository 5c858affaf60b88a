import { describe, expect } from "bun:test";
import { rootTest, withNetns, type TestNetns } from "../../../test/helpers/netns.ts";
import { ours, reference, runIn, type Call } from "../../../test/helpers/plugin-run.ts";
import { ifbName } from "./bandwidth.ts";

const OURS = ours("bandwidth");
const REF = reference("bandwidth");

function setUp(node: TestNetns, pod: TestNetns): void {
  node.exec(["ip", "link", "add", "bwhost", "type", "veth", "peer", "name", "eth0", "netns", pod.name]);
  node.exec(["ip", "link", "set", "bwhost", "up"]);
  pod.exec(["ip", "link", "set", "eth0", "up"]);
}

const prev = (pod: TestNetns) => ({
  cniVersion: "1.0.0",
  interfaces: [{ name: "bwhost" }, { name: "eth0", sandbox: pod.path }],
  ips: [{ interface: 1, address: "10.9.0.2/24" }],
});

/** tc's view of the shaping, without counters and reference counts. */
function shaping(node: TestNetns, ifb: string) {
  const q = (dev: string) =>
    JSON.parse(node.exec(["tc", "-j", "qdisc", "show", "dev", dev], { allowFail: true }) || "[]").map((x: any) => ({ kind: x.kind, handle: x.handle, root: x.root, options: x.options }));
  const filters = node.exec(["tc", "filter", "show", "dev", "bwhost", "ingress"]).replace(/ifb\S*/g, "IFB").replace(/\s+/g, " ");
  return { host: q("bwhost"), ifb: q(ifb), redirect: filters.includes("Redirect to device IFB") };
}

describe("bandwidth", () => {
  rootTest("the reference's qdiscs and ifb for the same limits; CHECK both ways; DEL removes the ifb", () =>
    withNetns(2, (node, pod) => {
      setUp(node, pod!);
      const c = { cniVersion: "1.0.0", name: "bwnet", type: "bandwidth", capabilities: { bandwidth: true },
        runtimeConfig: { bandwidth: { IngressRate: 8_000_000, IngressBurst: 80_000, egressRate: 4_000_000, egressBurst: 40_000 } }, prevResult: prev(pod!) };
      const call = (argv: string[], command: Call["command"], cc: object = c) => runIn(node, argv, { command, netns: pod!.path, containerID: "ctr1", conf: cc });
      const ifb = ifbName("bwnet", "ctr1");
      const ref = call(REF, "ADD");
      expect(ref.code).toBe(0);
      const theirs = shaping(node, ifb);
      expect(theirs.host[0]).toMatchObject({ kind: "tbf", options: { rate: 1_000_000 } });
      expect(call(REF, "DEL").code).toBe(0);
      node.exec(["tc", "qdisc", "del", "dev", "bwhost", "root"]);
      node.exec(["tc", "qdisc", "del", "dev", "bwhost", "ingress"]);

      const add = call(OURS, "ADD");
      expect(add.stderr).toBe("");
      expect(add.code).toBe(0);
      expect(add.json.interfaces.map((i: any) => i.name)).toEqual(ref.json.interfaces.map((i: any) => i.name));
      expect(shaping(node, ifb)).toEqual(theirs);
      expect(call(OURS, "CHECK").code).toBe(0);
      expect(call(REF, "CHECK").code).toBe(0);
      // Damage: the ifb's TBF changed; CHECK fails.
      node.exec(["tc", "qdisc", "replace", "dev", ifb, "root", "handle", "1:", "tbf", "rate", "1mbit", "burst", "10kb", "latency", "25ms"]);
      expect(call(OURS, "CHECK").json.msg).toBe("Rate doesn't match");
      expect(call(OURS, "DEL").code).toBe(0);
      expect(node.exec(["ip", "link", "show", ifb], { allowFail: true })).toBe("");
      expect(call(OURS, "DEL").code).toBe(0);
    }));

  rootTest("no limits: prevResult passed on, nothing made; bad limits refused", () =>
    withNetns(2, (node, pod) => {
      setUp(node, pod!);
      const base = { cniVersion: "1.0.0", name: "bwnet", type: "bandwidth", prevResult: prev(pod!) };
      const none = runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: base });
      expect(none.json.interfaces.length).toBe(2);
      for (const bad of [{ ingressRate: 1000 }, { egressBurst: 1000 }, { ingressRate: -1, ingressBurst: 1 }]) {
        expect(runIn(node, OURS, { command: "ADD", netns: pod!.path, conf: { ...base, ...bad } }).json.code).toBe(7);
      }
      expect(JSON.parse(node.exec(["tc", "-j", "qdisc", "show", "dev", "bwhost"])).map((q: any) => q.kind)).not.toContain("tbf");
    }));

  rootTest("the shaping is real: a bounded transfer to the pod takes as long as the rate says", () =>
    withNetns(2, async (node, pod) => {
      setUp(node, pod!);
      node.exec(["ip", "addr", "add", "10.9.0.1/24", "dev", "bwhost"]);
      pod!.exec(["ip", "addr", "add", "10.9.0.2/24", "dev", "eth0"]);
      // 2 Mbit/s to the pod: 500 kB take about 2 s; unshaped it is milliseconds.
      const c = { cniVersion: "1.0.0", name: "bwnet", type: "bandwidth", ingressRate: 2_000_000, ingressBurst: 200_000, prevResult: prev(pod!) };
      expect(runIn(node, OURS, { command: "ADD", netns: pod!.path, containerID: "ctr1", conf: c }).code).toBe(0);
      const bun = `${import.meta.dir}/../../../node_modules/.bin/bun`;
      const server = Bun.spawn(["ip", "netns", "exec", pod!.name, bun, "-e",
        `let n = 0; Bun.listen({ hostname: "10.9.0.2", port: 9000, socket: { data(s, d) { n += d.length; if (n >= 500000) { s.write("done"); s.end(); process.exit(0); } } } }); setTimeout(() => process.exit(1), 20000);`]);
      try {
        await Bun.sleep(500);
        const t0 = Date.now();
        const client = Bun.spawnSync(["ip", "netns", "exec", node.name, "bash", "-c", "head -c 500000 /dev/zero > /dev/tcp/10.9.0.2/9000"], { timeout: 20000 });
        expect(client.exitCode).toBe(0);
        expect(await server.exited).toBe(0);
        const secs = (Date.now() - t0) / 1000;
        expect(secs).toBeGreaterThan(1.2);
      } finally {
        server.kill();
      }
      expect(runIn(node, OURS, { command: "DEL", netns: pod!.path, containerID: "ctr1", conf: c }).code).toBe(0);
    }));
});
